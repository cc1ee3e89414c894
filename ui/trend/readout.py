"""The pen list beside the trend: each pen's line style, tag and value, at the cursor's time
when a cursor is placed, else the latest value; refreshed at most `REFRESH_MS` apart."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from ui.theme import Palette, pen_colour, value_font
from ui.trend.model import Pen, TrendModel

AnyIndex = QModelIndex | QPersistentModelIndex
LINE = "━━"


class PenReadoutModel(QAbstractTableModel):
    """Rows: the trend's pens in colour order. Columns: line, tag, value with unit."""

    LINE, TAG, VALUE = range(3)

    def __init__(self, trend: TrendModel, palette: Palette,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.trend = trend
        self.palette = palette
        self.cursor: float | None = None
        self._rows: list[tuple[Pen, float | None, bool]] = []
        self._font = value_font()
        trend.pens_changed.connect(self.refresh)

    def set_cursor(self, ts: float | None) -> None:
        self.cursor = ts
        self.refresh()

    def refresh(self) -> None:
        """Read every pen's value again (at the cursor, or the latest drawn)."""
        if self.cursor is not None:
            rows = [(pen, value, True) for pen, value in self.trend.values_at(self.cursor)]
        else:
            rows = [(pen, self._latest(pen), False) for pen in self.trend.ordered()]
        if [r[0] for r in rows] != [r[0] for r in self._rows]:
            self.beginResetModel()
            self._rows = rows
            self.endResetModel()
        else:
            self._rows = rows
            if rows:
                self.dataChanged.emit(self.index(0, self.VALUE),
                                      self.index(len(rows) - 1, self.VALUE))

    def _latest(self, pen: Pen) -> float | None:
        latest = pen.series.live.value_at(float("inf"))
        if latest is None or self.trend.link.stale or latest[1] != latest[1]:
            return None
        return latest[1]

    def value_text(self, row: int) -> str:
        pen, value, _ = self._rows[row]
        if value is None:
            return self.tr("⌀ no value")
        return f"{value:.4g} {pen.unit}".strip()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 3

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return ("", self.tr("Pen"), self.tr("Value"))[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        pen, value, _ = self._rows[index.row()]
        column = index.column()
        colour = pen_colour(self.palette, pen.index)
        if role == Qt.ItemDataRole.DisplayRole:
            if column == self.LINE:
                return LINE
            return pen.tag if column == self.TAG else self.value_text(index.row())
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == self.LINE:
                return QBrush(QColor(colour))
            if column == self.VALUE and value is None:
                return QBrush(QColor(self.palette.secondary))
        if role == Qt.ItemDataRole.BackgroundRole and column == self.VALUE and value is None:
            return QBrush(QColor(self.palette.stale), Qt.BrushStyle.BDiagPattern)
        if role == Qt.ItemDataRole.FontRole and column == self.VALUE:
            return self._font
        if role == Qt.ItemDataRole.TextAlignmentRole:
            horizontal = (Qt.AlignmentFlag.AlignRight if column == self.VALUE
                          else Qt.AlignmentFlag.AlignLeft)
            return int(horizontal | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return pen.tag
        return None
