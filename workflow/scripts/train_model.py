"""Snakemake adapter: train one model on one target."""

from qgenflow.runtime import setup_job

setup_job(
    snakemake.log[0],
    snakemake.threads,
    jax_platform=snakemake.config["compute"]["jax_platform"],
    expect=snakemake.params.expect,
)

from qgenflow.stages.train import run_training  # noqa: E402

run_training(
    snakemake.params.spec,
    snakemake.input.target,
    int(snakemake.wildcards.seed),
    snakemake.output[0],
    tuning_path=snakemake.input.get("tuning"),
)
