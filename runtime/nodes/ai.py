"""AI nodes: an ONNX model, and a statistical baseline, scoring features on a time grid.

Both compute their features the same way, every `period_s` of message time: for grid time
P, a feature is a statistic of one tag's good samples with ts < P (the last value, or the
mean/rms/std/min/max over the `window_s` before P). Rows are evaluated when the engine
advances its watermark past P, so the result depends only on the samples, never on when
or in which batches they arrived: live runs and backtests give the same scores.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from runtime.contracts import BAD, GOOD, Quality
from runtime.nodes.base import Node

UNCERTAIN = int(Quality.UNCERTAIN)


class FeatureGrid(Node):
    """Buffers the feature tags' samples and turns them into rows at each grid time.

    Scoring starts at the first grid time after every feature tag delivered a sample (so a
    first row is never half empty), and the result does not depend on the order in which
    the tags' batches arrived: the node is `order_free`, which replays rely on.
    """

    order_free = True

    def setup(self, params: dict[str, Any]) -> None:
        self.features: list[dict[str, Any]] = [dict(f) for f in params["features"]]
        self.period = float(params["period_s"])
        self.source_tags = tuple(dict.fromkeys(f["tag"] for f in self.features))
        self._ts: dict[str, list[float]] = {t: [] for t in self.source_tags}
        self._values: dict[str, list[float]] = {t: [] for t in self.source_tags}
        self._good: dict[str, list[bool]] = {t: [] for t in self.source_tags}
        self._keep_s = {t: max(float(f.get("window_s", 0.0)) for f in self.features
                               if f["tag"] == t) for t in self.source_tags}
        self.next_index: int | None = None  # the next grid time is next_index * period
        self._first_ts: dict[str, float] = {}

    def receive(self, port: str, ts: list[float], values: list[Any],
                quality: list[int]) -> None:
        self._ts[port].extend(ts)
        self._values[port].extend(math.nan if v is None else float(v) for v in values)
        self._good[port].extend(q == GOOD for q in quality)
        if self.next_index is None and ts:
            first = min(ts)
            self._first_ts[port] = min(self._first_ts.get(port, first), first)

    def on_advance(self, watermark: float) -> None:
        """Score every grid time up to the watermark."""
        if self.next_index is None:
            if len(self._first_ts) < len(self.source_tags):
                return
            self.next_index = math.floor(max(self._first_ts.values()) / self.period) + 1
        last_index = math.floor(watermark / self.period)
        if last_index < self.next_index:
            return
        # Grid times are whole multiples of the period, computed the same way however the
        # watermark advanced, so live runs and replays score at exactly the same times.
        grid = np.arange(self.next_index, last_index + 1) * self.period
        self.next_index = last_index + 1
        rows, ok = self._rows(grid)
        self._trim(float(grid[-1]))
        self.score(grid, rows, ok)

    def score(self, grid: np.ndarray, rows: np.ndarray, ok: np.ndarray) -> None:
        """Turn feature rows into scores and emit them (rows with ok False are not scored)."""
        raise NotImplementedError

    def _rows(self, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = np.empty((len(grid), len(self.features)), dtype=np.float32)
        ok = np.ones(len(grid), dtype=bool)
        for column, feature in enumerate(self.features):
            values, present = _feature(
                np.asarray(self._ts[feature["tag"]], dtype=np.float64),
                np.asarray(self._values[feature["tag"]], dtype=np.float64),
                np.asarray(self._good[feature["tag"]], dtype=bool),
                grid, feature["stat"], float(feature.get("window_s", 0.0)))
            rows[:, column] = values
            ok &= present
        return rows, ok

    def _trim(self, last_grid: float) -> None:
        """Forget samples no later grid time needs (keeping one before, for "last")."""
        for tag in self.source_tags:
            ts = self._ts[tag]
            cut = int(np.searchsorted(ts, last_grid - self._keep_s[tag], side="left")) - 1
            if cut > 0:
                del ts[:cut], self._values[tag][:cut], self._good[tag][:cut]

    def emit_scores(self, grid: np.ndarray, scores: np.ndarray, quality: np.ndarray) -> None:
        """Emit one score per grid time on the `score` port."""
        self.emit("score", grid.tolist(), scores.tolist(), quality.tolist())


def _feature(ts: np.ndarray, values: np.ndarray, good: np.ndarray, grid: np.ndarray,
             stat: str, window: float) -> tuple[np.ndarray, np.ndarray]:
    """One feature at each grid time from a tag's samples: (values, present).

    A feature is missing when the tag's latest sample before the grid time is not good (a
    sensor that dropped out is not replaced by its last good value), or, for a statistic
    over a window, when no good sample lies in the window.
    """
    latest = np.searchsorted(ts, grid, side="left")
    latest_good = (latest > 0) & good[np.maximum(latest - 1, 0)] if len(ts) else latest > 0
    ts, values = ts[good], values[good]
    hi = np.searchsorted(ts, grid, side="left")  # good samples strictly before each grid time
    if stat == "last":
        present = latest_good & (hi > 0)
        return np.where(present, values[np.maximum(hi - 1, 0)] if len(values) else 0.0,
                        np.nan), present
    lo = np.searchsorted(ts, grid - window, side="left")
    n = hi - lo
    present = latest_good & (n > 0)
    safe_n = np.maximum(n, 1)
    if stat in ("mean", "rms", "std"):
        sums = np.concatenate(([0.0], np.cumsum(values)))
        squares = np.concatenate(([0.0], np.cumsum(values * values)))
        total, total_sq = sums[hi] - sums[lo], squares[hi] - squares[lo]
        if stat == "mean":
            out = total / safe_n
        elif stat == "rms":
            out = np.sqrt(np.maximum(total_sq / safe_n, 0.0))
        else:
            mean = total / safe_n
            out = np.sqrt(np.maximum(total_sq / safe_n - mean * mean, 0.0))
    else:
        reduce = np.min if stat == "min" else np.max
        out = np.array([reduce(values[a:b]) if b > a else np.nan for a, b in zip(lo, hi,
                                                                                  strict=True)])
    return np.where(present, out, np.nan), present


class OnnxModel(FeatureGrid):
    """Scores the features with a registered ONNX model; rows are batched per model."""

    def setup(self, params: dict[str, Any]) -> None:
        super().setup(params)
        self.model = params["model"]
        self.output = params["output"]

    def score(self, grid: np.ndarray, rows: np.ndarray, ok: np.ndarray) -> None:
        scores = np.full(len(grid), np.nan)
        quality = np.where(ok, GOOD, BAD)
        if not ok.any():
            self.emit_scores(grid, scores, quality)
            return

        def deliver(outputs: dict[str, np.ndarray]) -> None:
            scores[ok] = np.asarray(outputs[self.output], dtype=np.float64).reshape(-1)
            self.emit_scores(grid, scores, quality)

        self.ctx.infer(self.model, rows[ok], deliver)


class Baseline(FeatureGrid):
    """Anomaly score without a trained model: the largest |z| of the features against a
    mean and standard deviation learned over the first `learn_s` seconds of good rows.

    While learning, the score is 0 with quality uncertain, so no rule acts on it.
    """

    def setup(self, params: dict[str, Any]) -> None:
        super().setup(params)
        self.learn_s = float(params["learn_s"])
        self.learned: list[np.ndarray] = []
        self.learn_until: float | None = None
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def score(self, grid: np.ndarray, rows: np.ndarray, ok: np.ndarray) -> None:
        if self.learn_until is None:
            self.learn_until = float(grid[0]) + self.learn_s
        learning = (grid < self.learn_until) if self.mean is None else np.zeros(len(grid), bool)
        if learning.any():
            self.learned.append(rows[learning & ok])
        if self.mean is None and not learning.all():
            history = np.concatenate(self.learned) if self.learned else rows[:0]
            if len(history):
                self.mean = history.mean(axis=0)
                self.std = np.maximum(history.std(axis=0), 1e-6)
            self.learned = []
        scores = np.zeros(len(grid))
        quality = np.full(len(grid), UNCERTAIN)
        if self.mean is not None:
            scoring = ~learning & ok
            z = np.abs((rows[scoring] - self.mean) / self.std)
            scores[scoring] = z.max(axis=1) if len(z) else []
            quality[scoring] = GOOD
            quality[~learning & ~ok] = BAD
            scores[~learning & ~ok] = np.nan
        self.emit_scores(grid, scores, quality)
