"""Action nodes: write a tag within its envelope, set the line mode."""

from __future__ import annotations

from typing import Any

from runtime.contracts import GOOD, EventKind, WriteRequest
from runtime.engine.safety import guard_write
from runtime.nodes.base import Node


class WriteTag(Node):
    """Writes its input to a tag: only inside the envelope, in automatic mode, on good input.

    With `on_true` set, the input is a trigger and that value is written while it is true.

    A value within `min_change` of the last written one is not written again. Refusals are
    recorded as events once per change of the rule that refused (runtime.engine.safety),
    so a bad sensor or a drifting read-back does not flood the log.
    """

    def setup(self, params: dict[str, Any]) -> None:
        self.tag_id = params["tag"]
        self.min_change = float(params["min_change"])
        self.on_true = params["on_true"]
        self.last_written: float | None = None
        self.refusal = ""

    def receive(self, port: str, ts: list[float], values: list[Any],
                quality: list[int]) -> None:
        tag = self.ctx.tag(self.tag_id)
        for t, v, q in zip(ts, values, quality, strict=True):
            if self.on_true is not None:
                if q != GOOD or not v:
                    continue
                v = self.on_true
            if (q == GOOD and self.last_written is not None
                    and abs(v - self.last_written) < self.min_change):
                continue
            _, read_back, read_back_quality = self.ctx.tag_value(self.tag_id) or (
                None, None, None)
            decision = guard_write(tag, float(v), q, self.ctx.line_mode, t,
                                   read_back=read_back, read_back_quality=read_back_quality,
                                   last_write_ts=self.ctx.last_write_ts(self.tag_id))
            if decision.value is None:  # refused
                if decision.rule != self.refusal:
                    self.refusal = decision.rule
                    self.ctx.emit_event(EventKind.WRITE_REFUSED, t, tag=self.tag_id,
                                        requested=v, reason=decision.refused)
                continue
            self.refusal = ""
            self.last_written = decision.value
            self.ctx.request_write(WriteRequest(tag=self.tag_id, value=decision.value, ts=t,
                                                flow=self.ctx.flow_id, node=self.ctx.node_id))
            self.ctx.emit_event(EventKind.WRITE, t, tag=self.tag_id, requested=v,
                                value=decision.value, clamped=decision.clamped)


class SetLineMode(Node):
    """On a rising edge of its good bool input, asks for the configured line mode."""

    def setup(self, params: dict[str, Any]) -> None:
        self.mode = params["mode"]
        self.previous = False

    def receive(self, port: str, ts: list[float], values: list[Any],
                quality: list[int]) -> None:
        for t, v, q in zip(ts, values, quality, strict=True):
            if q != GOOD:
                continue
            if v and not self.previous:
                self.ctx.request_line_mode(self.mode, t)
            self.previous = bool(v)
