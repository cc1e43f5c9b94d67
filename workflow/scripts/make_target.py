"""Snakemake adapter: make one target artefact."""

from qgenflow.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads, jax_platform=snakemake.config["compute"]["jax_platform"])

from qgenflow.stages.target import run_target  # noqa: E402

run_target(snakemake.params.spec, int(snakemake.wildcards.seed), snakemake.output[0])
