"""Snakemake adapter: deploy one trained circuit model on one device."""

from qgenflow.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads, expect=snakemake.params.expect)

from qgenflow.stages.deploy import run_deploy  # noqa: E402

run_deploy(
    snakemake.input.target,
    snakemake.input.model,
    snakemake.params.spec,
    snakemake.output[0],
    snakemake.params.seed,
    names={"target": snakemake.wildcards.target, "model": snakemake.wildcards.model},
)
