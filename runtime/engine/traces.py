"""Traces of a flow's node outputs: what each output port emitted, kept whole while a
backtest runs, then cut into min/max buckets for a plot of a given pixel width (the same
bucket fields as the historian's downsampled history)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from runtime.contracts.api import BUCKET_COLUMNS
from runtime.engine.graph import CompiledFlow
from runtime.registry import NodeRegistry


class Traces:
    """Records every numeric output of a compiled flow's nodes, by "node:port"."""

    def __init__(self, compiled: CompiledFlow, registry: NodeRegistry) -> None:
        self._ts: dict[str, list[float]] = {}
        self._values: dict[str, list[float]] = {}
        self._quality: dict[str, list[int]] = {}
        for node in compiled.flow.nodes:
            for port in registry.spec(node.type).outputs:
                key = f"{node.id}:{port.name}"
                self._ts[key], self._values[key], self._quality[key] = [], [], []
                compiled.watch(node.id, port.name, self._recorder(key))

    def _recorder(self, key: str) -> Callable[..., None]:
        ts_list, value_list, quality_list = self._ts[key], self._values[key], self._quality[key]

        def record(_port: str, ts: list[float], values: list[Any], quality: list[int]) -> None:
            for t, v, q in zip(ts, values, quality, strict=True):
                number = _number(v)
                if number is not None:
                    ts_list.append(t)
                    value_list.append(number)
                    quality_list.append(q)
        return record

    def downsampled(self, start: float, end: float, width: int
                    ) -> dict[str, dict[str, list[Any]]]:
        """Each output's buckets over `width` equal parts of [start, end); outputs that
        emitted nothing numeric are left out."""
        return {key: buckets(np.asarray(ts, dtype=np.float64),
                             np.asarray(self._values[key], dtype=np.float64),
                             np.asarray(self._quality[key], dtype=np.int64), start, end, width)
                for key, ts in self._ts.items() if ts}


def buckets(ts: np.ndarray, values: np.ndarray, quality: np.ndarray, start: float, end: float,
            width: int) -> dict[str, list[Any]]:
    """Up to `width` equal time buckets over [start, end), as the historian's columns: first
    and last timestamp, min, max, last value, worst quality and count; empty buckets are
    left out."""
    if width <= 0:
        raise ValueError(f"width must be > 0, got {width}")
    inside = np.flatnonzero((ts >= start) & (ts < end))
    order = inside[np.argsort(ts[inside], kind="stable")]
    ts, values, quality = ts[order], values[order], quality[order]
    if not len(ts) or not end > start:
        return {name: [] for name in BUCKET_COLUMNS}
    index = np.minimum(((ts - start) * width / (end - start)).astype(np.int64), width - 1)
    starts = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])
    ends = np.r_[starts[1:], len(ts)] - 1
    columns = (ts[starts], ts[ends], np.minimum.reduceat(values, starts),
               np.maximum.reduceat(values, starts), values[ends],
               np.maximum.reduceat(quality, starts), ends - starts + 1)
    return {name: column.tolist() for name, column in zip(BUCKET_COLUMNS, columns, strict=True)}


def _number(value: Any) -> float | None:
    """A value as a plottable float (booleans as 0/1), or None."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None
