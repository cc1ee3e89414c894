"""The alarm node: raises an alarm when its input turns true and clears it when false."""

from __future__ import annotations

from typing import Any

from runtime.contracts import GOOD, EventKind
from runtime.nodes.base import Node


class Alarm(Node):
    """Raise/clear with priority. Non-good input leaves the alarm as it is.

    A new instance takes the alarm's state from the runtime when its first batch arrives
    (not when it is built: a deploy may wait between the two), so after a restart or a
    redeploy a condition still true does not raise the alarm twice, and one that cleared
    meanwhile clears it.
    """

    def setup(self, params: dict[str, Any]) -> None:
        self.alarm_id = params["alarm_id"] or f"{self.ctx.flow_id}.{self.ctx.node_id}"
        self.message = params["message"]
        self.priority = params["priority"]
        self.active: bool | None = None

    def receive(self, port: str, ts: list[float], values: list[Any],
                quality: list[int]) -> None:
        if self.active is None:
            self.active = self.ctx.alarm_active(self.alarm_id)
        active = self.active
        states: list[bool] = []
        for t, v, q in zip(ts, values, quality, strict=True):
            if q == GOOD and bool(v) != active:
                active = self.active = bool(v)
                kind = EventKind.ALARM_RAISED if active else EventKind.ALARM_CLEARED
                self.ctx.emit_event(kind, t, alarm=self.alarm_id, message=self.message,
                                    priority=self.priority)
            states.append(active)
        self.emit("active", ts, states, quality)
