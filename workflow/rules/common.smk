# Small helpers that turn the validated config into rule inputs and params.
# Heavy packages are never imported here: parsing stays fast.
from pathlib import Path
from types import SimpleNamespace

from qgenflow.config import (
    canonical,
    check_compute,
    check_config,
    job_gpus,
    job_resources,
    model_colours,
    model_for_job,
    models_for_target,
    parameter_sweeps,
    qubit_sweeps,
    stage_sources,
    study_pairs,
    target_figures,
)

REFERENCES = ("data", "uniform")

check_config(config)
check_compute(config)


wildcard_constraints:
    target=r"[A-Za-z][A-Za-z0-9_-]*",
    sweep=r"[A-Za-z][A-Za-z0-9_-]*",
    model=r"[A-Za-z][A-Za-z0-9_-]*",
    reference=r"data|uniform",
    seed=r"\d+",


def get_target_params(wildcards):
    return canonical(config["targets"][wildcards.target])


def get_model_params(wildcards):
    spec = model_for_job(config, wildcards.model)
    if spec.get("match_params"):
        # Only what fixes the matched model's parameter count, so its learning rate
        # or step count does not rerun this baseline.
        matched = config["models"][spec["match_params"]]
        spec["match_params_spec"] = {
            key: matched[key]
            for key in ("kind", "ansatz", "layers", "ansatz_options")
            if key in matched
        }
    return canonical(spec)


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


def get_sources(stage):
    return stage_sources(stage)


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
    return {"verdict_metric": config["evaluation"]["verdict_metric"]}


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


def _figure_sources(path):
    """The artefacts a figure (or table) file was drawn from, for the publish manifest."""
    name = Path(path).name.rsplit(".", 1)[0]
    if path.startswith("results/figures/scaling/"):
        wc = SimpleNamespace(sweep=name.removeprefix("qubits_"))
        figure = "scaling_qubits"
    elif path.startswith("results/tables/"):
        target = name.removesuffix("_verdict")
        return get_metrics_files(SimpleNamespace(target=target))
    else:
        target, figure = next(
            (t, f)
            for t, _ in study_pairs(config)
            for f in target_figures(config, t)
            if name == f"{t}_{f}"
        )
        wc = SimpleNamespace(target=target)
    named = figure_inputs(figure)(wc)
    sources = [named["target"]] if "target" in named else []
    return sources + named.get("models", []) + named.get("metrics", [])


def get_publish_params(wildcards):
    files = {}
    sources = {}
    for path in figure_files() + table_files():
        name = path.removeprefix("results/")
        files[name] = path
        sources[name] = _figure_sources(path)
    return {"files": files, "sources": sources}


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
