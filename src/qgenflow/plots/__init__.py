"""Publication figures from qgenflow artefacts.

Every figure is drawn on a pyplot-free :class:`matplotlib.figure.Figure` in the
packaged paper style (``qgenflow.mplstyle``) and written atomically in each format
asked for (pdf, png, svg; png at the configured dpi). :func:`draw_figure` is the one
entry point the workflow uses; the per-figure functions are public too.
"""

from .correlations import plot_correlation_function, plot_correlation_maps
from .distribution import plot_distribution, top_bitstrings
from .figures import FIGURES, draw_figure
from .metrics import plot_metrics, plot_scaling
from .porter_thomas import plot_porter_thomas
from .qgan import plot_qgan_dynamics
from .training import plot_training

__all__ = [
    "FIGURES",
    "draw_figure",
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
