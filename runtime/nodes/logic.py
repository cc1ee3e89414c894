"""Logic nodes: compare, hysteresis, debounce/persistence, and/or, latch.

Only good samples change a node's state; other samples pass the current state on with
their own quality.
"""

from __future__ import annotations

from typing import Any

from runtime.contracts import GOOD
from runtime.nodes.base import JoinNode, Node

_COMPARE = {
    ">": lambda vs, k: [v > k for v in vs],
    ">=": lambda vs, k: [v >= k for v in vs],
    "<": lambda vs, k: [v < k for v in vs],
    "<=": lambda vs, k: [v <= k for v in vs],
    "==": lambda vs, k: [v == k for v in vs],
    "!=": lambda vs, k: [v != k for v in vs],
}


def _all_good(quality: list[int]) -> bool:
    return quality.count(GOOD) == len(quality)


class Compare(Node):
    """True where the input compares to the threshold with the chosen operator."""

    def setup(self, params: dict[str, Any]) -> None:
        self.compare = _COMPARE[params["op"]]
        self.threshold = params["threshold"]

    def receive(self, port: str, ts: list[float], values: list[Any],
                quality: list[int]) -> None:
        self.emit("out", ts, self.compare(values, self.threshold), quality)


class Hysteresis(Node):
    """Turns on above the on level and off below the off level (or the reverse)."""

    def setup(self, params: dict[str, Any]) -> None:
        self.on_level = params["on_above"]
        self.off_level = params["off_below"]
        self.state = False

    def receive(self, port: str, ts: list[float], values: list[Any],
                quality: list[int]) -> None:
        on, hi, lo = self.state, self.on_level, self.off_level
        out: list[bool] = []
        append = out.append
        if _all_good(quality):
            for v in values:
                if on:
                    if v < lo:
                        on = False
                elif v > hi:
                    on = True
                append(on)
        else:
            for v, q in zip(values, quality, strict=True):
                if q == GOOD:
                    if on:
                        if v < lo:
                            on = False
                    elif v > hi:
                        on = True
                append(on)
        self.state = on
        self.emit("out", ts, out, quality)


class Debounce(Node):
    """Passes a change of its bool input only after it persisted for a delay (message time)."""

    def setup(self, params: dict[str, Any]) -> None:
        self.on_delay = float(params["on_delay_s"])
        self.off_delay = float(params["off_delay_s"])
        self.state = False
        self.candidate = False
        self.since: float | None = None

    def receive(self, port: str, ts: list[float], values: list[Any],
                quality: list[int]) -> None:
        out: list[bool] = []
        for t, v, q in zip(ts, values, quality, strict=True):
            if q == GOOD:
                v = bool(v)
                if v != self.candidate or self.since is None:
                    self.candidate, self.since = v, t
                delay = self.on_delay if self.candidate else self.off_delay
                if self.candidate != self.state and t - self.since >= delay:
                    self.state = self.candidate
            out.append(self.state)
        self.emit("out", ts, out, quality)


class And(JoinNode):
    """True when every wired input is true."""

    def combine(self, latest: dict[str, Any]) -> Any:
        return all(latest.values())


class Or(JoinNode):
    """True when any wired input is true."""

    def combine(self, latest: dict[str, Any]) -> Any:
        return any(latest.values())


class Not(Node):
    """The inverse of its bool input."""

    def receive(self, port: str, ts: list[float], values: list[Any],
                quality: list[int]) -> None:
        self.emit("out", ts, [not v for v in values], quality)


class Latch(Node):
    """Set by a true on `set`, reset by a true on `reset`; reset wins when both arrive."""

    def setup(self, params: dict[str, Any]) -> None:
        self.state = False

    def receive(self, port: str, ts: list[float], values: list[Any],
                quality: list[int]) -> None:
        out: list[bool] = []
        for v, q in zip(values, quality, strict=True):
            if q == GOOD and v:
                self.state = port == "set"
            out.append(self.state)
        self.emit("out", ts, out, quality)
