"""The base of every node implementation: receive a batch on a port, emit batches.

A batch is three parallel lists (timestamps, values, qualities). Batches are shared
between the nodes a port fans out to, so a node never mutates a batch it received.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runtime.engine.context import NodeContext

Receive = Callable[[str, list[float], list[Any], list[int]], None]


class Node:
    """Base class: `receive` is called by upstream nodes; `emit` calls downstream ones."""

    def __init__(self, ctx: NodeContext, params: dict[str, Any]) -> None:
        self.ctx = ctx
        self.params = params
        self.outputs: dict[str, list[tuple[Receive, str]]] = {}
        self.setup(params)

    def setup(self, params: dict[str, Any]) -> None:
        """Read parameters into attributes; called once when the node is built."""

    def connect(self, port: str, receive: Receive, target_port: str) -> None:
        """Wire output `port` to another node's receive method and input port."""
        self.outputs.setdefault(port, []).append((receive, target_port))

    def receive(self, port: str, ts: list[float], values: list[Any],
                quality: list[int]) -> None:
        """Handle a batch arriving on input `port`."""
        raise NotImplementedError

    def emit(self, port: str, ts: list[float], values: list[Any], quality: list[int]) -> None:
        """Send a batch out of `port` to every wired input, depth first."""
        for receive, target_port in self.outputs.get(port, ()):
            receive(target_port, ts, values, quality)


class JoinNode(Node):
    """A node over several inputs: keeps each wired input's latest value and quality and
    evaluates whenever one arrives and every wired input has a value."""

    def setup(self, params: dict[str, Any]) -> None:
        self.latest: dict[str, Any] = {}
        self.latest_quality: dict[str, int] = {}
        self.ports = sorted(self.ctx.wired_inputs)

    def receive(self, port: str, ts: list[float], values: list[Any],
                quality: list[int]) -> None:
        latest, latest_q, ports = self.latest, self.latest_quality, self.ports
        out_ts: list[float] = []
        out_values: list[Any] = []
        out_q: list[int] = []
        for t, v, q in zip(ts, values, quality, strict=True):
            latest[port] = v
            latest_q[port] = q
            if len(latest) < len(ports):
                continue
            value, worst = self.combine(latest), max(latest_q.values())
            if value is None:
                continue
            out_ts.append(t)
            out_values.append(value)
            out_q.append(worst)
        if out_ts:
            self.emit("out", out_ts, out_values, out_q)

    def combine(self, latest: dict[str, Any]) -> Any:
        """The output for the latest inputs (None emits nothing)."""
        raise NotImplementedError
