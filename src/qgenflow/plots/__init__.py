"""Publication figures from qgenflow artefacts.

Every figure is drawn on a pyplot-free :class:`matplotlib.figure.Figure` in the
packaged paper style (``qgenflow.mplstyle``) and written atomically in each format
asked for (pdf, png, svg; png at 300 dpi).
"""

from .distribution import plot_distribution, top_bitstrings
from .training import plot_training

__all__ = ["plot_training", "plot_distribution", "top_bitstrings"]
