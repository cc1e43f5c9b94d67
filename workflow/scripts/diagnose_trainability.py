"""Snakemake adapter: gradient variance and shot noise of one target's QCBMs."""

from qgenflow.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads, expect=snakemake.params.expect)

from qgenflow.stages.trainability import run_trainability  # noqa: E402

run_trainability(
    snakemake.input.target,
    snakemake.params.spec,
    snakemake.output[0],
    snakemake.params.seed,
    name=snakemake.wildcards.target,
)
