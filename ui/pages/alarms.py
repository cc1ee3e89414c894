"""The Alarms page: every alarm not normal, filtered and sorted, with large buttons to
acknowledge (with a note), shelve (for a chosen time, with a note) and unshelve.

The page is a thin view over ui.alarms_model: the table model, its filter and the actions,
which go through the link so the frame's notice line tells what happened. The actions are
disabled for a viewer and while the runtime is lost; the page says why under them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.alarms_model import (
    ALARM_ROLE,
    PRIORITIES,
    SHELVED,
    AlarmActions,
    AlarmFilter,
    AlarmTableModel,
    unacked,
)
from ui.link import Link
from ui.theme import PRIORITY_SHAPES, Palette, named
from ui.widgets.alarm_cells import PriorityBadge, ValueWithSource
from ui.widgets.keypad import NumberField, NumberRange
from ui.widgets.table import table_view

SHELVE_PRESETS_S = (15 * 60, 60 * 60, 8 * 60 * 60)
CUSTOM_SHELVE_MAX_MIN = 24 * 60
NOTE_MAX = 1000
"""The API's longest note."""


def _buttons(texts: list[tuple[str, str]], exclusive: bool,
             parent: QWidget) -> tuple[QHBoxLayout, QButtonGroup, dict[str, QPushButton]]:
    """A row of checkable buttons keyed by the first of each (key, label)."""
    row = QHBoxLayout()
    row.setSpacing(6)
    group = QButtonGroup(parent)
    group.setExclusive(exclusive)
    buttons = {}
    for key, label in texts:
        button = QPushButton(label)
        button.setCheckable(True)
        group.addButton(button)
        row.addWidget(button)
        buttons[key] = button
    return row, group, buttons


class NoteDialog(QDialog):
    """The frame of the ack and shelve dialogs: what it is about, a note, Cancel and OK."""

    def __init__(self, title: str, alarm: dict[str, Any], ok: str, target_px: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModal(True)
        self.setWindowTitle(title)
        self.alarm = str(alarm.get("alarm", ""))
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(24, 20, 24, 20)
        self.layout_.setSpacing(12)
        self.layout_.addWidget(named(QLabel(title), "pageTitle"))
        about = QLabel(f"{alarm.get('message') or self.alarm}   ({self.alarm})")
        about.setWordWrap(True)
        self.layout_.addWidget(about)
        self.note_edit = named(QLineEdit(), "noteField")
        self.note_edit.setMaxLength(NOTE_MAX)
        self.note_edit.setMinimumWidth(target_px * 12)
        self.note_edit.setPlaceholderText(self.tr("Note (what you saw or did)"))
        self.body = QVBoxLayout()
        self.layout_.addLayout(self.body)
        self.layout_.addWidget(named(QLabel(self.tr("Note")), "sectionTitle"))
        self.layout_.addWidget(self.note_edit)
        buttons = QHBoxLayout()
        buttons.setSpacing(12)
        self.cancel_button = named(QPushButton(self.tr("Cancel")), "actionButton")
        self.ok_button = named(QPushButton(ok), "actionButton")
        self.ok_button.setDefault(True)
        self.cancel_button.clicked.connect(self.reject)
        self.ok_button.clicked.connect(self.accept)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.ok_button)
        self.layout_.addSpacing(8)
        self.layout_.addLayout(buttons)

    def note(self) -> str:
        """The note typed ("" for none)."""
        return self.note_edit.text().strip()


class AckDialog(NoteDialog):
    """Acknowledge an alarm with a note."""

    def __init__(self, alarm: dict[str, Any], target_px: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Acknowledge alarm"), alarm, self.tr("✓ Acknowledge"),
                         target_px, parent)


class ShelveDialog(NoteDialog):
    """Shelve an alarm for 15 min, 1 h, 8 h or a number of minutes from the keypad."""

    def __init__(self, alarm: dict[str, Any], target_px: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Shelve alarm"), alarm, self.tr("∥ Shelve"), target_px,
                         parent)
        self.body.addWidget(named(QLabel(self.tr("For how long")), "sectionTitle"))
        labels = [(str(s), self.tr("15 min") if s == 900 else self.tr("{h} h").format(
            h=s // 3600)) for s in SHELVE_PRESETS_S] + [("custom", self.tr("Other…"))]
        row, self.presets, self.preset_buttons = _buttons(labels, True, self)
        for button in self.preset_buttons.values():
            button.setMinimumWidth(target_px * 2)
        self.minutes = NumberField(NumberRange(1, CUSTOM_SHELVE_MAX_MIN, 0, self.tr("min")),
                                   60, self.tr("Shelve for (minutes)"))
        self.minutes.setMinimumWidth(target_px * 3)
        self.minutes.valueChanged.connect(
            lambda _v: self.preset_buttons["custom"].setChecked(True))
        self.preset_buttons["custom"].clicked.connect(self.minutes.open_keypad)
        row.addWidget(self.minutes)
        row.addStretch(1)
        self.body.addLayout(row)
        self.preset_buttons[str(SHELVE_PRESETS_S[1])].setChecked(True)

    def choose(self, key: str) -> None:
        """Pick a preset by its seconds ("900", "3600", "28800") or "custom"."""
        self.preset_buttons[key].setChecked(True)

    def duration_s(self) -> float:
        """The chosen duration in seconds."""
        checked = next(k for k, b in self.preset_buttons.items() if b.isChecked())
        return self.minutes.value() * 60.0 if checked == "custom" else float(checked)


class AlarmsPage(QWidget):
    """The alarm list with filters, counts and the actions on the selected alarm."""

    def __init__(self, link: Link, palette: Palette, target_px: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.link = link
        self.target_px = target_px
        self.model = AlarmTableModel(link, palette, self)
        self.filter = AlarmFilter(self)
        self.filter.setSourceModel(self.model)
        self.alarm_actions = AlarmActions(link, self)
        self.dialog: NoteDialog | None = None
        self._selected: str | None = None

        title = named(QLabel(self.tr("Alarms")), "pageTitle")
        self.counts = named(QLabel(), "counts")
        top = QHBoxLayout()
        top.addWidget(title)
        top.addSpacing(24)
        top.addWidget(self.counts, 1)

        kinds = [("all", self.tr("All")), ("unacked", self.tr("Unacknowledged")),
                 ("active", self.tr("Active")), ("shelved", self.tr("∥ Shelved"))]
        kind_row, self.kind_group, self.kind_buttons = _buttons(kinds, True, self)
        self.kind_buttons["all"].setChecked(True)
        for key, button in self.kind_buttons.items():
            button.clicked.connect(lambda _=False, k=key: self.filter.set_kind(k))
        words = {"critical": self.tr("Critical"), "high": self.tr("High"),
                 "medium": self.tr("Medium"), "low": self.tr("Low")}
        priorities = [(p, f"{PRIORITY_SHAPES[p]} {words[p]}") for p in PRIORITIES]
        priority_row, self.priority_group, self.priority_buttons = _buttons(
            priorities, False, self)
        for button in self.priority_buttons.values():
            button.toggled.connect(lambda _on: self.filter.set_priorities(
                p for p, b in self.priority_buttons.items() if b.isChecked()))
        filters = QHBoxLayout()
        filters.setSpacing(12)
        filters.addWidget(named(QLabel(self.tr("Show")), "hint"))
        filters.addLayout(kind_row)
        filters.addSpacing(24)
        filters.addWidget(named(QLabel(self.tr("Priority")), "hint"))
        filters.addLayout(priority_row)
        filters.addStretch(1)

        self.view = table_view(self.filter, target_px)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setWordWrap(True)
        self.view.setItemDelegateForColumn(AlarmTableModel.PRIORITY, PriorityBadge(self.view))
        self.view.setItemDelegateForColumn(AlarmTableModel.VALUE, ValueWithSource(
            palette, self.view))
        self.view.sortByColumn(AlarmTableModel.PRIORITY, Qt.SortOrder.AscendingOrder)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(AlarmTableModel.MESSAGE, QHeaderView.ResizeMode.Stretch)
        for column, width in ((AlarmTableModel.PRIORITY, 110), (AlarmTableModel.STATE, 180),
                              (AlarmTableModel.RAISED, 96), (AlarmTableModel.VALUE, 260),
                              (AlarmTableModel.NOTE, 280)):
            self.view.setColumnWidth(column, width)
        self.view.selectionModel().selectionChanged.connect(self._on_selection)
        self.empty = named(QLabel(), "hint")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.selection_label = QLabel()
        self.selection_label.setWordWrap(True)
        self.ack_button = named(QPushButton(self.tr("✓ Acknowledge…")), "actionButton")
        self.shelve_button = named(QPushButton(self.tr("∥ Shelve…")), "actionButton")
        self.unshelve_button = named(QPushButton(self.tr("▶ Unshelve")), "actionButton")
        for button in (self.ack_button, self.shelve_button, self.unshelve_button):
            button.setMinimumSize(target_px * 4, target_px * 5 // 4)
        self.ack_button.clicked.connect(self.open_ack_dialog)
        self.shelve_button.clicked.connect(self.open_shelve_dialog)
        self.unshelve_button.clicked.connect(self.unshelve)
        self.why_not = named(QLabel(), "hint")
        self.why_not.setWordWrap(True)
        actions = QHBoxLayout()
        actions.setSpacing(max(12, target_px // 4))
        actions.addWidget(self.selection_label, 1)
        actions.addWidget(self.ack_button)
        actions.addWidget(self.shelve_button)
        actions.addWidget(self.unshelve_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 16)
        layout.setSpacing(10)
        layout.addLayout(top)
        layout.addLayout(filters)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.empty)
        layout.addLayout(actions)
        layout.addWidget(self.why_not)

        self.model.modelReset.connect(self._reselect)
        self.filter.layoutChanged.connect(self._reselect)
        self.filter.rowsRemoved.connect(lambda *_: self._refresh())
        self.filter.rowsInserted.connect(lambda *_: self._refresh())
        self.model.dataChanged.connect(lambda *_: self._refresh_soon())
        self.alarm_actions.changed.connect(self._refresh)
        link.alarms_changed.connect(lambda _alarms: self._refresh())
        self._refresh()

    # -- what a test or a dialog calls --------------------------------------------------

    def selected_alarm(self) -> dict[str, Any] | None:
        """The alarm selected (None when none, or it went back to normal)."""
        return self.model.alarm(self._selected) if self._selected else None

    def select(self, alarm_id: str) -> bool:
        """Select an alarm's row (as a tap does); False when it is not shown."""
        for row in range(self.filter.rowCount()):
            if self.filter.index(row, 0).data(ALARM_ROLE) == alarm_id:
                self.view.selectionModel().select(
                    self.filter.index(row, 0),
                    QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows)
                self.view.setCurrentIndex(self.filter.index(row, 0))
                self._selected = alarm_id
                self._refresh()
                return True
        return False

    def acknowledge(self, note: str = "") -> asyncio.Task[Any] | None:
        """Acknowledge the selected alarm with `note` (the runtime checks the role)."""
        alarm = self.selected_alarm()
        return self.alarm_actions.acknowledge(alarm["alarm"], note) if alarm else None

    def shelve(self, duration_s: float, note: str = "") -> asyncio.Task[Any] | None:
        """Shelve the selected alarm for `duration_s` with `note`."""
        alarm = self.selected_alarm()
        return self.alarm_actions.shelve(alarm["alarm"], duration_s, note) if alarm else None

    def unshelve(self) -> asyncio.Task[Any] | None:
        """Return the selected alarm from the shelf."""
        alarm = self.selected_alarm()
        return self.alarm_actions.unshelve(alarm["alarm"]) if alarm else None

    def open_ack_dialog(self) -> AckDialog | None:
        """Ask for a note, then acknowledge (the Acknowledge button)."""
        alarm = self.selected_alarm()
        if alarm is None:
            return None
        dialog = AckDialog(alarm, self.target_px, self.window())
        dialog.accepted.connect(lambda: self.acknowledge(dialog.note()))
        return self._open(dialog)

    def open_shelve_dialog(self) -> ShelveDialog | None:
        """Ask for a duration and a note, then shelve (the Shelve button)."""
        alarm = self.selected_alarm()
        if alarm is None:
            return None
        dialog = ShelveDialog(alarm, self.target_px, self.window())
        dialog.accepted.connect(lambda: self.shelve(dialog.duration_s(), dialog.note()))
        return self._open(dialog)

    def _open(self, dialog: NoteDialog) -> Any:
        self.dialog = dialog
        dialog.finished.connect(lambda _r: self._closed(dialog))
        dialog.open()
        return dialog

    def _closed(self, dialog: NoteDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()

    async def stage_screenshot(self) -> None:
        """For `make screenshots`: the most important alarm selected, in the bright half
        of its blink."""
        if self.filter.rowCount():
            self.select(str(self.filter.index(0, 0).data(ALARM_ROLE)))
        self.model.blink_on = True

    # -- keeping the view current -------------------------------------------------------

    def _on_selection(self, *_args: Any) -> None:
        rows = self.view.selectionModel().selectedRows()
        self._selected = rows[0].data(ALARM_ROLE) if rows else None
        self._refresh()

    def _reselect(self) -> None:
        if self._selected and not self.select(self._selected):
            self._selected = None
        self._refresh()

    def _refresh_soon(self) -> None:
        # dataChanged comes with every blink; only the counts and buttons can change then
        if not self.link.stale:
            self._refresh_buttons()

    def _refresh(self) -> None:
        counts = self.model.counts()
        parts = [self.tr("{n} listed").format(n=counts["all"]),
                 self.tr("▲ {n} active").format(n=counts["active"]),
                 self.tr("{n} unacknowledged").format(n=counts["unacked"]),
                 self.tr("∥ {n} shelved").format(n=counts["shelved"])]
        self.counts.setText("   ·   ".join(parts))
        if self.model.rowCount() == 0:
            self.empty.setText(self.tr("No alarms: every alarm is normal."))
        elif self.filter.rowCount() == 0:
            self.empty.setText(self.tr("No alarm matches the filter."))
        self.empty.setVisible(self.filter.rowCount() == 0)
        self._refresh_buttons()

    def _refresh_buttons(self) -> None:
        alarm = self.selected_alarm()
        allowed, why = self.alarm_actions.allowed()
        shelved = alarm is not None and alarm.get("state") == SHELVED
        self.ack_button.setEnabled(allowed and alarm is not None and unacked(alarm)
                                   and not shelved)
        self.shelve_button.setEnabled(allowed and alarm is not None and not shelved)
        self.unshelve_button.setEnabled(allowed and shelved)
        if alarm is None:
            self.selection_label.setText(self.tr("Select an alarm to act on it."))
        else:
            self.selection_label.setText(self.tr("Selected: {alarm} · {state}").format(
                alarm=alarm.get("alarm"), state=self.model.state_text(alarm)))
        self.why_not.setText(why)
        self.why_not.setVisible(bool(why))
