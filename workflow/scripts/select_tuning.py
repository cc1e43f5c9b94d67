"""Snakemake adapter: select the best trial of one model's tuning on one target."""

from qgenflow.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads, expect=snakemake.params.expect)

from qgenflow.stages.tune import run_selection  # noqa: E402

run_selection(
    snakemake.params.spec,
    list(snakemake.input.trials),
    snakemake.output[0],
    model_name=snakemake.wildcards.model,
    target_name=snakemake.wildcards.target,
)
