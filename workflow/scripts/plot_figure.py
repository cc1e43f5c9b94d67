"""Snakemake adapter: draw one figure (its name is the rule's ``figure`` param)."""

from qgenflow.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads, expect=snakemake.params.expect)

from qgenflow.stages.figure import draw_figure  # noqa: E402

draw_figure(
    snakemake.params.figure,
    list(snakemake.output),
    target=snakemake.input.get("target"),
    models=list(snakemake.input.get("models", [])),
    labels=list(snakemake.params.labels),
    metrics=list(snakemake.input.get("metrics", [])),
    audit=snakemake.input.get("audit"),
    tuning=list(snakemake.input.get("tuning", [])),
    trainability=snakemake.input.get("trainability"),
    deploy=list(snakemake.input.get("deploy", [])),
    options=snakemake.params.options,
)
