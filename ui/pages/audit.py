"""The Audit page: who did what, when, to what, with which result, over a chosen time
range, filtered by action and user; refreshed when shown and on a button."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.audit_model import LIMIT, RANGES_S, AuditLog, AuditTableModel
from ui.link import Link
from ui.theme import Palette, named
from ui.widgets.table import table_view

_ALL = ""


class AuditPage(QWidget):
    """The audit log as a table, newest first."""

    def __init__(self, link: Link, palette: Palette, target_px: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.log = AuditLog(link, self)
        self._more = False
        title = named(QLabel(self.tr("Audit log")), "pageTitle")
        self.status = named(QLabel(), "hint")
        self.refresh_button = named(QPushButton(self.tr("⟳ Refresh")), "actionButton")
        self.refresh_button.setMinimumWidth(target_px * 3)
        self.refresh_button.clicked.connect(self.log.refresh)
        top = QHBoxLayout()
        top.addWidget(title)
        top.addSpacing(24)
        top.addWidget(self.status, 1)
        top.addWidget(self.refresh_button)

        filters = QHBoxLayout()
        filters.setSpacing(6)
        filters.addWidget(named(QLabel(self.tr("Last")), "hint"))
        self.range_buttons: dict[str, QPushButton] = {}
        labels = {"1h": self.tr("1 h"), "8h": self.tr("8 h"), "24h": self.tr("24 h"),
                  "7d": self.tr("7 d")}
        for key, seconds in RANGES_S.items():
            button = QPushButton(labels[key])
            button.setCheckable(True)
            button.setAutoExclusive(True)
            button.setMinimumWidth(target_px * 3 // 2)
            button.clicked.connect(lambda _=False, s=seconds: self.log.set_range(s))
            self.range_buttons[key] = button
            filters.addWidget(button)
        self.range_buttons["24h"].setChecked(True)
        filters.addSpacing(24)
        filters.addWidget(named(QLabel(self.tr("Action")), "hint"))
        self.action_box = self._combo(target_px)
        self.action_box.activated.connect(
            lambda _i: self.log.set_action(self.action_box.currentData() or _ALL))
        filters.addWidget(self.action_box)
        filters.addSpacing(12)
        filters.addWidget(named(QLabel(self.tr("User")), "hint"))
        self.user_box = self._combo(target_px)
        self.user_box.activated.connect(
            lambda _i: self._set_user(self.user_box.currentData() or _ALL))
        filters.addWidget(self.user_box)
        filters.addStretch(1)

        self.view = table_view(self.log.filtered, target_px)
        self.view.sortByColumn(AuditTableModel.TIME, Qt.SortOrder.DescendingOrder)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(AuditTableModel.DETAILS, QHeaderView.ResizeMode.Stretch)
        for column, width in ((AuditTableModel.TIME, 150), (AuditTableModel.USER, 140),
                              (AuditTableModel.ROLE, 90), (AuditTableModel.ACTION, 130),
                              (AuditTableModel.TARGET, 170), (AuditTableModel.RESULT, 110),
                              (AuditTableModel.NOTE, 190)):
            self.view.setColumnWidth(column, width)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 16)
        layout.setSpacing(10)
        layout.addLayout(top)
        layout.addLayout(filters)
        layout.addWidget(self.view, 1)

        self.log.loaded.connect(self._loaded)
        self.log.failed.connect(lambda why: self.status.setText(
            self.tr("✕ Could not read the audit log: {why}").format(why=why)))
        link.connected.connect(self._refresh_if_shown)
        self._fill(self.action_box, set(), self.tr("Every action"))
        self._fill(self.user_box, set(), self.tr("Every user"))

    def _combo(self, target_px: int) -> QComboBox:
        box = QComboBox()
        box.setMinimumSize(target_px * 4, target_px)
        return box

    def _fill(self, box: QComboBox, items: set[str], every: str) -> None:
        current = box.currentData() or _ALL
        box.clear()
        box.addItem(every, _ALL)
        for item in sorted(items | ({current} if current else set())):
            box.addItem(item, item)
        box.setCurrentIndex(max(0, box.findData(current)))

    def _set_user(self, user: str) -> None:
        self.log.set_user(user)
        self._show_count()

    def _loaded(self, _count: int, more: bool) -> None:
        self._fill(self.action_box, self.log.actions, self.tr("Every action"))
        self._fill(self.user_box, self.log.users, self.tr("Every user"))
        self._more = more
        self._show_count()

    def _show_count(self) -> None:
        shown = self.log.filtered.rowCount()
        text = self.tr("{n} records · read at {at}").format(
            n=shown, at=time.strftime("%H:%M:%S", time.localtime(self.log.loaded_at)))
        if self._more:
            text += self.tr(" · only the newest {limit}: choose a shorter range").format(
                limit=LIMIT)
        self.status.setText(text)

    def _refresh_if_shown(self) -> None:
        if self.isVisible():
            self.log.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.log.refresh()
