"""The table page of a target: numbers with their errors, escaped text, and what a browser shows of it."""

from __future__ import annotations

import html
import math
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from qgenflow.io import write_artefact
from qgenflow.metrics.advantage import AUDIT_COLUMNS
from qgenflow.stages.page import format_number, format_with_error, render_table_page, write_table_page
from qgenflow.stages.table import write_table

from ..browser import dump_dom, needs_chromium, png_is_drawn, screenshot, show_table_page

NAN = math.nan
#: (model, kind, seed, mmd2_samples (value, stderr), kl_exact): two seeds of a quantum and a classical model.
RUNS = [
    ("qcbm <b>", "qcbm", 0, (0.030, 0.004), 1.1),
    ("qcbm <b>", "qcbm", 1, (0.040, 0.005), 1.3),
    ("product", "product", 0, (0.010, 0.003), 0.9),
    ("product", "product", 1, (0.012, 0.003), 0.95),
]


@pytest.fixture
def tables(tmp_path: Path) -> dict[str, Path]:
    """A metrics table and verdict written by the table stage, and an audit table and decision rule."""
    paths = []
    for i, (model, kind, seed, (mmd, err), kl) in enumerate(RUNS):
        paths.append(write_artefact(
            tmp_path / f"m{i}.h5", "metrics",
            {"mmd2_samples": np.float64(mmd), "kl_exact": np.float64(kl)},
            dataset_attrs={"mmd2_samples": {"stderr": err, "source": "samples"},
                           "kl_exact": {"stderr": NAN, "source": "exact"}},
            config={}, seed=seed,
            attrs={"model_name": model, "model_kind": kind, "target_name": "toy", "n_params": 8,
                   "train_seconds": 2.0, "data_access": "samples", "n_samples_model": 400},
        ))
    out = {"table": tmp_path / "toy.csv", "verdict": tmp_path / "toy_verdict.txt",
           "audit": tmp_path / "toy_audit.csv", "decision": tmp_path / "toy_decision.txt"}
    write_table(paths, out["table"], verdict_path=out["verdict"], verdict_spec={"metrics": ["mmd2_samples"]},
                study="tiny & small")
    row = {c: "1" for c in AUDIT_COLUMNS} | {"model": "qcbm <b>", "method": "statevector", "clifford": "false",
                                               "primary_gap": "0.024", "primary_stderr": "0.0031"}
    out["audit"].write_text(",".join(AUDIT_COLUMNS) + "\n" + ",".join(row[c] for c in AUDIT_COLUMNS) + "\n")
    out["decision"].write_text("decision rule for toy:\n1. quantum-grounded? no\nconclusion: no advantage <here>\n")
    return out


class _Cells(HTMLParser):
    """Every table of a page as rows of cell texts."""

    def __init__(self):
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _tables(page: str) -> list[list[list[str]]]:
    parser = _Cells()
    parser.feed(page)
    return parser.tables


@pytest.mark.parametrize(("value", "error", "text"), [
    (0.039365, 0.0034541, "0.0394 ± 0.0035"),
    (1.0001, 0.095, "1.000 ± 0.095"),
    (-0.0215, 0.0045, "-0.0215 ± 0.0045"),
    (12.3456, 1.5, "12.3 ± 1.5"),
    (123456.0, 789.0, "(1.2346 ± 0.0079)e+05"),
    (1.23e-7, 5e-9, "(1.230 ± 0.050)e-07"),
    (0.1234567, 0.0, "0.1235"),
    (5.0, NAN, "5"),
    (NAN, 0.1, "–"),
])
def test_format_with_error_rounds_the_error_to_two_digits(value, error, text):
    assert format_with_error(value, error) == text


def test_format_number():
    assert [format_number(v) for v in (3.0, 0.000301637, 6.7117, math.inf, NAN)] == ["3", "0.0003016", "6.712", "∞", "–"]


def test_page_holds_every_number_with_its_error(tables):
    page = render_table_page("toy", tables["table"], tables["verdict"], tables["audit"], tables["decision"])
    metrics, models, audit = _tables(page)
    assert metrics[0] == ["metric", "qcbm <b>", "product"]
    rows = {row[0]: row[1:] for row in metrics[1:]}
    # two seeds: mean ± sample std over seeds, then the mean bootstrap error of the sample-based metric
    assert rows["mmd2_samples ↓"] == ["0.0350 ± 0.0071 bootstrap ± 0.0045", "0.0110 ± 0.0014 bootstrap ± 0.003"]
    assert rows["kl_exact ↓"] == ["1.20 ± 0.14", "0.925 ± 0.035"]  # exact: no bootstrap error
    assert {row[0]: row[1:] for row in models[1:]}["role"] == ["quantum", "classical"]
    assert {row[0]: row[1:] for row in audit[1:]}["primary_gap"] == ["0.0240 ± 0.0031"]
    assert "primary_stderr" not in {row[0] for row in audit}
    assert '<td class="best">0.0110 ± 0.0014' in page  # the smaller MMD² is the best, in bold


def test_page_escapes_text_and_shows_verdict_and_decision(tables):
    page = render_table_page("toy <t>", tables["table"], tables["verdict"], tables["audit"], tables["decision"])
    assert "<b>" not in page and "&lt;b&gt;" in page and "<t>" not in page
    assert "<script" not in page and "http" not in page  # self-contained: nothing to load
    verdict = tables["verdict"].read_text().splitlines()[1]
    assert verdict.startswith("verdict: ")
    assert f'<p class="headline">{html.escape(verdict)}</p>' in page
    assert "study: tiny &amp; small" in page
    assert "conclusion: no advantage &lt;here&gt;" in page


def test_page_without_audit_and_bad_inputs(tables, tmp_path):
    page = render_table_page("toy", tables["table"], tables["verdict"])
    assert len(_tables(page)) == 2 and "Advantage audit" not in page and "Decision rule" not in page
    with pytest.raises(ValueError, match="give both or neither"):
        write_table_page(tmp_path / "p.html", "toy", tables["table"], tables["verdict"], audit=tables["audit"])
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="no 'model' column"):
        render_table_page("toy", bad, tables["verdict"])
    assert not (tmp_path / "p.html").exists()


@needs_chromium
def test_chromium_shows_the_table_and_verdict(tables, tmp_path):
    """Chromium renders the page: the DOM it built has the numbers and the verdict; the screenshot is not blank."""
    page = write_table_page(tmp_path / "toy.html", "toy", **tables)
    dom = dump_dom(page)
    assert "0.0110 ± 0.0014" in dom and "verdict: " in dom and "Advantage audit" in dom
    png_is_drawn(screenshot(page, tmp_path / "toy.png"))


SNAKEFILE = """
rule all:
    input: "results/tables/toy.html", "results/figures/toy_training.png", "results/figures/other.png"

rule page:
    input: "toy.html"
    output: report("results/tables/toy.html", category="toy", subcategory="Tables", labels={"table": "tables"})
    shell: "cp {input} {output}"

rule figure:
    input: "fig.png"
    output: report("results/figures/toy_training.png", category="toy", subcategory="Figures", labels={"figure": "t"})
    shell: "cp {input} {output}"

rule other:
    input: "fig.png"
    output: report("results/figures/other.png", category="Scaling", subcategory="Figures", labels={"figure": "o"})
    shell: "cp {input} {output}"
"""


@pytest.mark.slow
@needs_chromium
def test_snakemake_report_shows_the_page_in_a_browser(tables, tmp_path):
    """A real Snakemake report with the page grouped as in the workflow: Chromium clicks through to
    the target's Tables and shows the table and the verdict in the page, not as a download."""
    work = tmp_path / "work"
    work.mkdir()
    write_table_page(work / "toy.html", "toy", **tables)
    screenshot(work / "toy.html", work / "fig.png")  # any PNG will do as the figure
    (work / "Snakefile").write_text(SNAKEFILE)
    for args in (["--cores", "1"], ["--report", "report.html"]):
        subprocess.run([sys.executable, "-m", "snakemake", "-d", str(work), "-s", str(work / "Snakefile"), *args],
                       check=True, capture_output=True, timeout=300)
    text = show_table_page(work / "report.html", "toy", tmp_path / "report.png")
    assert "0.0110 ± 0.0014" in text and "verdict: " in text and "conclusion: no advantage <here>" in text
