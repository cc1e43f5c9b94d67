"""Publication figures from in-memory qgenflow artefacts.

Every figure is drawn on a pyplot-free :class:`matplotlib.figure.Figure` in the
packaged paper style (``qgenflow.mplstyle``) and written atomically in each format
asked for (pdf, png, svg; png at the configured dpi). :func:`plot_figure` draws any
figure of the registry; the figure stage (:mod:`qgenflow.stages.figure`) reads the
artefacts and calls it. The per-figure functions are public too.
"""

from .correlations import plot_correlation_function, plot_correlation_maps
from .distribution import plot_distribution, top_bitstrings
from .figures import FIGURES, plot_figure
from .metrics import plot_metrics, plot_scaling
from .porter_thomas import plot_porter_thomas
from .qgan import plot_qgan_dynamics
from .training import plot_training

__all__ = [
    "FIGURES",
    "plot_figure",
    "plot_training",
    "plot_distribution",
    "plot_correlation_maps",
    "plot_correlation_function",
    "plot_metrics",
    "plot_scaling",
    "plot_porter_thomas",
    "plot_qgan_dynamics",
    "top_bitstrings",
]
