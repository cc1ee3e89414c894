"""Math nodes: scale, rolling window statistics, rate of change, expression."""

from __future__ import annotations

import logging
import math
from collections import deque
from typing import Any

from runtime.contracts import BAD, GOOD, ExpressionError
from runtime.contracts.expression import compile_expression
from runtime.nodes.base import JoinNode, Node

log = logging.getLogger(__name__)
NAN = float("nan")


class Scale(Node):
    """Linear map from an input range to an output range, optionally clamped."""

    def setup(self, params: dict[str, Any]) -> None:
        in_min, in_max = params["in_min"], params["in_max"]
        out_min, out_max = params["out_min"], params["out_max"]
        self.gain = (out_max - out_min) / (in_max - in_min)
        self.offset = out_min - in_min * self.gain
        self.clamp = (min(out_min, out_max), max(out_min, out_max)) if params["clamp"] else None

    def receive(self, port: str, ts: list[float], values: list[Any],
                quality: list[int]) -> None:
        gain, offset = self.gain, self.offset
        scaled = [v * gain + offset for v in values]
        if self.clamp:
            lo, hi = self.clamp
            scaled = [lo if v < lo else hi if v > hi else v for v in scaled]
        self.emit("out", ts, scaled, quality)


class Window(Node):
    """Rolling statistic over the last N samples or the last T seconds of good samples.

    Non-good samples do not enter the window; they pass on the last statistic with their
    own quality, so downstream logic sees the degradation.
    """

    _RESUM_EVERY = 4096

    def setup(self, params: dict[str, Any]) -> None:
        self.stat = params["stat"]
        self.size = int(params["samples"])
        self.seconds = float(params["seconds"])
        self.values: deque[float] = deque()
        self.times: deque[float] = deque()
        self.total = 0.0
        self.total_sq = 0.0
        self.updates = 0
        self.last = NAN

    def receive(self, port: str, ts: list[float], values: list[Any],
                quality: list[int]) -> None:
        out: list[float] = []
        for t, v, q in zip(ts, values, quality, strict=True):
            if q == GOOD and v == v:
                self._add(t, float(v))
                self.last = self._statistic()
            out.append(self.last)
        self.emit("out", ts, out, quality)

    def _add(self, t: float, v: float) -> None:
        window, times = self.values, self.times
        window.append(v)
        times.append(t)
        self.total += v
        self.total_sq += v * v
        while len(window) > self.size or (self.seconds and t - times[0] > self.seconds):
            old = window.popleft()
            times.popleft()
            self.total -= old
            self.total_sq -= old * old
        self.updates += 1
        if self.updates % self._RESUM_EVERY == 0:
            self.total = math.fsum(window)
            self.total_sq = math.fsum(x * x for x in window)

    def _statistic(self) -> float:
        n = len(self.values)
        if self.stat == "mean":
            return self.total / n
        if self.stat == "rms":
            return math.sqrt(max(self.total_sq / n, 0.0))
        if self.stat == "std":
            if n < 2:
                return 0.0
            mean = self.total / n
            return math.sqrt(max((self.total_sq - n * mean * mean) / (n - 1), 0.0))
        if self.stat == "min":
            return min(self.values)
        return max(self.values)


class RateOfChange(Node):
    """Change per second (or per minute) between consecutive good samples."""

    def setup(self, params: dict[str, Any]) -> None:
        self.per = 60.0 if params["per"] == "minute" else 1.0
        self.prev: tuple[float, float] | None = None

    def receive(self, port: str, ts: list[float], values: list[Any],
                quality: list[int]) -> None:
        out_ts: list[float] = []
        out: list[float] = []
        out_q: list[int] = []
        for t, v, q in zip(ts, values, quality, strict=True):
            if q != GOOD or v != v:
                if self.prev is not None:
                    out_ts.append(t)
                    out.append(NAN)
                    out_q.append(q)
                continue
            if self.prev is not None and t > self.prev[0]:
                out_ts.append(t)
                out.append((v - self.prev[1]) / (t - self.prev[0]) * self.per)
                out_q.append(q)
            self.prev = (t, v)
        if out_ts:
            self.emit("out", out_ts, out, out_q)


class Expression(JoinNode):
    """Evaluates an arithmetic/comparison expression over inputs a, b, c, d.

    A sample whose expression cannot be evaluated (division by zero, a result too large, a
    math domain error, an input that is not a number) goes out as NaN with BAD quality, as
    does a result that is not a finite number: the flow keeps running and nothing
    downstream acts on it. The first failure of a run of failures is logged.
    """

    def setup(self, params: dict[str, Any]) -> None:
        super().setup(params)
        self.expression = compile_expression(params["expression"],
                                             frozenset(("a", "b", "c", "d")))
        self.failed = False
        self.ports = sorted(self.expression.names)

    def receive(self, port: str, ts: list[float], values: list[Any],
                quality: list[int]) -> None:
        if port in self.expression.names:
            super().receive(port, ts, values, quality)

    def combine(self, latest: dict[str, Any]) -> Any:
        try:
            value = self.expression.evaluate(latest)
        except ExpressionError as exc:
            if not self.failed:
                log.warning("expression.failed flow=%s node=%s error=%s", self.ctx.flow_id,
                            self.ctx.node_id, exc)
            self.failed = True
            return NAN
        self.failed = False
        return value

    def emit(self, port: str, ts: list[float], values: list[Any], quality: list[int]) -> None:
        quality = [BAD if isinstance(v, float) and not math.isfinite(v) else q
                   for v, q in zip(values, quality, strict=True)]
        super().emit(port, ts, values, quality)
