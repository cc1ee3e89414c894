"""The alarms view-models: the alarm table fed by the link, its filter, and the actions.

`AlarmTableModel` holds every alarm not normal (the retained `alarms` topic: ISA-18.2
states active-unacked, active-acked, returned-unacked, and shelved), with the value of the
tag behind each alarm where one tag alone is behind it. Unacknowledged alarms blink at
1 Hz (`blink_on` flips every half second); acknowledged ones are steady. `AlarmFilter`
filters by state and priority and sorts on raw values. `AlarmActions` acknowledges, shelves
and unshelves through `link.act`, so the frame's notice line tells what happened.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont

from runtime.client import ApiError, Disconnected
from runtime.contracts.messages import Quality
from runtime.contracts.roles import OPERATOR, role_at_least
from ui.clock import clock_text
from ui.link import Link
from ui.theme import LIGHT, PRIORITY_SHAPES, Palette, alarm_colours, value_font
from ui.widgets.alarm_cells import SOURCE_ROLE

log = logging.getLogger(__name__)

BLINK_MS = 500
"""Half of the 1 Hz blink of unacknowledged alarms (HMI-STYLE.md)."""

ACTIVE_UNACKED, ACTIVE_ACKED = "active-unacked", "active-acked"
RETURNED_UNACKED, SHELVED = "returned-unacked", "shelved"
PRIORITIES = ("critical", "high", "medium", "low")
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
"""The raw value a column sorts by (priority rank, timestamps, numbers)."""
ALARM_ROLE = Qt.ItemDataRole.UserRole
"""The alarm's id, on every cell."""

AnyIndex = QModelIndex | QPersistentModelIndex


def unacked(alarm: dict[str, Any]) -> bool:
    """True while the alarm waits for an acknowledgement (it blinks)."""
    return str(alarm.get("state", "")).endswith("-unacked")


def priority_rank(priority: str) -> int:
    """0 for critical up to 3 for low (4 for anything else): sorts most important first."""
    return PRIORITIES.index(priority) if priority in PRIORITIES else len(PRIORITIES)


def source_tags(flow: dict[str, Any], node_id: str) -> set[str] | None:
    """The tags the node `node_id` of `flow` depends on through source.tag nodes, or None
    when something else feeds it too (a model reading tags of its own, an unknown node):
    then no one tag's value stands for the alarm."""
    nodes = {n.get("id"): n for n in flow.get("nodes", [])}
    feeds: dict[str, list[str]] = {}
    for wire in flow.get("wires", []):
        source = str(wire.get("from", "")).split(":", 1)[0]
        target = str(wire.get("to", "")).split(":", 1)[0]
        feeds.setdefault(target, []).append(source)
    tags: set[str] = set()
    seen: set[str] = set()
    todo = list(feeds.get(node_id, []))
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        node = nodes.get(current)
        if node is None:
            return None
        if node.get("type") == "source.tag":
            tags.add(str((node.get("params") or {}).get("tag", "")))
        elif current not in feeds:
            return None
        todo.extend(feeds.get(current, []))
    return tags or None


class AlarmTableModel(QAbstractTableModel):
    """One row per alarm not normal, as the runtime lists it (most important first)."""

    PRIORITY, STATE, RAISED, VALUE, MESSAGE, NOTE = range(6)

    def __init__(self, link: Link, palette: Palette = LIGHT,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.palette = palette
        self._link = link
        self._rows: list[dict[str, Any]] = []
        self._sources: dict[tuple[str, str], str | None] = {}
        """(flow, node) of an alarm node -> the one tag behind it (None: not one tag)."""
        self._flows_of_version: int | None = None
        self._lookup: asyncio.Task[None] | None = None
        self.blink_on = True
        self._font = value_font()
        self._bold = QFont()
        self._bold.setBold(True)
        self._blink = QTimer(self)
        self._blink.setInterval(BLINK_MS)
        self._blink.timeout.connect(self._tick)
        self._blink.start()
        link.alarms_changed.connect(self.set_alarms)
        link.connected.connect(self._on_connected)
        link.lost.connect(lambda _reason: self._stale_changed())
        if link.alarms:
            self.set_alarms(link.alarms)

    # -- feeding ------------------------------------------------------------------------

    def set_alarms(self, alarms: list[dict[str, Any]]) -> None:
        """Show these alarms (the `alarms` topic's data)."""
        ids = [a.get("alarm") for a in alarms]
        if ids != [a.get("alarm") for a in self._rows]:
            self.beginResetModel()
            self._rows = list(alarms)
            self.endResetModel()
        else:
            self._rows = list(alarms)
            self._all_changed()
        if any((a.get("flow", ""), a.get("node", "")) not in self._sources for a in alarms):
            self.find_sources()

    def find_sources(self) -> None:
        """Look up, in the deployed project, which tag stands behind each alarm node."""
        client = self._link.client
        if client is None or self._link.stale or (self._lookup and not self._lookup.done()):
            return

        async def lookup() -> None:
            try:
                project = await client.project()
            except (ApiError, Disconnected, TimeoutError) as exc:
                log.info("hmi.alarms.sources_unavailable error=%s", exc)
                return
            flows = {f.get("id"): f for f in project.get("document", {}).get("flows", [])}
            sources: dict[tuple[str, str], str | None] = {}
            for flow_id, flow in flows.items():
                for node in flow.get("nodes", []):
                    if node.get("type") == "alarm":
                        tags = source_tags(flow, str(node.get("id")))
                        sources[(str(flow_id), str(node.get("id")))] = (
                            next(iter(tags)) if tags and len(tags) == 1 else None)
            for alarm in self._rows:
                sources.setdefault((alarm.get("flow", ""), alarm.get("node", "")), None)
            self._sources = sources
            self._all_changed()

        self._lookup = asyncio.get_running_loop().create_task(lookup(), name="hmi-alarm-sources")

    def _on_connected(self) -> None:
        self._sources = {}  # a deploy may have rewired flows meanwhile
        self.find_sources()
        self._stale_changed()

    def _tick(self) -> None:
        self.blink_on = not self.blink_on
        rows = [i for i, a in enumerate(self._rows) if unacked(a)]
        if rows:
            self.dataChanged.emit(self.index(min(rows), self.PRIORITY),
                                  self.index(max(rows), self.PRIORITY))
        if self.blink_on and self._rows:  # values once a second
            last = len(self._rows) - 1
            self.dataChanged.emit(self.index(0, self.VALUE), self.index(last, self.VALUE))

    def _stale_changed(self) -> None:
        self._all_changed()

    def _all_changed(self) -> None:
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, self.NOTE))

    # -- reading ------------------------------------------------------------------------

    def alarms(self) -> list[dict[str, Any]]:
        """The alarms shown, as the runtime sent them."""
        return list(self._rows)

    def alarm(self, alarm_id: str) -> dict[str, Any] | None:
        """One alarm by id (None when it is normal again or unknown)."""
        return next((a for a in self._rows if a.get("alarm") == alarm_id), None)

    def counts(self) -> dict[str, int]:
        """How many alarms are listed, active (not shelved), unacknowledged and shelved."""
        rows = self._rows
        return {"all": len(rows),
                "active": sum(1 for a in rows if a.get("active") and a.get("state") != SHELVED),
                "unacked": sum(1 for a in rows if unacked(a)),
                "shelved": sum(1 for a in rows if a.get("state") == SHELVED)}

    def source_tag(self, alarm: dict[str, Any]) -> str | None:
        """The one tag behind the alarm (None when not one tag, or not known yet)."""
        return self._sources.get((alarm.get("flow", ""), alarm.get("node", "")))

    def priority_text(self, alarm: dict[str, Any]) -> str:
        """Shape and word: "◆ HIGH"."""
        priority = str(alarm.get("priority", ""))
        words = {"critical": self.tr("CRIT"), "high": self.tr("HIGH"),
                 "medium": self.tr("MED"), "low": self.tr("LOW")}
        return f"{PRIORITY_SHAPES.get(priority, '●')} {words.get(priority, priority.upper())}"

    def state_text(self, alarm: dict[str, Any]) -> str:
        """The ISA-18.2 state in words."""
        state = alarm.get("state")
        if state == ACTIVE_UNACKED:
            return self.tr("Active · unacked")
        if state == ACTIVE_ACKED:
            return self.tr("Active · acked")
        if state == RETURNED_UNACKED:
            return self.tr("Returned · unacked")
        if state == SHELVED:
            return (self.tr("∥ Shelved · active") if alarm.get("active")
                    else self.tr("∥ Shelved · returned"))
        return str(state)

    def value_text(self, alarm: dict[str, Any]) -> str:
        """The live value of the tag behind the alarm (source_tag), with its unit ("—" when
        none); a value not current says STALE."""
        tag = self.source_tag(alarm)
        if tag is None:
            return "—"
        sample = self._link.values.get(tag)
        if sample is None:
            return "—"
        _ts, value, quality = sample
        unit = next((t.get("unit") or "" for t in self._link.tags if t.get("id") == tag), "")
        if isinstance(value, bool):
            text = self.tr("ON") if value else self.tr("OFF")
        elif isinstance(value, float):
            text = f"{value:.2f}"
        else:
            text = str(value)
        if self._link.stale or quality >= Quality.STALE:
            return self.tr("⌀ STALE {value}").format(value=text)
        return f"{text} {unit}".strip()

    def note_text(self, alarm: dict[str, Any]) -> str:
        """What people said: the shelve note and until when, or the ack note and who."""
        if alarm.get("state") == SHELVED:
            until = clock_text(alarm.get("shelved_until"))
            note = alarm.get("shelve_note") or ""
            who = alarm.get("shelved_by") or ""
            text = self.tr("until {until} by {who}").format(until=until, who=who)
            return f"{text} — {note}" if note else text
        if alarm.get("acked_ts"):
            note = alarm.get("ack_note") or ""
            text = self.tr("acked by {who}").format(who=alarm.get("ack_user") or "?")
            return f"{text} — {note}" if note else text
        return ""

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 6

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return (self.tr("Priority"), self.tr("State"), self.tr("Raised"),
                    self.tr("Value now"), self.tr("Message"),
                    self.tr("Acknowledged / shelved"))[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        alarm, column = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(alarm, column)
        if role == ALARM_ROLE:
            return alarm.get("alarm")
        if role == SOURCE_ROLE and column == self.VALUE:
            return self.source_tag(alarm) or ""
        if role == SORT_ROLE:
            return self._sort_key(alarm, column)
        if column == self.PRIORITY and role in (Qt.ItemDataRole.BackgroundRole,
                                                Qt.ItemDataRole.ForegroundRole):
            return self._priority_brush(alarm, role)
        if role == Qt.ItemDataRole.ForegroundRole and (
                alarm.get("state") == SHELVED or self._link.stale):
            return QBrush(QColor(self.palette.secondary))
        if role == Qt.ItemDataRole.FontRole and column == self.VALUE:
            return self._font
        if role == Qt.ItemDataRole.FontRole and column == self.STATE and unacked(alarm):
            return self._bold
        return None

    def _priority_brush(self, alarm: dict[str, Any], role: int) -> QBrush:
        p = self.palette
        if alarm.get("state") == SHELVED or self._link.stale:
            colour = p.panel if role == Qt.ItemDataRole.BackgroundRole else p.secondary
            return QBrush(QColor(colour))
        background, text = alarm_colours(p, str(alarm.get("priority", "")))
        if unacked(alarm) and not self.blink_on:  # the dark half of the blink: outline only
            background, text = p.panel, p.text
        return QBrush(QColor(background if role == Qt.ItemDataRole.BackgroundRole else text))

    def _display(self, alarm: dict[str, Any], column: int) -> str:
        if column == self.PRIORITY:
            return self.priority_text(alarm)
        if column == self.STATE:
            return self.state_text(alarm)
        if column == self.RAISED:
            return clock_text(alarm.get("raised_ts"))
        if column == self.VALUE:
            return self.value_text(alarm)
        if column == self.MESSAGE:
            return str(alarm.get("message") or alarm.get("alarm", ""))
        return self.note_text(alarm)

    def _sort_key(self, alarm: dict[str, Any], column: int) -> Any:
        if column == self.PRIORITY:
            return priority_rank(str(alarm.get("priority", "")))
        if column == self.STATE:
            return (0 if unacked(alarm) else 1, str(alarm.get("state", "")))
        if column == self.RAISED:
            return float(alarm.get("raised_ts") or 0.0)
        if column == self.VALUE:
            return self.value_text(alarm)
        if column == self.MESSAGE:
            return str(alarm.get("message", ""))
        return float(alarm.get("shelved_until") or alarm.get("acked_ts") or 0.0)


class AlarmFilter(QSortFilterProxyModel):
    """Alarms of one kind (all, unacknowledged, active, shelved) and some priorities."""

    KINDS = ("all", "unacked", "active", "shelved")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.kind = "all"
        self.priorities: frozenset[str] = frozenset()
        """Empty: every priority."""
        self.setSortRole(SORT_ROLE)

    def set_kind(self, kind: str) -> None:
        """Show only alarms of `kind` (one of KINDS)."""
        if kind not in self.KINDS:
            raise ValueError(f"no alarm filter {kind!r}; filters: {', '.join(self.KINDS)}")
        self.beginFilterChange()
        self.kind = kind
        self.endFilterChange()

    def set_priorities(self, priorities: Iterable[str]) -> None:
        """Show only these priorities (none given: all)."""
        self.beginFilterChange()
        self.priorities = frozenset(priorities)
        self.endFilterChange()

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        model = self.sourceModel()
        if not isinstance(model, AlarmTableModel):
            return True
        alarm = model.alarms()[source_row]
        if self.priorities and alarm.get("priority") not in self.priorities:
            return False
        state = alarm.get("state")
        if self.kind == "unacked":
            return unacked(alarm)
        if self.kind == "active":
            return bool(alarm.get("active")) and state != SHELVED
        if self.kind == "shelved":
            return state == SHELVED
        return True


class AlarmActions(QObject):
    """Acknowledge, shelve and unshelve through the link; `allowed()` says whether the
    user may (an operator or more, with the runtime connected), and why not."""

    changed = Signal()
    """Whether actions are allowed may have changed (role, connection)."""

    def __init__(self, link: Link, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._link = link
        link.connected.connect(self.changed)
        link.lost.connect(lambda _reason: self.changed.emit())

    def allowed(self) -> tuple[bool, str]:
        """(True, "") when the user may act on alarms, else (False, why not)."""
        if self._link.stale:
            return False, self.tr("The runtime is not connected: alarms cannot be acted on.")
        role = self._link.role
        if not role_at_least(role, OPERATOR):
            return False, self.tr("Logged in as {role}: acknowledging and shelving need an "
                                  "operator.").format(role=role or self.tr("nobody"))
        return True, ""

    def acknowledge(self, alarm: str, note: str = "") -> asyncio.Task[Any] | None:
        """alarms.ack with the note (none when empty); the notice tells the outcome."""
        return self._link.act(
            self.tr("Acknowledge {alarm}").format(alarm=alarm),
            lambda c: c.ack(alarm, note.strip() or None),
            done=lambda r: self.tr("acknowledged by {user}").format(user=r.get("ack_user")))

    def shelve(self, alarm: str, duration_s: float, note: str = "") -> asyncio.Task[Any] | None:
        """alarms.shelve for `duration_s`; the notice tells until when."""
        return self._link.act(
            self.tr("Shelve {alarm}").format(alarm=alarm),
            lambda c: c.shelve(alarm, duration_s, note.strip() or None),
            done=lambda r: self.tr("shelved until {until}").format(
                until=clock_text(r.get("shelved_until"))))

    def unshelve(self, alarm: str) -> asyncio.Task[Any] | None:
        """alarms.unshelve; the notice tells the state it returned to."""
        return self._link.act(
            self.tr("Unshelve {alarm}").format(alarm=alarm),
            lambda c: c.unshelve(alarm),
            done=lambda r: self.tr("back, {state}").format(
                state=str(r.get("state", "")).replace("-", " ")))
