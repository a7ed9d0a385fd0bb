"""The curves and report of any training run, from its metric histories.

``train`` scores a classifier's checkpoint for its report (``visiongrad report``); the
other training commands (caption, detect, segment, generate, lm, search) hand their
histories here. :func:`write_run_record` writes into the run folder ``curves.png`` (one
panel per metric, :func:`~visiongrad.train.plots.plot_curves`), ``report.json`` (the
record: title, curves, final metrics, options, commands, further figures and tables) and
``report.html`` (:func:`~visiongrad.train.report.write_report`); :func:`render_record`
writes the page again from the record, which is what ``visiongrad report RUN_DIR`` does
for such a folder.

>>> write_run_record("run", title="fcn on scenes", curves={"loss": [1.2, 0.8]},
...                  summary={"mIoU": 0.61})  # doctest: +SKIP
PosixPath('run/report.html')
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import plots
from .report import write_report

__all__ = ["CURVES_NAME", "RECORD_NAME", "REPORT_NAME", "by_metric", "load_record",
           "render_record", "write_run_record"]

CURVES_NAME = "curves.png"
RECORD_NAME = "report.json"
REPORT_NAME = "report.html"


def by_metric(rows: Sequence[Mapping[str, float]]) -> dict[str, list[float]]:
    """One dict per epoch (``{"loss": 0.9, "kl": 0.1}``) as one list per metric, in the
    order the metrics first appear; an epoch without a metric gives None there."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    return {name: [row.get(name) for row in rows] for name in names}


def _plain(value):
    """NaN and infinities as None (JSON has neither); NumPy numbers as Python's."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if hasattr(value, "tolist"):
        return _plain(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _curve_rows(curves: Mapping[str, Sequence]) -> list[list]:
    """Per metric: its points, first, last, lowest and highest value."""
    rows = []
    for name, values in curves.items():
        known = [v for v in values if v is not None]
        if known:
            rows.append([name, len(values), *(f"{v:.4g}" for v in
                                                (known[0], known[-1], min(known), max(known)))])
    return rows


def write_run_record(folder: str | os.PathLike, *, title: str,
                     curves: Mapping[str, Sequence[float | None]], x_label: str = "epoch",
                     x: Sequence[float] | None = None, summary: Mapping | None = None,
                     config: Mapping | None = None, commands: Sequence[str] = (),
                     figures: Sequence[tuple[str, str]] = (),
                     tables: Sequence[tuple] = (), rescored: bool = False) -> Path:
    """Write ``curves.png`` (where there are curves), ``report.json`` and ``report.html``
    (unless ``rescored``) into the run folder; return the report's path.

    Parameters
    ----------
    folder : path-like
        The run folder (it exists).
    title : str
    curves : mapping
        Metric name -> one value per epoch (or per evaluation, placed at ``x``).
    x_label, x
        What a point is, and the positions of the points (see ``plots.plot_curves``).
    summary : mapping, optional
        Final metrics, name -> value.
    config : mapping, optional
        The options the run was made with.
    commands : sequence of str
        The command lines that made the run.
    figures : sequence of (heading, file name)
        PNG files of the run folder to show as well (samples, a search's scatter).
    tables : sequence of (heading, header, rows)
    rescored : bool
        True where the folder holds a classifier's checkpoint whose report
        ``visiongrad report`` draws by scoring it (a search's best model): the record
        then adds its figures and tables to that report.
    """
    folder = Path(folder)
    record = _plain({"title": title, "curves": dict(curves), "x_label": x_label,
                     "x": None if x is None else list(x), "summary": dict(summary or {}),
                     "config": dict(config or {}), "commands": list(commands),
                     "figures": [list(figure) for figure in figures],
                     "tables": [list(table) for table in tables], "rescored": rescored})
    if any(record["curves"].values()):
        plots.plot_curves(record["curves"], folder / CURVES_NAME, title=f"{title}: curves",
                          x_label=x_label, x=record["x"])
    temporary = folder / f".{RECORD_NAME}.tmp"
    temporary.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, folder / RECORD_NAME)
    if rescored:
        return folder / REPORT_NAME
    return render_record(folder)


def load_record(folder: str | os.PathLike) -> dict | None:
    """The record :func:`write_run_record` left in ``folder``, or None where there is none.

    Raises ValueError naming the file when it is not a record."""
    path = Path(folder) / RECORD_NAME
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not a run record: {error}") from None
    if not isinstance(record, dict) or not isinstance(record.get("curves"), dict):
        raise ValueError(f"{path} is not a run record (no curves)")
    return record


def record_extras(folder: Path, record: Mapping, curves: bool = True) -> dict:
    """The record's figures (those still in the folder) and tables, with its curves and
    their table unless not ``curves``, as arguments of
    :func:`~visiongrad.train.report.write_report`."""
    figures = [(heading, folder / name) for heading, name in record.get("figures", [])
               if (folder / name).is_file()]
    tables = [tuple(table) for table in record.get("tables", [])]
    if curves:
        if (folder / CURVES_NAME).is_file():
            figures.insert(0, ("Curves", folder / CURVES_NAME))
        tables.insert(0, ("Metric histories", ["metric", "points", "first", "last",
                                               "lowest", "highest"],
                          _curve_rows(record["curves"])))
    return {"figures": figures, "tables": tables}


def render_record(folder: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Write the report of the run in ``folder`` from its record (to ``out``, by default
    ``folder/report.html``); return its path."""
    folder = Path(folder)
    record = load_record(folder)
    if record is None:
        raise ValueError(f"{folder} holds no {RECORD_NAME}")
    path = Path(out) if out is not None else folder / REPORT_NAME
    write_report(path, title=record.get("title", str(folder)), summary=record.get("summary"),
                 config=record.get("config"), commands=record.get("commands", []),
                 **record_extras(folder, record))
    return path
