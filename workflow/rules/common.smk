# Small helpers that turn the validated config into rule inputs and params.
# Heavy packages are never imported here: parsing stays fast.
from pathlib import Path
from types import SimpleNamespace

from qgenflow.plan import (
    artefact_identity,
    audit_settings,
    audited_targets,
    canonical,
    check_compute,
    check_config,
    check_results_owner,
    data_files,
    deploy_devices,
    deploy_models,
    deploy_params,
    evaluation_settings,
    file_widths,
    job_gpus,
    job_resources,
    model_colours,
    model_params,
    models_for_target,
    parameter_sweeps,
    quantum_models_for_target,
    qubit_sweeps,
    selection_params,
    study_name,
    study_pairs,
    target_figures,
    target_slice,
    trainability_params,
    trial_params,
    tuned_models,
)
from qgenflow.catalog import FIGURES, REFERENCES
from qgenflow.sources import stage_fingerprint

check_config(config, file_widths(config, missing_ok=True))
check_compute(config)
STUDY = study_name(config, workflow.overwrite_configfiles or workflow.configfiles)
check_results_owner(config, STUDY)


wildcard_constraints:
    target=r"[A-Za-z][A-Za-z0-9_-]*",
    sweep=r"[A-Za-z][A-Za-z0-9_-]*",
    model=r"[A-Za-z][A-Za-z0-9_-]*",
    reference="|".join(REFERENCES),
    seed=r"\d+",
    trial=r"\d+",
    device=r"[A-Za-z][A-Za-z0-9_-]*",


def get_target_params(wildcards):
    return target_slice(config, wildcards.target)


def get_model_params(wildcards):
    return model_params(config, wildcards.model)


def get_seed(wildcards):
    return int(wildcards.seed)


def get_evaluation_params(wildcards):
    return evaluation_settings(config, wildcards.target)


def get_target_data(wildcards):
    return data_files(config["targets"][wildcards.target])


def get_target_mem_mb(wildcards):
    return job_resources("targets", config["targets"][wildcards.target])["mem_mb"]


def get_target_runtime(wildcards):
    return job_resources("targets", config["targets"][wildcards.target])["runtime"]


def get_train_mem_mb(wildcards):
    spec = config["targets"][wildcards.target]
    return job_resources("train", spec, config["models"][wildcards.model])["mem_mb"]


def get_train_runtime(wildcards):
    spec = config["targets"][wildcards.target]
    return job_resources("train", spec, config["models"][wildcards.model])["runtime"]


def get_target_gpu(wildcards):
    return job_gpus(config, wildcards.target)


def get_train_gpu(wildcards):
    return job_gpus(config, wildcards.target, wildcards.model)


def get_eval_mem_mb(wildcards):
    return job_resources("evaluate", config["targets"][wildcards.target])["mem_mb"]


def get_code(stage):
    """Content hash of the package modules a stage imports (edits rerun its jobs)."""
    return stage_fingerprint(stage)


def get_expected_inputs(wildcards, input):
    """What each input artefact must be (config slice, seed, kind), checked before the job runs."""
    expected = {}
    for path in input:
        identity = artefact_identity(config, path)
        if identity is not None:
            expected[path] = identity
    return expected


def _tuning_file(target, model):
    return f"results/tuning/{target}/{model}/tuning.h5"


def get_train_inputs(wildcards):
    """The target of the seed, and for a tuned model the selection of its setting (tuning.h5)."""
    named = {
        "target": f"results/targets/{wildcards.target}/seed{wildcards.seed}/target.h5"
    }
    if wildcards.model in tuned_models(config, wildcards.target):
        named["tuning"] = _tuning_file(wildcards.target, wildcards.model)
    return named


def get_trial_params(wildcards):
    return trial_params(config, wildcards.target, wildcards.model)


def get_selection_params(wildcards):
    return selection_params(config, wildcards.target, wildcards.model)


def get_first_seed(wildcards):
    return int(config["seeds"][0])


def get_trial_files(wildcards):
    """Every trial of a tuned model on a target, in trial order."""
    trials = selection_params(config, wildcards.target, wildcards.model)["trials"]
    return [
        f"results/tuning/{wildcards.target}/{wildcards.model}/trial{k}/trial.h5"
        for k in range(trials)
    ]


def get_target_file(wildcards):
    return f"results/targets/{wildcards.target}/seed{wildcards.seed}/target.h5"


def reference_rows():
    """The reference rows' names in results/eval (evaluate_reference writes _{reference})."""
    return [f"_{r}" for r in REFERENCES]


def get_metrics_files(wildcards):
    models = models_for_target(config, wildcards.target) + reference_rows()
    return [
        f"results/eval/{wildcards.target}/{model}/seed{seed}/metrics.h5"
        for model in models
        for seed in config["seeds"]
    ]


def get_table_params(wildcards):
    return {"verdict": canonical(config["verdict"]), "study": STUDY}


def get_table_page_inputs(wildcards):
    """The target's metrics table and verdict, and its audit table and decision rule if audited."""
    tables = f"results/tables/{wildcards.target}"
    named = {"table": f"{tables}.csv", "verdict": f"{tables}_verdict.txt"}
    if wildcards.target in audited_targets(config):
        named.update(audit=f"{tables}_audit.csv", decision=f"{tables}_decision.txt")
    return named


def get_audit_inputs(wildcards):
    """The audit's target of every seed, its quantum models and every metrics file of the target."""
    return {
        "targets": [
            f"results/targets/{wildcards.target}/seed{seed}/target.h5"
            for seed in config["seeds"]
        ],
        "models": _model_paths(
            wildcards.target, quantum_models_for_target(config, wildcards.target)
        ),
        "metrics": get_metrics_files(wildcards),
        "deploy": deploy_files(wildcards.target),
    }


def get_audit_params(wildcards):
    return {
        "labels": [
            m
            for m in quantum_models_for_target(config, wildcards.target)
            for _ in config["seeds"]
        ],
        "spec": audit_settings(config, wildcards.target),
        "deploy_metric": config["deploy"]["metric"],
    }


def get_trainability_params(wildcards):
    return trainability_params(config, wildcards.target)


def get_first_seed_target(wildcards):
    return f"results/targets/{wildcards.target}/seed{config['seeds'][0]}/target.h5"


def get_deploy_model(wildcards):
    return f"results/models/{wildcards.target}/{wildcards.model}/seed{config['seeds'][0]}/model.h5"


def get_deploy_params(wildcards):
    return deploy_params(config, wildcards.device)


def deploy_files(target):
    """Every deploy.h5 of a target: each deployed model on each device, in config order."""
    return [
        f"results/deploy/{target}/{model}/{label}/deploy.h5"
        for model in deploy_models(config, target)
        for label in deploy_devices(config)
    ]


# Figures -----------------------------------------------------------------------------
# Every figure rule runs workflow/scripts/plot_figure.py; these functions give each
# figure its inputs, labels and options, as its entry of qgenflow.catalog.FIGURES says.
# Options hold only figure settings, so changing them redraws figures and touches
# nothing upstream.


def figure_names(scope):
    """The figures with one rule per target ("target") or per qubit sweep ("sweep")."""
    return [name for name, figure in FIGURES.items() if figure.scope == scope]


def _model_paths(target, models):
    return [
        f"results/models/{target}/{model}/seed{seed}/model.h5"
        for model in models
        for seed in config["seeds"]
    ]


def _metrics_paths(pairs):
    return [
        f"results/eval/{target}/{model}/seed{seed}/metrics.h5"
        for target, model in pairs
        for seed in config["seeds"]
    ]


def _figure_models(figure, target):
    models = models_for_target(config, target)
    kinds = FIGURES[figure].model_kinds
    if kinds is not None:
        return [m for m in models if config["models"][m]["kind"] in kinds]
    return models


def _sweep_inputs(wildcards):
    sweep = qubit_sweeps(config)[wildcards.sweep]
    pairs = [(t, m) for t in sweep["targets"] for m in sweep["models"]]
    trained = set(study_pairs(config))
    return {"metrics": _metrics_paths([p for p in pairs if p in trained])}


def figure_inputs(figure):
    """Input function of one figure rule: named target, models and metrics files."""
    spec = FIGURES[figure]

    def inputs(wildcards):
        if spec.scope == "sweep":
            return _sweep_inputs(wildcards)
        target = wildcards.target
        named = {}
        if spec.metrics:
            models = models_for_target(config, target)
            if spec.references:
                models = models + reference_rows()
            named["metrics"] = _metrics_paths([(target, m) for m in models])
        if spec.models:
            named["models"] = _model_paths(target, _figure_models(figure, target))
        if spec.target:
            named["target"] = get_first_seed_target(wildcards)
        if spec.audit:
            named["audit"] = f"results/audit/{target}/audit.h5"
        if spec.tuning:
            named["tuning"] = [
                _tuning_file(target, m) for m in tuned_models(config, target)
            ]
        if spec.trainability:
            named["trainability"] = f"results/trainability/{target}/trainability.h5"
        if spec.deploy:
            named["deploy"] = deploy_files(target)
        return named

    return inputs


def figure_labels(figure):
    """One model name per model file of a figure (empty for metric figures)."""

    def labels(wildcards):
        if not FIGURES[figure].models:
            return []
        return [
            model
            for model in _figure_models(figure, wildcards.target)
            for seed in config["seeds"]
        ]

    return labels


def _figure_option(option, wildcards):
    settings = config["figures"]
    if option == "max_bitstrings":
        return settings["max_bitstrings"]
    if option == "metrics":
        return list(settings["metrics"])
    if option == "families":
        return parameter_sweeps(config, wildcards.target)
    if option == "deploy_metric":
        return config["deploy"]["metric"]
    raise ValueError(f"unknown figure option {option!r}")


def figure_options(figure):
    """Figure settings: title, dpi, model colours and the figure's own options."""
    spec = FIGURES[figure]

    def options(wildcards):
        if spec.scope == "sweep":
            sweep = qubit_sweeps(config)[wildcards.sweep]
            title, models = (
                f"{wildcards.sweep}: {', '.join(sweep['targets'])}",
                sweep["models"],
            )
        else:
            title, models = wildcards.target, models_for_target(
                config, wildcards.target
            )
        opts = {
            "title": title,
            "dpi": config["figures"]["dpi"],
            "colours": model_colours(config, models),
        }
        for option in spec.options:
            opts[option] = _figure_option(option, wildcards)
        return canonical(opts)

    return options


def report_format():
    """The one figure format the report shows: PNG, else SVG, else the only one (PDF)."""
    formats = config["figures"]["formats"]
    return next((fmt for fmt in ("png", "svg") if fmt in formats), formats[0])


def get_figure_outputs(figure):
    spec = FIGURES[figure]
    outputs = []
    for fmt in config["figures"]["formats"]:
        path = f"results/figures/{spec.file}.{fmt}"
        if fmt != report_format():
            outputs.append(path)  # in results/ and results/publish/, not in the report
            continue
        if spec.scope == "sweep":
            category, labels = "Scaling", {"sweep": "{sweep}", "format": fmt}
        else:
            category, labels = "{target}", {"figure": figure, "format": fmt}
        caption = f"../report/{figure}.rst"
        kwargs = dict(category=category, subcategory="Figures", labels=labels)
        outputs.append(report(path, caption=caption, **kwargs))
    return outputs


def get_figure_log(figure):
    if FIGURES[figure].scope == "sweep":
        return f"logs/figures/{figure}_{{sweep}}.log"
    return f"logs/figures/{{target}}_{figure}.log"


def _study_figures():
    """(figure, path stem, wildcards) of every figure of the study, by target, then per sweep."""
    figures = []
    for target in sorted({t for t, _ in study_pairs(config)}):
        for figure in target_figures(config, target):
            stem = FIGURES[figure].file.format(target=target)
            figures.append((figure, stem, SimpleNamespace(target=target)))
    for figure in figure_names("sweep"):
        for sweep in qubit_sweeps(config):
            stem = FIGURES[figure].file.format(sweep=sweep)
            figures.append((figure, stem, SimpleNamespace(sweep=sweep)))
    return figures


def figure_files():
    """Every figure of the study, by target and then study-wide."""
    fmts = config["figures"]["formats"]
    return [
        f"results/figures/{stem}.{fmt}"
        for _, stem, _ in _study_figures()
        for fmt in fmts
    ]


def table_files():
    targets = sorted({target for target, _ in study_pairs(config)})
    return (
        [f"results/tables/{t}.csv" for t in targets]
        + [f"results/tables/{t}_verdict.txt" for t in targets]
        + [f"results/tables/{t}.html" for t in targets]
        + audit_files()
    )


def audit_files():
    return [
        f"results/tables/{t}_{name}"
        for t in audited_targets(config)
        for name in ("audit.csv", "decision.txt")
    ]


def get_publish_params(wildcards):
    """Every figure and table of the study, and the artefacts each was drawn from."""
    files, sources = {}, {}

    def add(path, named):
        name = path.removeprefix("results/")
        files[name] = path
        sources[name] = (
            ([named["target"]] if "target" in named else [])
            + named.get("models", [])
            + named.get("metrics", [])
            + ([named["audit"]] if "audit" in named else [])
            + named.get("tuning", [])
            + ([named["trainability"]] if "trainability" in named else [])
            + named.get("deploy", [])
        )

    for figure, stem, wc in _study_figures():
        named = figure_inputs(figure)(wc)
        for fmt in config["figures"]["formats"]:
            add(f"results/figures/{stem}.{fmt}", named)
    for target in sorted({t for t, _ in study_pairs(config)}):
        named = {"metrics": get_metrics_files(SimpleNamespace(target=target))}
        for path in (
            f"results/tables/{target}.csv",
            f"results/tables/{target}_verdict.txt",
        ):
            add(path, named)
    audited = audited_targets(config)
    for target in audited:
        named = get_audit_inputs(SimpleNamespace(target=target))
        named = {
            "models": named["models"],
            "metrics": named["metrics"],
            "deploy": named["deploy"],
        }
        for name in ("audit.csv", "decision.txt"):
            add(f"results/tables/{target}_{name}", named)
    for target in sorted({t for t, _ in study_pairs(config)}):
        named = {"metrics": get_metrics_files(SimpleNamespace(target=target))}
        if target in audited:
            named["models"] = get_audit_inputs(SimpleNamespace(target=target))["models"]
        add(f"results/tables/{target}.html", named)
    return {"files": files, "sources": sources, "study": STUDY}


def get_publish_inputs(wildcards):
    params = get_publish_params(wildcards)
    artefacts = sorted({p for paths in params["sources"].values() for p in paths})
    return {"files": list(params["files"].values()), "artefacts": artefacts}


def publish_outputs():
    return ["results/publish/manifest.json"] + [
        f"results/publish/{path.removeprefix('results/')}"
        for path in figure_files() + table_files()
    ]


def get_final_outputs():
    return table_files() + figure_files() + ["results/publish/manifest.json"]
