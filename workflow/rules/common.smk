# Small helpers that turn the validated config into rule inputs and params.
# Heavy packages are never imported here: parsing stays fast.
from pathlib import Path
from types import SimpleNamespace

from qgenflow.plan import (
    artefact_identity,
    canonical,
    check_compute,
    check_config,
    check_results_owner,
    file_widths,
    job_gpus,
    job_resources,
    model_colours,
    model_params,
    models_for_target,
    parameter_sweeps,
    qubit_sweeps,
    study_name,
    study_pairs,
    target_figures,
)
from qgenflow.sources import stage_fingerprint

REFERENCES = ("data", "uniform")

check_config(config, file_widths(config, missing_ok=True))
check_compute(config)
STUDY = study_name(config, workflow.overwrite_configfiles or workflow.configfiles)
check_results_owner(config, STUDY)


wildcard_constraints:
    target=r"[A-Za-z][A-Za-z0-9_-]*",
    sweep=r"[A-Za-z][A-Za-z0-9_-]*",
    model=r"[A-Za-z][A-Za-z0-9_-]*",
    reference=r"data|uniform",
    seed=r"\d+",


def get_target_params(wildcards):
    return canonical(config["targets"][wildcards.target])


def get_model_params(wildcards):
    return model_params(config, wildcards.model)


def get_seed(wildcards):
    return int(wildcards.seed)


def get_evaluation_params(wildcards):
    return canonical(config["evaluation"])


def get_target_data(wildcards):
    spec = config["targets"][wildcards.target]
    return [spec["path"]] if spec["kind"] == "file" else []


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


def get_target_file(wildcards):
    return f"results/targets/{wildcards.target}/seed{wildcards.seed}/target.h5"


def get_metrics_files(wildcards):
    models = models_for_target(config, wildcards.target) + [f"_{r}" for r in REFERENCES]
    return [
        f"results/eval/{wildcards.target}/{model}/seed{seed}/metrics.h5"
        for model in models
        for seed in config["seeds"]
    ]


def get_table_params(wildcards):
    return {"verdict_metric": config["evaluation"]["verdict_metric"], "study": STUDY}


def get_first_seed_target(wildcards):
    return f"results/targets/{wildcards.target}/seed{config['seeds'][0]}/target.h5"


# Figures -----------------------------------------------------------------------------
# Every figure rule runs workflow/scripts/plot_figure.py; these functions give each
# figure its inputs, labels and options. Options hold only figure settings, so
# changing them redraws figures and touches nothing upstream.


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
    if figure == "qgan":
        return [m for m in models if config["models"][m]["kind"] == "qgan"]
    return models


def figure_inputs(figure):
    """Input function of one figure rule: named target, models and metrics files."""

    def inputs(wildcards):
        if figure == "scaling_qubits":
            sweep = qubit_sweeps(config)[wildcards.sweep]
            pairs = [(t, m) for t in sweep["targets"] for m in sweep["models"]]
            trained = set(study_pairs(config))
            return {"metrics": _metrics_paths([p for p in pairs if p in trained])}
        target = wildcards.target
        if figure in ("metrics", "scaling_params"):
            models = models_for_target(config, target)
            if figure == "metrics":
                models = models + [f"_{r}" for r in REFERENCES]
            return {"metrics": _metrics_paths([(target, m) for m in models])}
        named = {"models": _model_paths(target, _figure_models(figure, target))}
        if figure != "training" and figure != "qgan":
            named["target"] = get_first_seed_target(wildcards)
        return named

    return inputs


def figure_labels(figure):
    """One model name per model file of a figure (empty for metric figures)."""

    def labels(wildcards):
        if figure in ("metrics", "scaling_params", "scaling_qubits"):
            return []
        return [
            model
            for model in _figure_models(figure, wildcards.target)
            for seed in config["seeds"]
        ]

    return labels


def figure_options(figure):
    """Figure settings: title, dpi, model colours and the figure's own options."""

    def options(wildcards):
        settings = config["figures"]
        if figure == "scaling_qubits":
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
            "dpi": settings["dpi"],
            "colours": model_colours(config, models),
        }
        if figure == "distribution":
            opts["max_bitstrings"] = settings["max_bitstrings"]
        if figure in ("metrics", "scaling_params", "scaling_qubits"):
            opts["metrics"] = list(settings["metrics"])
        if figure == "scaling_params":
            opts["families"] = parameter_sweeps(config, wildcards.target)
        return canonical(opts)

    return options


def get_figure_outputs(figure):
    outputs = []
    for fmt in config["figures"]["formats"]:
        if figure == "scaling_qubits":
            path = f"results/figures/scaling/qubits_{{sweep}}.{fmt}"
            category, labels = "Scaling", {"sweep": "{sweep}", "format": fmt}
        else:
            path = f"results/figures/{{target}}_{figure}.{fmt}"
            category, labels = "{target}", {"figure": figure, "format": fmt}
        caption = f"../report/{figure}.rst"
        kwargs = dict(category=category, subcategory="Figures", labels=labels)
        outputs.append(report(path, caption=caption, **kwargs))
    return outputs


def figure_files():
    """Every figure of the study, by target and then study-wide."""
    targets = sorted({target for target, _ in study_pairs(config)})
    fmts = config["figures"]["formats"]
    files = [
        f"results/figures/{t}_{figure}.{fmt}"
        for t in targets
        for figure in target_figures(config, t)
        for fmt in fmts
    ]
    files += [
        f"results/figures/scaling/qubits_{sweep}.{fmt}"
        for sweep in qubit_sweeps(config)
        for fmt in fmts
    ]
    return files


def table_files():
    targets = sorted({target for target, _ in study_pairs(config)})
    return [f"results/tables/{t}.csv" for t in targets] + [
        f"results/tables/{t}_verdict.txt" for t in targets
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
        )

    fmts = config["figures"]["formats"]
    for target in sorted({t for t, _ in study_pairs(config)}):
        wc = SimpleNamespace(target=target)
        for figure in target_figures(config, target):
            for fmt in fmts:
                add(
                    f"results/figures/{target}_{figure}.{fmt}",
                    figure_inputs(figure)(wc),
                )
    for sweep in qubit_sweeps(config):
        named = figure_inputs("scaling_qubits")(SimpleNamespace(sweep=sweep))
        for fmt in fmts:
            add(f"results/figures/scaling/qubits_{sweep}.{fmt}", named)
    for target in sorted({t for t, _ in study_pairs(config)}):
        named = {"metrics": get_metrics_files(SimpleNamespace(target=target))}
        for path in (
            f"results/tables/{target}.csv",
            f"results/tables/{target}_verdict.txt",
        ):
            add(path, named)
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
