"""The pen legend beside the trend, painted directly: one row per pen of a PenReadoutModel
(line colour, tag, value). A styled item view cost more per repaint than the whole plot."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from ui.theme import Palette, value_font
from ui.trend.readout import PenReadoutModel

SWATCH_PX = 22
PAD_PX = 8


class PenLegend(QWidget):
    """Rows of (swatch, tag, value) from `model`, `row_px` tall, repainted when it changes."""

    def __init__(self, model: PenReadoutModel, palette: Palette, row_px: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.theme = palette
        self.row_px = row_px
        self._value_font = value_font()
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        model.modelReset.connect(self._resized)
        model.dataChanged.connect(lambda *_: self.update())

    def _resized(self) -> None:
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(300, max(1, self.model.rowCount()) * self.row_px)

    def minimumSizeHint(self) -> QSize:
        return QSize(200, self.row_px)

    def paintEvent(self, _event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(self.theme.panel))
        p.setPen(QColor(self.theme.outline))
        p.drawRect(self.rect().adjusted(0, 0, -1, -1))
        width = self.width()
        for row in range(self.model.rowCount()):
            top = row * self.row_px
            if top > self.height():
                break
            line = self.model.index(row, PenReadoutModel.LINE)
            tag = self.model.index(row, PenReadoutModel.TAG)
            value = self.model.index(row, PenReadoutModel.VALUE)
            mid = top + self.row_px // 2
            p.fillRect(PAD_PX, mid - 2, SWATCH_PX, 4, _brush(line))
            p.setFont(self.font())
            p.setPen(QColor(self.theme.text))
            text_left = PAD_PX * 2 + SWATCH_PX
            value_w = width * 2 // 5
            p.drawText(QRect(text_left, top, width - text_left - value_w - PAD_PX,
                             self.row_px), Qt.AlignmentFlag.AlignVCenter, str(tag.data()))
            value_rect = QRect(width - value_w - PAD_PX, top + 2, value_w, self.row_px - 4)
            background = value.data(Qt.ItemDataRole.BackgroundRole)
            if isinstance(background, QBrush):
                p.fillRect(value_rect, background)
            p.setFont(self._value_font)
            p.setPen(_brush(value).color() if value.data(Qt.ItemDataRole.ForegroundRole)
                     else QColor(self.theme.text))
            p.drawText(value_rect.adjusted(0, 0, -4, 0),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       str(value.data()))
        p.end()


def _brush(index: QModelIndex) -> QBrush:
    brush = index.data(Qt.ItemDataRole.ForegroundRole)
    return brush if isinstance(brush, QBrush) else QBrush()
