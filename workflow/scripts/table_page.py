"""Snakemake adapter: one target's tables, verdict and decision rule as an HTML page for the report."""

from qgenflow.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from qgenflow.stages.page import write_table_page  # noqa: E402

write_table_page(
    snakemake.output[0],
    snakemake.wildcards.target,
    snakemake.input.table,
    snakemake.input.verdict,
    audit=snakemake.input.get("audit"),
    decision=snakemake.input.get("decision"),
)
