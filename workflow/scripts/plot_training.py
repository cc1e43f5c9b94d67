"""Snakemake adapter: training curves of every model on one target."""

from qgenflow.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from qgenflow.plots import plot_training  # noqa: E402

plot_training(
    list(snakemake.input.models),
    list(snakemake.params.labels),
    list(snakemake.output),
    title=snakemake.wildcards.target,
)
