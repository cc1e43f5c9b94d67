"""plot_figure hands each drawing function exactly the arguments its registry entry names;
the figure stage reads each input as the kind of artefact it names."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from qgenflow.catalog import FIGURES, REFERENCES
from qgenflow.errors import ArtefactError
from qgenflow.io import write_artefact
from qgenflow.plots import figures
from qgenflow.plots.style import REFERENCE_STYLES
from qgenflow.stages.figure import draw_figure

# Stand-ins for in-memory artefacts: the recording plotters below only compare them.
TARGET, MODEL, METRICS = "target artefact", "model artefact", "metrics artefact"


@pytest.mark.parametrize("name", list(FIGURES))
def test_registry_entries_match_their_drawing_functions(name, monkeypatch):
    """Every entry names a drawing function, and the call plot_figure builds binds to its signature."""
    figure = FIGURES[name]
    assert figure.draw in figures.PLOTTERS
    calls = []

    def record(*args, **kwargs):
        inspect.signature(figures.PLOTTERS[figure.draw]).bind(*args, **kwargs)
        calls.append((args, kwargs))

    monkeypatch.setitem(figures.PLOTTERS, figure.draw, record)
    options = {"title": "t", "dpi": 100, "colours": {"m": "#000000"}, "max_bitstrings": 8,
               "metrics": ["tv_samples"], "families": {"f": ["m"]}}
    figures.plot_figure(name, ["out.png"], target=TARGET, models=[MODEL], labels=["m"],
                        metrics=[METRICS], options=options)
    (args, kwargs), = calls
    assert (TARGET in args) == figure.target
    assert ([MODEL] in args and ["m"] in args) == figure.models
    assert ([METRICS] in args) == figure.metrics
    assert ("colours" in kwargs) == figure.colours
    assert kwargs["title"] == "t" and kwargs["dpi"] == 100


def test_option_defaults_when_the_options_are_silent(monkeypatch):
    """Without options, a distribution shows 64 bitstrings and metric figures the default metrics."""
    calls = {}
    for draw in ("plot_distribution", "plot_metrics"):
        monkeypatch.setitem(figures.PLOTTERS, draw, lambda *a, _d=draw, **k: calls.__setitem__(_d, k))
    figures.plot_figure("distribution", ["o.png"], target=TARGET, models=[], labels=[])
    figures.plot_figure("metrics", ["o.png"], metrics=[METRICS], options={"metrics": []})
    assert calls["plot_distribution"]["max_bitstrings"] == 64
    assert list(calls["plot_metrics"]["metrics"]) == list(figures.DEFAULT_METRICS)


def test_the_stage_reads_each_input_as_its_kind(tmp_path, monkeypatch):
    """draw_figure reads the named files into artefacts for the plotter; a file of another kind is refused."""
    samples = {"samples": np.zeros((2, 3), np.uint8)}
    target = write_artefact(tmp_path / "target.h5", "target", samples, config={}, seed=0, attrs={"n_qubits": 3})
    model = write_artefact(tmp_path / "model.h5", "model", samples, config={}, seed=0, attrs={"n_qubits": 3})
    calls = []
    monkeypatch.setitem(figures.PLOTTERS, "plot_distribution", lambda *a, **k: calls.append(a))
    draw_figure("distribution", ["o.png"], target=target, models=[model], labels=["m"])
    (args,) = calls
    assert (args[0].kind, args[0].path) == ("target", target)
    assert [(m.kind, m.path) for m in args[1]] == [("model", model)]
    with pytest.raises(ArtefactError, match="expected a target artefact"):
        draw_figure("distribution", ["o.png"], target=model, models=[], labels=[])


def test_every_reference_row_has_a_line_style():
    """Reference rows are drawn as styled horizontal lines, one style per row."""
    assert set(REFERENCE_STYLES) == set(REFERENCES)
