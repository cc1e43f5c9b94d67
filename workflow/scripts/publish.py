"""Snakemake adapter: copy figures and tables into results/publish/ with a manifest."""

from qgenflow.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads, expect=snakemake.params.expect)

from pathlib import Path  # noqa: E402

from qgenflow.stages.publish import publish  # noqa: E402

# The manifest is the first output; the folder holding it is the publish folder.
publish(
    snakemake.params.spec["files"],
    snakemake.params.spec["sources"],
    Path(snakemake.output[0]).parent,
    study=snakemake.params.spec["study"],
)
