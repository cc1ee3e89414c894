"""The alarm board: which alarms are active, from the engine's raise and clear events.

In memory for now; the durable store (ISA-18.2 states, ack, shelve) replaces it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace

from runtime.contracts import Event, EventKind

_PRIORITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


@dataclass(frozen=True, slots=True)
class AlarmState:
    """One alarm: its id, message, priority, when it was raised and whether it still is."""

    alarm: str
    message: str
    priority: str
    raised_ts: float
    active: bool = True
    cleared_ts: float | None = None
    flow: str = ""


class AlarmBoard:
    """Active alarms and a short history, updated from events; shadow events are ignored."""

    def __init__(self, history: int = 200) -> None:
        self._alarms: dict[str, AlarmState] = {}
        self.history: deque[AlarmState] = deque(maxlen=history)

    def apply(self, event: Event) -> AlarmState | None:
        """Update from an event; returns the alarm's new state when it changed."""
        if event.shadow or event.kind not in (EventKind.ALARM_RAISED, EventKind.ALARM_CLEARED):
            return None
        alarm_id = event.data["alarm"]
        if event.kind == EventKind.ALARM_RAISED:
            state = AlarmState(alarm_id, event.data.get("message", ""),
                               event.data.get("priority", "medium"), event.ts, flow=event.flow)
        else:
            current = self._alarms.get(alarm_id)
            if current is None:
                return None
            state = replace(current, active=False, cleared_ts=event.ts)
        self._alarms[alarm_id] = state
        self.history.append(state)
        return state

    def active(self) -> list[AlarmState]:
        """Active alarms, most important first, then newest first."""
        active = [a for a in self._alarms.values() if a.active]
        return sorted(active, key=lambda a: (_PRIORITY_ORDER.get(a.priority, 9), -a.raised_ts))

    def get(self, alarm_id: str) -> AlarmState | None:
        """The state of one alarm, if it was ever raised."""
        return self._alarms.get(alarm_id)
