"""Snakemake adapter: run one tuning trial of one model on one target."""

from qgenflow.runtime import setup_job

setup_job(
    snakemake.log[0],
    snakemake.threads,
    jax_platform=snakemake.config["compute"]["jax_platform"],
    expect=snakemake.params.expect,
)

from qgenflow.stages.tune import run_trial  # noqa: E402

run_trial(
    snakemake.params.spec,
    snakemake.input.target,
    int(snakemake.params.seed),
    int(snakemake.wildcards.trial),
    snakemake.output[0],
    model_name=snakemake.wildcards.model,
    target_name=snakemake.wildcards.target,
)
