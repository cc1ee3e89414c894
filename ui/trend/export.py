"""The visible range as CSV: what is drawn, one row per pixel column that holds a value of
any pen, each pen's min and max in that column (numpy and csv only, no Qt)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ui.trend.downsample import Columns


def write_csv(path: Path, pens: Sequence[tuple[str, str, Columns]]) -> int:
    """Write (tag, unit, columns) of every pen, all on one grid; the rows written.

    Columns: time (the column's start, ISO 8601 UTC), then `<tag> min [unit]` and
    `<tag> max [unit]` per pen; empty where a pen has nothing there, "BAD" where the column
    held a stale or bad sample."""
    if not pens:
        raise ValueError("no pens to export")
    grid = pens[0][2].grid
    if any(c.grid != grid for _t, _u, c in pens):
        raise ValueError("every pen must be drawn on the same grid")
    used = np.flatnonzero(np.any([c.count > 0 for _t, _u, c in pens], axis=0))
    header = ["time"]
    for tag, unit, _c in pens:
        suffix = f" [{unit}]" if unit else ""
        header += [f"{tag} min{suffix}", f"{tag} max{suffix}"]
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for i in used:
            ts = grid.start + i * grid.step
            row = [datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")]
            for _tag, _unit, columns in pens:
                row += _cells(columns, int(i))
            writer.writerow(row)
    return len(used)


def _cells(columns: Columns, i: int) -> list[str]:
    if columns.count[i] == 0:
        return ["", ""]
    if columns.bad[i] or np.isnan(columns.low[i]):
        return ["BAD", "BAD"]
    return [f"{columns.low[i]:.6g}", f"{columns.high[i]:.6g}"]
