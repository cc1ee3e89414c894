"""The Trends page: pick up to 16 tags, see their history and live values in one plot,
pan, zoom and pinch, place a cursor to read every pen, see alarm and rule-write markers,
and export what is drawn as CSV or PNG."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui.link import Link
from ui.theme import Palette, named
from ui.trend.export import write_csv
from ui.trend.legend import PenLegend
from ui.trend.model import MAX_PENS, RANGES_S, TrendModel
from ui.trend.plot import TrendPlot
from ui.trend.readout import PenReadoutModel

READOUT_MS = 500
SIDE_PX = 330
LEGEND_ROW_PX = 26


def range_label(page: QWidget, seconds: int) -> str:
    """"1 min", "8 h", "7 d" for a range button (in `page`'s language)."""
    if seconds < 3_600:
        return page.tr("{0} min").format(seconds // 60)
    if seconds < 86_400:
        return page.tr("{0} h").format(seconds // 3_600)
    return page.tr("{0} d").format(seconds // 86_400)


class TagPickerModel(QStandardItemModel):
    """The deployed tags, each with a check box: checked tags are the trend's pens."""

    def __init__(self, link: Link, trend: TrendModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.trend = trend
        self.refusal = ""
        link.tags_defined.connect(self.define)
        self.itemChanged.connect(self._toggled)
        trend.pens_changed.connect(self._sync_checks)
        self.define(link.tags)

    def define(self, tags: list[dict[str, Any]]) -> None:
        self.blockSignals(True)
        self.clear()
        for tag in sorted(tags, key=lambda t: t["id"]):
            unit = tag.get("unit") or ""
            item = QStandardItem(f"{tag['id']}  {unit}".rstrip())
            item.setData(tag["id"], Qt.ItemDataRole.UserRole)
            item.setCheckable(True)
            item.setEditable(False)
            item.setToolTip(tag.get("description") or "")
            item.setCheckState(Qt.CheckState.Checked if tag["id"] in self.trend.pens
                               else Qt.CheckState.Unchecked)
            self.appendRow(item)
        self.blockSignals(False)
        self.layoutChanged.emit()

    def item_of(self, tag: str) -> QStandardItem | None:
        for row in range(self.rowCount()):
            item = self.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == tag:
                return item
        return None

    def _toggled(self, item: QStandardItem) -> None:
        tag = item.data(Qt.ItemDataRole.UserRole)
        if item.checkState() == Qt.CheckState.Checked:
            if not self.trend.add_pen(tag) and tag not in self.trend.pens:
                self.refusal = self.tr("At most {0} pens").format(MAX_PENS)
                self._sync_checks()
        else:
            self.trend.remove_pen(tag)

    def _sync_checks(self) -> None:
        self.blockSignals(True)
        for row in range(self.rowCount()):
            item = self.item(row)
            on = item.data(Qt.ItemDataRole.UserRole) in self.trend.pens
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        self.blockSignals(False)
        if self.rowCount():
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, 0))


class TrendsPage(QWidget):
    """Range buttons and actions over the plot; tag search and the pen readout beside it."""

    def __init__(self, link: Link, palette: Palette, target_px: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.link = link
        self.trend = TrendModel(link, self)
        self.plot = TrendPlot(self.trend, palette)
        self.picker = TagPickerModel(link, self.trend, self)
        self.readout = PenReadoutModel(self.trend, palette, self)

        bar = QHBoxLayout()
        bar.setSpacing(8)
        bar.addWidget(named(QLabel(self.tr("Trends")), "pageTitle"))
        bar.addSpacing(8)
        self.range_buttons = QButtonGroup(self)
        for seconds in RANGES_S:
            button = named(QToolButton(), "rangeButton")
            button.setText(range_label(self, seconds))
            button.setCheckable(True)
            button.setMinimumHeight(target_px)
            button.clicked.connect(lambda _=False, s=seconds: self.trend.set_span(s))
            self.range_buttons.addButton(button, seconds)
            bar.addWidget(button)
        bar.addStretch(1)
        self.follow_button = named(QToolButton(), "trendAction")
        self.follow_button.setText(self.tr("▶ Live"))
        self.follow_button.setCheckable(True)
        self.follow_button.setMinimumHeight(target_px)
        self.follow_button.toggled.connect(self.trend.set_follow)
        bar.addWidget(self.follow_button)
        self.csv_button = self._action(self.tr("⤓ CSV"), target_px, self._ask_csv)
        self.png_button = self._action(self.tr("⤓ PNG"), target_px, self._ask_png)
        bar.addWidget(self.csv_button)
        bar.addWidget(self.png_button)

        self.search = named(QLineEdit(), "tagSearch")
        self.search.setPlaceholderText(self.tr("Search tags"))
        self.search.setClearButtonEnabled(True)
        self.picker_proxy = proxy = QSortFilterProxyModel(self)
        proxy.setSourceModel(self.picker)
        proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.search.textChanged.connect(proxy.setFilterFixedString)
        self.tag_list = named(QListView(), "tagPicker")
        self.tag_list.setModel(proxy)
        self.tag_list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tag_list.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.tag_list.clicked.connect(self._tapped)
        self.tag_list.setMinimumHeight(target_px * 2)
        self.pen_count = named(QLabel(), "sectionTitle")

        self.cursor_label = named(QLabel(), "cursorTime")
        self.hide_cursor_button = self._action(self.tr("✕ Cursor"), target_px * 3 // 4,
                                               self.hide_cursor)
        self.legend = PenLegend(self.readout, palette, LEGEND_ROW_PX)
        self.legend.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

        side = QVBoxLayout()
        side.setSpacing(6)
        side.addWidget(self.search)
        side.addWidget(self.tag_list, 1)
        cursor_row = QHBoxLayout()
        cursor_row.addWidget(self.cursor_label, 1)
        cursor_row.addWidget(self.pen_count)
        cursor_row.addWidget(self.hide_cursor_button)
        side.addLayout(cursor_row)
        side.addWidget(self.legend)
        side_widget = QWidget()
        side_widget.setLayout(side)
        side_widget.setFixedWidth(SIDE_PX)
        side.setContentsMargins(0, 0, 0, 0)

        body = QHBoxLayout()
        body.setSpacing(12)
        body.addWidget(self.plot, 1)
        body.addWidget(side_widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 16)
        layout.setSpacing(10)
        layout.addLayout(bar)
        layout.addLayout(body, 1)

        self.plot.cursor_moved.connect(self._cursor_moved)
        self.trend.follow_changed.connect(self._follow_changed)
        self.trend.range_changed.connect(self._range_changed)
        self.trend.pens_changed.connect(self._pens_changed)
        self._readout_timer = QTimer(self)
        self._readout_timer.setInterval(READOUT_MS)
        self._readout_timer.timeout.connect(self.readout.refresh)
        self._readout_timer.start()
        self._follow_changed(self.trend.follow)
        self._range_changed(self.trend.start, self.trend.end)
        self._pens_changed()
        self.hide_cursor()

    def _action(self, text: str, target_px: int, slot: Any) -> QToolButton:
        button = named(QToolButton(), "trendAction")
        button.setText(text)
        button.setMinimumHeight(target_px)
        button.clicked.connect(slot)
        return button

    # -- state shown -----------------------------------------------------------------------

    def _follow_changed(self, follow: bool) -> None:
        self.follow_button.blockSignals(True)
        self.follow_button.setChecked(follow)
        self.follow_button.setText(self.tr("▶ Live") if follow else self.tr("❚❚ Paused"))
        self.follow_button.blockSignals(False)

    def _range_changed(self, start: float, end: float) -> None:
        span = round(end - start)
        button = self.range_buttons.button(span) if span in RANGES_S else None
        self.range_buttons.setExclusive(False)
        for b in self.range_buttons.buttons():
            b.setChecked(b is button)
        self.range_buttons.setExclusive(True)

    def _pens_changed(self) -> None:
        self.pen_count.setText(self.tr("{0}/{1}").format(len(self.trend.pens), MAX_PENS))
        self.readout.refresh()

    def _cursor_moved(self, ts: float) -> None:
        self.readout.set_cursor(ts)
        stamp = time.strftime("%H:%M:%S", time.localtime(ts))
        self.cursor_label.setText(self.tr("Cursor {0}").format(stamp))
        self.hide_cursor_button.setEnabled(True)

    def hide_cursor(self) -> None:
        """Back to the latest values."""
        self.plot.hide_cursor()
        self.readout.set_cursor(None)
        self.cursor_label.setText(self.tr("Latest values"))
        self.hide_cursor_button.setEnabled(False)

    def _tapped(self, index: Any) -> None:
        """A tap anywhere on a row toggles its pen (the check box alone is a small target)."""
        item = self.picker.itemFromIndex(self.picker_proxy.mapToSource(index))
        if item is not None:
            on = item.checkState() == Qt.CheckState.Checked
            item.setCheckState(Qt.CheckState.Unchecked if on else Qt.CheckState.Checked)

    # -- actions ---------------------------------------------------------------------------

    async def stage_screenshot(self) -> None:
        """For `make screenshots`: up to six tags of three units on the plot over the last
        minute (the demo runtime has just started), the cursor a little before now."""
        units: list[str] = []
        for tag in self.link.tags:
            unit = tag.get("unit")
            if unit and unit not in units and len(units) < 3:
                units.append(unit)
        for tag in [t["id"] for t in self.link.tags if t.get("unit") in units][:6]:
            self.pick(tag)
        self.range_buttons.button(60).click()
        for _ in range(100):
            if self.trend.fetches and all(pen.drawn is not None
                                          for pen in self.trend.pens.values()):
                break
            await asyncio.sleep(0.1)
        self.plot.place_cursor(time.time() - 10)

    def pick(self, tag: str, on: bool = True) -> None:
        """Check (or uncheck) `tag` in the picker, as a tap on its box does."""
        item = self.picker.item_of(tag)
        if item is None:
            raise KeyError(tag)
        item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def export_csv(self, path: Path) -> int:
        """Write what is drawn over the visible range to `path`; the rows written."""
        self.plot.redraw()
        pens = [(p.tag, p.unit, p.drawn) for p in self.trend.ordered() if p.drawn is not None]
        rows = write_csv(path, pens)
        self.link.acted.emit(self.tr("Export CSV"),
                             self.tr("{0} rows written to {1}").format(rows, path))
        return rows

    def export_png(self, path: Path) -> None:
        """Save the plot as drawn now to `path`."""
        self.plot.redraw()
        if not self.plot.grab().save(str(path)):
            self.link.refused.emit(self.tr("Export PNG"),
                                   self.tr("could not write {0}").format(path))
            return
        self.link.acted.emit(self.tr("Export PNG"), self.tr("saved to {0}").format(path))

    def _ask_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export CSV"), "trend.csv",
                                              self.tr("CSV (*.csv)"))
        if path and self.trend.pens:
            self.export_csv(Path(path))

    def _ask_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export PNG"), "trend.png",
                                              self.tr("PNG (*.png)"))
        if path:
            self.export_png(Path(path))
