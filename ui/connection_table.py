"""The connections table: each PLC connection's state, since when and its last error.

Fed by a Link's retained `connections` topic (a few updates a minute), so it updates rows
directly. While the runtime is lost the states are unknown and shown so, hatched.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from ui.link import Link
from ui.theme import LIGHT, Palette

AnyIndex = QModelIndex | QPersistentModelIndex


class ConnectionTableModel(QAbstractTableModel):
    """One row per connection: name, state (shape and word), since, reconnects, last error."""

    NAME, STATE, SINCE, RECONNECTS, ERROR = range(5)

    def __init__(self, link: Link, palette: Palette = LIGHT,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.palette = palette
        self._rows: list[dict[str, Any]] = []
        self._up = not link.stale
        link.connections_changed.connect(self.set_statuses)
        link.connected.connect(lambda: self._set_up(True))
        link.lost.connect(lambda _reason: self._set_up(False))

    def set_statuses(self, statuses: dict[str, dict[str, Any]]) -> None:
        """Show these statuses (the `connections` topic's data), sorted by name."""
        rows = [statuses[name] for name in sorted(statuses)]
        if [r["connection"] for r in rows] != [r["connection"] for r in self._rows]:
            self.beginResetModel()
            self._rows = rows
            self.endResetModel()
        else:
            self._rows = rows
            self._changed()

    def state_text(self, row: dict[str, Any]) -> str:
        """The state as a shape and a word."""
        if not self._up:
            return self.tr("⌀ UNKNOWN · runtime lost")
        state = row.get("state", "")
        if state == "connected":
            return self.tr("● Connected")
        if state == "connecting":
            return self.tr("◌ Connecting")
        return self.tr("✕ {state}").format(state=str(state).upper())

    def _set_up(self, up: bool) -> None:
        if up != self._up:
            self._up = up
            self._changed()

    def _changed(self) -> None:
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, self.ERROR))

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 5

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return (self.tr("Connection"), self.tr("State"), self.tr("Since"),
                    self.tr("Reconnects"), self.tr("Last error"))[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == self.NAME:
                return row["connection"]
            if column == self.STATE:
                return self.state_text(row)
            if column == self.SINCE:
                since = row.get("since")
                return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since)) if since else "—"
            if column == self.RECONNECTS:
                return str(row.get("reconnects", 0))
            return row.get("last_error") or "—"
        unhealthy = self._up and row.get("state") not in ("connected", "connecting")
        if role == Qt.ItemDataRole.ForegroundRole:
            if not self._up:
                return QBrush(QColor(self.palette.secondary))
            if unhealthy and column == self.STATE:
                return QBrush(QColor(self.palette.critical))
        if role == Qt.ItemDataRole.BackgroundRole and not self._up and column == self.STATE:
            return QBrush(QColor(self.palette.stale), Qt.BrushStyle.BDiagPattern)
        return None
