"""Snakemake adapter: evaluate a reference row (training data scored on test, or uniform bits) against a target."""

from qgenflow.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads, expect=snakemake.params.expect)

from qgenflow.stages.evaluate import run_evaluation  # noqa: E402

run_evaluation(
    snakemake.input.target,
    snakemake.wildcards.reference,
    snakemake.params.spec,
    int(snakemake.wildcards.seed),
    snakemake.output[0],
    model_name=snakemake.wildcards.reference,
    target_name=snakemake.wildcards.target,
)
