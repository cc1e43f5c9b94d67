# Small helpers that turn the validated config into rule inputs and params.
# Heavy packages are never imported here: parsing stays fast.
from qgenflow.config import (
    canonical,
    check_config,
    job_resources,
    models_for_target,
    stage_sources,
    study_pairs,
)

REFERENCES = ("data", "uniform")

check_config(config)


wildcard_constraints:
    target=r"[A-Za-z][A-Za-z0-9_-]*",
    model=r"[A-Za-z][A-Za-z0-9_-]*",
    reference=r"data|uniform",
    seed=r"\d+",


def get_target_params(wildcards):
    return canonical(config["targets"][wildcards.target])


def get_model_params(wildcards):
    spec = dict(config["models"][wildcards.model])
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


def get_figure_params(wildcards):
    return {"max_bitstrings": config["figures"]["max_bitstrings"]}


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


def get_eval_mem_mb(wildcards):
    return job_resources("evaluate", config["targets"][wildcards.target])["mem_mb"]


def get_sources(stage):
    return stage_sources(stage)


def get_target_file(wildcards):
    return f"results/targets/{wildcards.target}/seed{wildcards.seed}/target.h5"


def get_model_files(wildcards):
    return [
        f"results/models/{wildcards.target}/{model}/seed{seed}/model.h5"
        for model in models_for_target(config, wildcards.target)
        for seed in config["seeds"]
    ]


def get_model_labels(wildcards):
    return [
        model
        for model in models_for_target(config, wildcards.target)
        for seed in config["seeds"]
    ]


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


def get_figure_outputs(figure):
    outputs = []
    for fmt in config["figures"]["formats"]:
        path = f"results/figures/{{target}}_{figure}.{fmt}"
        labels = {"target": "{target}", "figure": figure, "format": fmt}
        caption = f"../report/{figure}.rst"
        outputs.append(report(path, caption=caption, category="Figures", labels=labels))
    return outputs


def get_final_outputs():
    targets = sorted({target for target, _ in study_pairs(config)})
    return (
        [f"results/tables/{t}.csv" for t in targets]
        + [f"results/tables/{t}_verdict.txt" for t in targets]
        + [
            f"results/figures/{t}_{figure}.{fmt}"
            for t in targets
            for figure in ("training", "distribution")
            for fmt in config["figures"]["formats"]
        ]
    )
