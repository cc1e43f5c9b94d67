"""The table page: one target's tables, verdict and decision rule as a small self-contained HTML page.

Snakemake's report shows an HTML result inside the page (an iframe), where a CSV or a text file
is only offered for download. The page is rendered from the files the table and audit stages
wrote (``results/tables/<target>.csv``, ``<target>_verdict.txt`` and, for audited targets,
``<target>_audit.csv`` and ``<target>_decision.txt``), so it shows exactly what is published.
It holds no script and loads nothing: inline style only, every text escaped. Each table has one
row per quantity and one column per model; a metric is shown as its mean over seeds with its
error (the standard deviation over seeds, or the bootstrap error for a single seed) rounded to
two significant digits.
"""

from __future__ import annotations

import csv
import html
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..files import write_text_atomic
from ..metrics.tables import HIGHER_IS_BETTER
from ..provenance import STUDY_LINE

__all__ = ["format_number", "format_with_error", "render_table_page", "write_table_page"]

log = logging.getLogger(__name__)

#: Columns of the metrics CSV shown in the models table, with their headings.
_MODEL_COLUMNS = {
    "role": "role",
    "n_seeds": "seeds",
    "n_params": "parameters",
    "train_seconds_mean": "training time (s)",
    "data_access": "learned from",
    "trials": "tuning trials",
    "tuning_seconds": "tuning time (s)",
}

_STYLE = """
body { font-family: system-ui, sans-serif; font-size: 14px; margin: 1em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.4em; }
.headline { font-weight: bold; font-size: 1.1em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; white-space: nowrap; }
th { background: #f2f2f2; } th.row { text-align: left; }
td.best { font-weight: bold; } .ref { color: #666; font-style: italic; }
small { color: #666; }
pre { background: #f8f8f8; padding: 0.6em; overflow-x: auto; font-size: 12px; }
.note { color: #555; max-width: 60em; }
"""


_BEST = ' class="best"'
_REF = ' class="ref"'


def _float(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "") else math.nan
    except ValueError:
        return math.nan


def format_number(value: float, digits: int = 4) -> str:
    """A number with ``digits`` significant digits; integers as integers; NaN as a dash."""
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value.is_integer() and abs(value) < 1e9:
        return str(int(value))
    return f"{value:.{digits}g}"


def format_with_error(value: float, error: float) -> str:
    """``value ± error`` with the error rounded to two significant digits and the value to the same place.

    Without a finite positive error the value alone, to four significant digits. Very large or
    small numbers share one power of ten: ``(1.23 ± 0.05)e-07``.
    """
    if math.isnan(value) or math.isnan(error) or math.isinf(error) or error <= 0:
        return format_number(value)
    exponent = math.floor(math.log10(max(abs(value), error)))
    scale = 0 if -3 <= exponent < 5 else exponent
    value, error = value / 10**scale, error / 10**scale
    decimals = max(0, 1 - math.floor(math.log10(error)))
    text = f"{value:.{decimals}f} ± {error:.{decimals}f}"
    return f"({text})e{scale:+03d}" if scale else text


def _read_csv(path: str | Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def _table(corner: str, models: Sequence[Mapping[str, str]], rows: Sequence[tuple[str, list[str]]],
           best: Sequence[int | None] = ()) -> str:
    """An HTML table with one column per model and one row per ``(heading, cells)``; cells are HTML."""
    head = "".join(f"<th{_REF if m.get('role') == 'reference' else ''}>{html.escape(m['model'])}</th>" for m in models)
    lines = [f'<table><thead><tr><th class="row">{html.escape(corner)}</th>{head}</tr></thead><tbody>']
    for i, (heading, cells) in enumerate(rows):
        marked = best[i] if i < len(best) else None
        tds = "".join(f"<td{_BEST if j == marked else ''}>{c}</td>" for j, c in enumerate(cells))
        lines.append(f'<tr><th class="row">{html.escape(heading)}</th>{tds}</tr>')
    lines.append("</tbody></table>")
    return "\n".join(lines)


def _best(means: Sequence[float], roles: Sequence[str], higher: bool) -> int | None:
    """Index of the best model on a metric (None on a tie), references (data, uniform) left out."""
    scored = [(v, i) for i, (v, r) in enumerate(zip(means, roles)) if r != "reference" and not math.isnan(v)]
    if not scored:
        return None
    best = max(v for v, _ in scored) if higher else min(v for v, _ in scored)
    winners = [i for v, i in scored if v == best]
    return winners[0] if len(winners) == 1 else None


def _metric_cell(row: Mapping[str, str], metric: str) -> str:
    mean, std, stderr = (_float(row.get(f"{metric}_{s}")) for s in ("mean", "std", "stderr"))
    several = _float(row.get("n_seeds")) > 1
    cell = html.escape(format_with_error(mean, std if several else stderr))
    if several and not math.isnan(stderr) and stderr > 0:
        cell += f"<br><small>bootstrap ± {html.escape(format_number(stderr, 2))}</small>"
    return cell


def _metrics_section(columns: Sequence[str], models: Sequence[Mapping[str, str]]) -> str:
    metrics = [c.removesuffix("_mean") for c in columns if c.endswith("_mean") and c != "train_seconds_mean"]
    roles = [m.get("role", "") for m in models]
    rows, best = [], []
    for metric in metrics:
        higher = metric in HIGHER_IS_BETTER
        rows.append((f"{metric} {'↑' if higher else '↓'}", [_metric_cell(m, metric) for m in models]))
        best.append(_best([_float(m.get(f"{metric}_mean")) for m in models], roles, higher))
    model_rows = [
        (label, [html.escape(_plain(m.get(key, ""))) for m in models]) for key, label in _MODEL_COLUMNS.items()
        if key in columns
    ]
    note = ("Mean over seeds ± the standard deviation over seeds (± the bootstrap error for a model with one seed), "
            "the error rounded to two significant digits; below it the mean bootstrap error of sample-based metrics. "
            "↑ larger is better, ↓ smaller is better; the best quantum or classical model is in bold; "
            "references (italic) are not ranked.")
    return (f"<h2>Metrics</h2>\n{_table('metric', models, rows, best)}\n<p class=\"note\">{html.escape(note)}</p>\n"
            f"<h2>Models</h2>\n{_table('model', models, model_rows)}")


def _plain(text: str) -> str:
    """A CSV cell for display: numbers to four significant digits, anything else as it is."""
    value = _float(text)
    return text if math.isnan(value) and text not in ("", "nan") else format_number(value)


def _audit_section(path: str | Path) -> str:
    columns, models = _read_csv(path)
    rows = []
    for column in columns[1:]:
        if column == "primary_stderr":
            continue
        if column == "primary_gap":
            cells = [html.escape(format_with_error(_float(m["primary_gap"]), _float(m.get("primary_stderr"))))
                     for m in models]
        else:
            cells = [html.escape(_plain(m.get(column, ""))) for m in models]
        rows.append((column, cells))
    return f"<h2>Advantage audit</h2>\n{_table('quantity', models, rows)}"


def _text_section(title: str, text: str) -> str:
    return f"<h2>{html.escape(title)}</h2>\n<pre>{html.escape(text)}</pre>"


def render_table_page(
    target: str,
    table: str | Path,
    verdict: str | Path,
    audit: str | Path | None = None,
    decision: str | Path | None = None,
) -> str:
    """The HTML page of one target: verdict, metrics, models, and the audit and decision rule if given.

    Args:
        target: the target's name (the page's title).
        table: the metrics CSV of :func:`qgenflow.stages.table.write_table`.
        verdict: its verdict text (first line ``study: NAME``, then ``verdict: ...``).
        audit: the audit CSV of :func:`qgenflow.stages.audit.run_audit`, for an audited target.
        decision: the decision rule text of the same stage.
    """
    columns, models = _read_csv(table)
    if "model" not in columns:
        raise ValueError(f"{table}: not a metrics table (no 'model' column; columns: {', '.join(columns) or 'none'})")
    verdict_text = Path(verdict).read_text(encoding="utf-8")
    study = ""
    if verdict_text.startswith(STUDY_LINE):
        first, _, verdict_text = verdict_text.partition("\n")
        study = f'<p class="note">study: {html.escape(first.removeprefix(STUDY_LINE))}</p>\n'
    lines = verdict_text.splitlines()
    headline = next((line for line in lines if line.startswith("verdict:")), "verdict: (none written)")
    parts = [f'<p class="headline">{html.escape(headline)}</p>', _metrics_section(columns, models),
             _text_section("Verdict in full", "\n".join(line for line in lines if line != headline))]
    if audit is not None:
        parts.append(_audit_section(audit))
    if decision is not None:
        parts.append(_text_section("Decision rule", Path(decision).read_text(encoding="utf-8")))
    title = html.escape(f"{target}: tables and verdict")
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
            f"<style>{_STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n{study}{body}\n</body>\n</html>\n")


def write_table_page(output: str | Path, target: str, table: str | Path, verdict: str | Path,
                     audit: str | Path | None = None, decision: str | Path | None = None) -> Path:
    """Write :func:`render_table_page` to ``output``, atomically; returns the path."""
    if (audit is None) != (decision is None):
        raise ValueError("the audit table and the decision rule come together: give both or neither")
    page = render_table_page(target, table, verdict, audit, decision)
    write_text_atomic(output, page)
    log.info("wrote the table page of %s to %s", target, output)
    return Path(output)
