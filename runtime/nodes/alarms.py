"""The alarm node: raises an alarm when its input turns true and clears it when false."""

from __future__ import annotations

from typing import Any

from runtime.contracts import GOOD, EventKind
from runtime.nodes.base import Node


class Alarm(Node):
    """Raise/clear with priority. Non-good input leaves the alarm as it is.

    A new instance starts from the recorded state, so after a restart a condition that
    cleared while the runtime was down clears the alarm, and one still true does not
    raise it twice.
    """

    def setup(self, params: dict[str, Any]) -> None:
        self.alarm_id = params["alarm_id"] or f"{self.ctx.flow_id}.{self.ctx.node_id}"
        self.message = params["message"]
        self.priority = params["priority"]
        self.active = self.ctx.alarm_active(self.alarm_id)

    def receive(self, port: str, ts: list[float], values: list[Any],
                quality: list[int]) -> None:
        states: list[bool] = []
        for t, v, q in zip(ts, values, quality, strict=True):
            if q == GOOD and bool(v) != self.active:
                self.active = bool(v)
                kind = EventKind.ALARM_RAISED if self.active else EventKind.ALARM_CLEARED
                self.ctx.emit_event(kind, t, alarm=self.alarm_id, message=self.message,
                                    priority=self.priority)
            states.append(self.active)
        self.emit("active", ts, states, quality)
