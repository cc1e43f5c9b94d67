"""Snakemake adapter: target vs model distributions on one target."""

from qgenflow.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from qgenflow.plots import plot_distribution  # noqa: E402

plot_distribution(
    snakemake.input.target,
    list(snakemake.input.models),
    list(snakemake.params.labels),
    list(snakemake.output),
    max_bitstrings=snakemake.params.spec["max_bitstrings"],
    title=snakemake.wildcards.target,
)
