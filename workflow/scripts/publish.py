"""Snakemake adapter: copy figures and tables into results/publish/ with a manifest."""

from qgenflow.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from qgenflow.publish import publish  # noqa: E402

publish(snakemake.params.spec["files"], snakemake.params.spec["sources"], snakemake.params.outdir)
