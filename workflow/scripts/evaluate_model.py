"""Snakemake adapter: evaluate one trained model against its target."""

from qgenflow.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads, expect=snakemake.params.expect)

from qgenflow.stages.evaluate import run_evaluation  # noqa: E402

run_evaluation(
    snakemake.input.target,
    snakemake.input.model,
    snakemake.params.spec,
    int(snakemake.wildcards.seed),
    snakemake.output[0],
    model_name=snakemake.wildcards.model,
    target_name=snakemake.wildcards.target,
)
