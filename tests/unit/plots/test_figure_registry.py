"""draw_figure hands each drawing function exactly the arguments its registry entry names."""

from __future__ import annotations

import inspect

import pytest

from qgenflow.catalog import FIGURES, REFERENCES
from qgenflow.plots import figures
from qgenflow.plots.style import REFERENCE_STYLES


@pytest.mark.parametrize("name", list(FIGURES))
def test_registry_entries_match_their_drawing_functions(name, monkeypatch):
    """Every entry names a drawing function, and the call draw_figure builds binds to its signature."""
    figure = FIGURES[name]
    assert figure.draw in figures.PLOTTERS
    calls = []

    def record(*args, **kwargs):
        inspect.signature(figures.PLOTTERS[figure.draw]).bind(*args, **kwargs)
        calls.append((args, kwargs))

    monkeypatch.setitem(figures.PLOTTERS, figure.draw, record)
    options = {"title": "t", "dpi": 100, "colours": {"m": "#000000"}, "max_bitstrings": 8,
               "metrics": ["tv_samples"], "families": {"f": ["m"]}}
    figures.draw_figure(name, ["out.png"], target="target.h5", models=["model.h5"], labels=["m"],
                        metrics=["metrics.h5"], options=options)
    (args, kwargs), = calls
    assert ("target.h5" in args) == figure.target
    assert (["model.h5"] in args and ["m"] in args) == figure.models
    assert (["metrics.h5"] in args) == figure.metrics
    assert ("colours" in kwargs) == figure.colours
    assert kwargs["title"] == "t" and kwargs["dpi"] == 100


def test_option_defaults_when_the_options_are_silent(monkeypatch):
    """Without options, a distribution shows 64 bitstrings and metric figures the default metrics."""
    calls = {}
    for draw in ("plot_distribution", "plot_metrics"):
        monkeypatch.setitem(figures.PLOTTERS, draw, lambda *a, _d=draw, **k: calls.__setitem__(_d, k))
    figures.draw_figure("distribution", ["o.png"], target="t.h5", models=[], labels=[])
    figures.draw_figure("metrics", ["o.png"], metrics=["m.h5"], options={"metrics": []})
    assert calls["plot_distribution"]["max_bitstrings"] == 64
    assert list(calls["plot_metrics"]["metrics"]) == list(figures.DEFAULT_METRICS)


def test_every_reference_row_has_a_line_style():
    """Reference rows are drawn as styled horizontal lines, one style per row."""
    assert set(REFERENCE_STYLES) == set(REFERENCES)
