"""Snakemake adapter: one CSV table of metrics and the verdict per target."""

from qgenflow.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads, expect=snakemake.params.expect)

from qgenflow.stages.table import write_table  # noqa: E402

write_table(
    list(snakemake.input.metrics),
    snakemake.output.table,
    verdict_path=snakemake.output.verdict,
    verdict_spec=snakemake.params.spec["verdict"],
    study=snakemake.params.spec["study"],
)
