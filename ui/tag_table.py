"""The tags table: one row per tag with its definition and live value, fed by a Link.

Values arrive up to 10 times a second per tag; the model stores them at once but tells its
views at most `REFRESH_MS` apart (one dataChanged over the changed rows), so a busy plant
costs one repaint per period, not one per sample. A lost runtime is shown at once: every
value is stale from that moment, drawn struck out on a hatched grey ground with the word
STALE, never as a number that looks fine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
)
from PySide6.QtGui import QBrush, QColor

from runtime.contracts.messages import Quality
from ui.link import Link
from ui.theme import LIGHT, Palette, value_font

REFRESH_MS = 100
"""At most 10 view updates a second, whatever the data rate."""

AnyIndex = QModelIndex | QPersistentModelIndex


@dataclass
class TagRow:
    """One tag as shown: its definition and its latest sample."""

    id: str
    description: str = ""
    connection: str = ""
    address: str = ""
    unit: str = ""
    ts: float | None = None
    value: Any = None
    quality: int = int(Quality.BAD)


class TagTableModel(QAbstractTableModel):
    """Tags with live values; `stale(row)` says whether a row's value is not current."""

    TAG, VALUE, QUALITY, TIME, CONNECTION, ADDRESS, DESCRIPTION = range(7)
    LIVE_COLUMNS = (VALUE, QUALITY, TIME)

    def __init__(self, link: Link, palette: Palette = LIGHT,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.palette = palette
        self._link = link
        self._rows: list[TagRow] = []
        self._index: dict[str, int] = {}
        self._dirty: set[int] = set()
        self._up = not link.stale
        self._font = value_font()
        self._stale_font = value_font()
        self._stale_font.setStrikeOut(True)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.flush)
        self._timer.start()
        link.tags_defined.connect(self.define)
        link.tag_value.connect(self.update_value)
        link.connected.connect(self._on_connected)
        link.lost.connect(self._on_lost)

    # -- feeding ------------------------------------------------------------------------

    def define(self, tags: list[dict[str, Any]]) -> None:
        """Replace the rows with the deployed tags (keeping values already received)."""
        old = {row.id: row for row in self._rows}
        self.beginResetModel()
        self._rows = []
        for tag in tags:
            row = old.get(tag["id"]) or TagRow(tag["id"])
            row.description = tag.get("description") or ""
            row.connection = tag.get("connection") or ""
            row.address = str(tag.get("address") or "")
            row.unit = tag.get("unit") or ""
            latest = tag.get("latest")
            if latest and (row.ts is None or latest["ts"] >= row.ts):
                row.ts, row.value, row.quality = latest["ts"], latest["value"], latest["quality"]
            self._rows.append(row)
        self._index = {row.id: i for i, row in enumerate(self._rows)}
        self._dirty.clear()
        self.endResetModel()

    def update_value(self, tag: str, ts: float, value: Any, quality: int) -> None:
        """Store a sample; views hear of it at the next flush."""
        i = self._index.get(tag)
        if i is None:
            i = len(self._rows)
            self.beginInsertRows(QModelIndex(), i, i)
            self._rows.append(TagRow(tag))
            self._index[tag] = i
            self.endInsertRows()
        row = self._rows[i]
        row.ts, row.value, row.quality = ts, value, quality
        self._dirty.add(i)

    def flush(self) -> None:
        """Tell the views about every row changed since the last flush, in one signal."""
        if not self._dirty:
            return
        first, last = min(self._dirty), max(self._dirty)
        self._dirty.clear()
        self.dataChanged.emit(self.index(first, self.VALUE), self.index(last, self.TIME))

    def _on_connected(self) -> None:
        self._up = True
        self._all_changed()

    def _on_lost(self, _reason: str) -> None:
        if self._up:
            self._up = False
            self._all_changed()

    def _all_changed(self) -> None:
        self._dirty.clear()
        if self._rows:
            self.dataChanged.emit(self.index(0, self.VALUE),
                                  self.index(len(self._rows) - 1, self.TIME))

    # -- reading ------------------------------------------------------------------------

    def row_of(self, tag: str) -> TagRow | None:
        """The row of a tag (None if unknown)."""
        i = self._index.get(tag)
        return self._rows[i] if i is not None else None

    def stale(self, row: TagRow) -> bool:
        """True when the value is not current: the runtime is lost, or its quality says so."""
        return not self._up or row.ts is None or row.quality >= Quality.STALE

    def value_text(self, row: TagRow) -> str:
        """The value with its unit, as shown."""
        value = row.value
        if value is None:
            return "—"
        if isinstance(value, bool):
            text = self.tr("ON") if value else self.tr("OFF")
        elif isinstance(value, float):
            text = f"{value:.2f}"
        else:
            text = str(value)
        return f"{text} {row.unit}".strip()

    def quality_text(self, row: TagRow) -> str:
        """The quality as a shape and a word (never colour alone)."""
        if not self._up:
            return self.tr("⌀ STALE · runtime lost")
        if row.ts is None:
            return self.tr("⌀ NO VALUE")
        return {
            Quality.GOOD: self.tr("✓ Good"),
            Quality.UNCERTAIN: self.tr("? UNCERTAIN"),
            Quality.STALE: self.tr("⌀ STALE"),
        }.get(Quality(row.quality), self.tr("✕ BAD"))

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 7

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return (self.tr("Tag"), self.tr("Value"), self.tr("Quality"), self.tr("Time"),
                    self.tr("Connection"), self.tr("Address"),
                    self.tr("Description"))[section]
        if role == Qt.ItemDataRole.TextAlignmentRole and section == self.VALUE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        live = column in self.LIVE_COLUMNS
        stale = live and self.stale(row)
        if role == Qt.ItemDataRole.FontRole and column == self.VALUE:
            return self._stale_font if stale else self._font
        if role == Qt.ItemDataRole.ForegroundRole and stale:
            return QBrush(QColor(self.palette.secondary))
        if role == Qt.ItemDataRole.BackgroundRole and stale:
            return QBrush(QColor(self.palette.stale), Qt.BrushStyle.BDiagPattern)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            horizontal = (Qt.AlignmentFlag.AlignRight if column == self.VALUE
                          else Qt.AlignmentFlag.AlignLeft)
            return int(horizontal | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return row.id
        return None

    def _display(self, row: TagRow, column: int) -> str:
        if column == self.TAG:
            return row.id
        if column == self.DESCRIPTION:
            return row.description
        if column == self.CONNECTION:
            return row.connection
        if column == self.ADDRESS:
            return row.address
        if column == self.VALUE:
            return self.value_text(row)
        if column == self.QUALITY:
            return self.quality_text(row)
        return time.strftime("%H:%M:%S", time.localtime(row.ts)) if row.ts else "—"
