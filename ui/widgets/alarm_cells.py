"""How the alarm table draws two of its cells: the priority as a badge in the alarm's
colours, and a value with the tag it comes from."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from ui.theme import Palette, value_font

SOURCE_ROLE = Qt.ItemDataRole.UserRole + 2
"""The tag a value cell's value comes from ("" when none)."""

AnyIndex = QModelIndex | QPersistentModelIndex


def _plain_cell(option: QStyleOptionViewItem, index: AnyIndex, painter: QPainter,
                delegate: QStyledItemDelegate) -> str:
    """Draw the cell's ground (selection included) without its text; the text."""
    plain = QStyleOptionViewItem(option)
    delegate.initStyleOption(plain, index)
    text = plain.text
    plain.text = ""
    plain.backgroundBrush = QBrush()
    style = plain.widget.style() if plain.widget else QApplication.style()
    style.drawControl(QStyle.ControlElement.CE_ItemViewItem, plain, painter, plain.widget)
    return text


class PriorityBadge(QStyledItemDelegate):
    """Draws the priority as a badge in the alarm's colours (the model's background and
    text brushes), inset in its cell, so a selected row keeps its alarm colour."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: AnyIndex) -> None:
        text = _plain_cell(option, index, painter, self)
        fill = index.data(Qt.ItemDataRole.BackgroundRole)
        ink = index.data(Qt.ItemDataRole.ForegroundRole)
        rect = QRectF(option.rect).adjusted(4, 6, -4, -6)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(ink.color() if isinstance(ink, QBrush) else option.palette.text()
                            .color(), 1.2))
        painter.setBrush(fill if isinstance(fill, QBrush) else QBrush())
        painter.drawRoundedRect(rect, 4, 4)
        font = QFont(option.font)
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(rect.adjusted(8, 0, -4, 0),
                         int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)
        painter.restore()


class ValueWithSource(QStyledItemDelegate):
    """The value in the value font, then the tag it comes from in small secondary text."""

    def __init__(self, palette: Palette, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.palette = palette
        self._value_font = value_font()

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        text = _plain_cell(option, index, painter, self)
        source = index.data(SOURCE_ROLE) or ""
        ink = index.data(Qt.ItemDataRole.ForegroundRole)
        rect = QRectF(option.rect).adjusted(8, 0, -8, 0)
        middle = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        painter.save()
        painter.setPen(ink.color() if isinstance(ink, QBrush) else option.palette.text().color())
        painter.setFont(self._value_font)
        used = painter.boundingRect(rect, middle, text)
        painter.drawText(rect, middle, text)
        if source:
            small = QFont(option.font)
            small.setPixelSize(max(14, option.font.pixelSize() - 1))
            painter.setFont(small)
            painter.setPen(QColor(self.palette.secondary))
            rest = rect.adjusted(used.width() + 10, 0, 0, 0)
            elided = painter.fontMetrics().elidedText(source, Qt.TextElideMode.ElideRight,
                                                      int(rest.width()))
            painter.drawText(rest, middle, elided)
        painter.restore()
