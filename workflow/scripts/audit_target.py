"""Snakemake adapter: the advantage audit of one target's quantum models."""

from qgenflow.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads, expect=snakemake.params.expect)

from qgenflow.stages.audit import run_audit  # noqa: E402

run_audit(
    list(snakemake.input.targets),
    list(snakemake.input.models),
    snakemake.params.audit["labels"],
    list(snakemake.input.metrics),
    snakemake.params.audit["spec"],
    {"audit": snakemake.output.audit, "table": snakemake.output.table, "rule": snakemake.output.rule},
    name=snakemake.wildcards.target,
    deploy=list(snakemake.input.get("deploy", [])),
    deploy_metric=snakemake.params.audit["deploy_metric"],
)
