"""The Rules page: tune a deployed flow's parameters against its recorded history.

Left: the flows, and the selected flow's tunables (slider and number, unit and range from
the node specs). Right: the preview (the flow's signals over a window with the thresholds
drawn on them, what fired live beside what would fire with the edit, a one-line summary),
the actions (apply with a comment, try in shadow; promote or stop a running shadow with its
comparison as it accrues), and the versions with a readable diff and rollback. Changes need
the engineer role; others see the controls disabled and why.
"""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListView,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ui.link import Link
from ui.rules_model import WINDOWS, Preview, RulesModel, Tunable
from ui.rules_trend import RulesTrend
from ui.theme import Palette, named, value_font
from ui.version_table import VersionTableModel
from ui.widgets.number_entry import NumberEntry

LEFT_PX = 380


STAGE_POLLS, STAGE_POLL_S = 600, 0.1
"""How long stage_screenshot waits for the page and its preview (60 s)."""


class RulesPage(QWidget):
    """A thin view over RulesModel; `previewed` once a preview is drawn."""

    previewed = Signal()

    def __init__(self, link: Link, palette: Palette, target_px: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = palette
        self.target_px = target_px
        self.model = RulesModel(link, self)
        self.entries: dict[tuple[str, str], NumberEntry] = {}
        self.dialog: QInputDialog | QMessageBox | None = None
        """The question open now (a comment to give, a rollback to confirm), if any."""

        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(16)
        layout.addWidget(self._left())
        self.tabs = QTabWidget()
        self.tabs.addTab(self._preview_tab(), self.tr("Preview"))
        self.tabs.addTab(self._versions_tab(), self.tr("Versions"))
        layout.addWidget(self.tabs, 1)

        m = self.model
        m.loaded.connect(self._on_loaded)
        m.flow_selected.connect(self._on_flow)
        m.edits_changed.connect(self._on_edits)
        m.preview_started.connect(self._on_preview_started)
        m.preview_progress.connect(self._on_progress)
        m.preview_ready.connect(self._on_preview)
        m.preview_failed.connect(self._on_preview_failed)
        m.comparison_changed.connect(self._on_comparison)
        m.versions_changed.connect(self.versions.set_versions)
        m.diff_ready.connect(self._on_diff)
        m.outdated.connect(self._on_outdated)
        m.role_changed.connect(self._update_enabled)
        self._update_enabled()

    # -- building -------------------------------------------------------------------------

    def _button(self, text: str, slot: Any, primary: bool = False) -> QPushButton:
        button = named(QPushButton(text), "primaryButton" if primary else "touchButton")
        button.setMinimumHeight(self.target_px)
        button.clicked.connect(slot)
        return button

    def _left(self) -> QWidget:
        left = QWidget()
        left.setFixedWidth(LEFT_PX)
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(6)
        column.addWidget(named(QLabel(self.tr("Rules")), "pageTitle"))
        column.addWidget(named(QLabel(self.tr("Deployed flows")), "sectionTitle"))
        self.flow_view = named(QListView(), "flowList")
        self.flow_view.setModel(self.model.flows)
        self.flow_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.flow_view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.flow_view.setUniformItemSizes(True)
        self.flow_view.setFixedHeight(self.target_px * 4 + 4)
        self.model.flows.row_px = self.target_px
        self.flow_view.clicked.connect(
            lambda index: self.model.select(str(index.data(Qt.ItemDataRole.UserRole))))
        column.addWidget(self.flow_view)
        self.tunables_title = named(QLabel(self.tr("Tunable parameters")), "sectionTitle")
        self.tunables_title.setWordWrap(True)
        column.addWidget(self.tunables_title)
        self.tunable_box = QWidget()
        self.tunable_layout = QVBoxLayout(self.tunable_box)
        self.tunable_layout.setContentsMargins(0, 0, 12, 0)
        self.tunable_layout.setSpacing(10)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.tunable_box)
        column.addWidget(scroll, 1)
        self.reason = named(QLabel(), "reason")
        self.reason.setWordWrap(True)
        column.addWidget(self.reason)
        self.discard = self._button(self.tr("↺ Back to deployed values"),
                                    self.model.discard_edits)
        column.addWidget(self.discard)
        return left

    def _preview_tab(self) -> QWidget:
        tab = QWidget()
        column = QVBoxLayout(tab)
        column.setContentsMargins(12, 12, 12, 12)
        column.setSpacing(8)
        row = QHBoxLayout()
        row.setSpacing(8)
        row.addWidget(named(QLabel(self.tr("Replay over")), "sectionLabel"))
        self.window_buttons = QButtonGroup(self)
        names = {"hour": self.tr("Last hour"), "shift": self.tr("Shift · 8 h"),
                 "day": self.tr("Day"), "week": self.tr("Week")}
        for i, (window, _seconds) in enumerate(WINDOWS):
            button = named(QPushButton(names[window]), "windowButton")
            button.setCheckable(True)
            button.setMinimumHeight(self.target_px)
            button.setChecked(window == self.model.window)
            button.clicked.connect(lambda _=False, w=window: self.model.set_window(w))
            self.window_buttons.addButton(button, i)
            row.addWidget(button)
        self.status = named(QLabel(), "previewStatus")
        self.status.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        row.addWidget(self.status, 1)
        column.addLayout(row)
        self.trend = RulesTrend(self.theme)
        column.addWidget(self.trend, 1)
        self.summary = named(QLabel(), "summary")
        self.summary.setFont(value_font())
        self.summary.setWordWrap(True)
        column.addWidget(self.summary)
        actions = QHBoxLayout()
        actions.setSpacing(12)
        self.apply_button = self._button(self.tr("✓ Apply…"), self.ask_apply, primary=True)
        self.shadow_button = self._button(self.tr("◐ Try in shadow"), self.try_in_shadow)
        self.edit_count = named(QLabel(), "editCount")
        actions.addWidget(self.apply_button)
        actions.addWidget(self.shadow_button)
        actions.addWidget(self.edit_count, 1)
        column.addLayout(actions)

        self.shadow_box = named(QFrame(), "shadowBox")
        box = QVBoxLayout(self.shadow_box)
        box.setContentsMargins(12, 8, 12, 8)
        box.setSpacing(6)
        self.shadow_title = named(QLabel(), "shadowTitle")
        self.shadow_lines = QLabel()
        self.shadow_lines.setWordWrap(True)
        buttons = QHBoxLayout()
        self.promote_button = self._button(self.tr("▲ Promote…"), self.ask_promote, True)
        self.stop_button = self._button(self.tr("■ Stop shadow"), self.model.stop_shadow)
        buttons.addWidget(self.promote_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        box.addWidget(self.shadow_title)
        box.addWidget(self.shadow_lines)
        box.addLayout(buttons)
        self.shadow_box.hide()
        column.addWidget(self.shadow_box)
        return tab

    def _versions_tab(self) -> QWidget:
        tab = QWidget()
        column = QVBoxLayout(tab)
        column.setContentsMargins(12, 12, 12, 12)
        column.setSpacing(8)
        self.versions = VersionTableModel(self)
        self.version_view = QTableView()
        self.version_view.setModel(self.versions)
        self.version_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.version_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.version_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.version_view.setShowGrid(False)
        self.version_view.verticalHeader().hide()
        self.version_view.verticalHeader().setDefaultSectionSize(self.target_px)
        header = self.version_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(VersionTableModel.COMMENT, QHeaderView.ResizeMode.Stretch)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.version_view.selectionModel().currentRowChanged.connect(self._on_version_row)
        column.addWidget(self.version_view, 3)
        self.diff_title = named(QLabel(self.tr("Pick a version to see what it changed")),
                                "sectionTitle")
        column.addWidget(self.diff_title)
        self.diff = named(QPlainTextEdit(), "diff")
        self.diff.setReadOnly(True)
        column.addWidget(self.diff, 2)
        row = QHBoxLayout()
        self.rollback_button = self._button(self.tr("↶ Roll back to this version…"),
                                            self.ask_rollback)
        row.addWidget(self.rollback_button)
        row.addStretch(1)
        column.addLayout(row)
        return tab

    # -- the model's news ---------------------------------------------------------------

    def _on_loaded(self) -> None:
        self._update_enabled()

    def _on_flow(self, flow: str) -> None:
        row = self.model.flows.row_of(flow)
        if row >= 0:
            self.flow_view.setCurrentIndex(self.model.flows.index(row))
        entry = self.model.entry()
        self.tunables_title.setText(self.tr("Tunable parameters of {flow}").format(
            flow=entry.label if entry else flow))
        while self.tunable_layout.count():
            item = self.tunable_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.entries.clear()
        for tunable in self.model.tunables:
            widget = NumberEntry(tunable.label, tunable.where, tunable.unit, tunable.minimum,
                                 tunable.maximum, tunable.step, tunable.decimals,
                                 self.target_px, tunable.limit_min, tunable.limit_max)
            widget.set_value(self.model.value(tunable))
            widget.edited.connect(lambda v, t=tunable: self.model.set_edit(t.node, t.param, v))
            self.entries[tunable.key] = widget
            self.tunable_layout.addWidget(widget)
        if not self.model.tunables:
            none = named(QLabel(self.tr("This flow has no tunable parameters.")), "reason")
            self.tunable_layout.addWidget(none)
        self.tunable_layout.addStretch(1)
        self.shadow_box.setVisible(bool(entry and entry.shadow))
        self._on_comparison(self.model.comparison)
        self._update_enabled()

    def _on_edits(self) -> None:
        for tunable in self.model.tunables:
            widget = self.entries.get(tunable.key)
            if widget is None:
                continue
            value = self.model.value(tunable)
            if abs(widget.value() - value) > tunable.step / 2:
                widget.set_value(value)
            widget.set_note(self._note(tunable))
        count = len(self.model.edits)
        self.edit_count.setText(self.tr("{n} edited, from version {v}").format(
            n=count, v=self.model.version) if count else self.tr("No edits: as deployed "
                                                                 "(version {v})").format(
            v=self.model.version))
        self._update_enabled()

    def _note(self, tunable: Tunable) -> str:
        if tunable.key not in self.model.edits:
            return self.tr("as deployed")
        deployed = f"{tunable.deployed:.{tunable.decimals}f} {tunable.unit}".strip()
        return self.tr("● edited · deployed {value}").format(value=deployed)

    def _on_preview_started(self) -> None:
        self.status.setText(self.tr("Replaying…"))

    def _on_progress(self, fraction: float) -> None:
        self.status.setText(self.tr("Replaying… {p:.0f} %").format(p=fraction * 100))

    def _on_preview(self, preview: Preview) -> None:
        self.trend.show_preview(preview)
        self.summary.setText(self.model.summary(preview))
        self.status.setText(self.tr("{n:,} samples · {s:.1f} s").format(
            n=preview.samples, s=preview.elapsed_s))
        self.previewed.emit()

    def _on_preview_failed(self, why: str) -> None:
        self.status.setText("")
        self.summary.setText(self.tr("✕ No preview: {why}").format(why=why))

    def _on_comparison(self, answer: dict[str, Any] | None) -> None:
        entry = self.model.entry()
        running = bool(entry and entry.shadow)
        self.shadow_box.setVisible(running)
        if not running:
            return
        shadow = self.model.entry(entry.shadow) if entry else None
        self.shadow_title.setText(self.tr("◐ Shadow copy running: {note}").format(
            note=(shadow.note if shadow and shadow.note else self.tr("same parameters"))))
        if answer is None:
            self.shadow_lines.setText(self.tr("Comparing with the live flow…"))
            return
        lines = answer.get("summary") or [self.tr("No alarms or writes on either side yet.")]
        self.shadow_lines.setText("\n".join(f"· {line}" for line in lines))

    def _on_version_row(self, current: Any, _previous: Any) -> None:
        if not current.isValid():
            return
        number = self.versions.number(current.row())
        self._update_enabled()
        if number <= 1:
            self.diff_title.setText(self.tr("Version 1: the first deploy"))
            self.diff.setPlainText("")
            return
        self.diff_title.setText(self.tr("What version {v} changed (from {p})").format(
            v=number, p=number - 1))
        self.model.load_diff(number - 1, number)

    def _on_diff(self, old: int, new: int, lines: list[str]) -> None:
        current = self.selected_version()
        if current != new:
            return
        self.diff.setPlainText("\n".join(lines) if lines else self.tr(
            "No change (the same document as version {v})").format(v=old))

    def _on_outdated(self, newest: int) -> None:
        self.edit_count.setText(self.tr("▲ Version {v} was deployed since you began editing: "
                                        "apply would conflict; go back to deployed values to "
                                        "continue from it").format(v=newest))

    def _update_enabled(self) -> None:
        m = self.model
        allowed = m.can_change
        self.reason.setText(m.why_not())
        self.reason.setVisible(not allowed)
        for widget in self.entries.values():
            widget.setEnabled(allowed)
        entry = m.entry()
        has_shadow = bool(entry and entry.shadow)
        self.apply_button.setEnabled(allowed and bool(m.edits))
        self.shadow_button.setEnabled(allowed and bool(m.flow) and not has_shadow)
        self.discard.setEnabled(allowed and bool(m.edits))
        self.promote_button.setEnabled(allowed and has_shadow)
        self.stop_button.setEnabled(allowed and has_shadow)
        for button in self.window_buttons.buttons():
            button.setEnabled(allowed)
        selected = self.selected_version()
        self.rollback_button.setEnabled(allowed and selected is not None
                                        and selected != m.latest_version)
        if not allowed:
            self.trend.clear_preview()
            self.status.setText("")
            self.summary.setText(self.tr("Previews need the engineer role.")
                                 if not m.link.stale else "")

    def selected_version(self) -> int | None:
        """The version selected in the Versions tab."""
        index = self.version_view.currentIndex()
        return self.versions.number(index.row()) if index.isValid() else None

    async def stage_screenshot(self) -> None:
        """For `make screenshots`: the health flow (or the first) with its first tunable
        lowered by a tenth of its range, and that edit's preview drawn."""
        model = self.model
        for _ in range(STAGE_POLLS):
            if model.tunables:
                break
            await asyncio.sleep(STAGE_POLL_S)
        if not model.tunables:
            return
        live = [flow for flow in ("p101_health",) if model.entry(flow) is not None]
        if live and model.flow != live[0]:
            model.select(live[0])
        tunable = model.tunables[0]
        model.set_edit(tunable.node, tunable.param,
                       tunable.deployed - (tunable.maximum - tunable.minimum) / 10)
        model.preview_now()
        for _ in range(STAGE_POLLS):
            if model.preview is not None and not model.previewing:
                return
            await asyncio.sleep(STAGE_POLL_S)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.model.set_active(True)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self.model.set_active(False)

    # -- questions ------------------------------------------------------------------------

    def ask_apply(self) -> None:
        """Ask for a comment, then deploy the edits as a new version."""
        entry = self.model.entry()
        changes = ", ".join(
            f"{t.param} {self.model.value(t):g}{' ' + t.unit if t.unit else ''}"
            for t in self.model.tunables if t.key in self.model.edits)
        self._ask_text(self.tr("Apply to the running plant"),
                       self.tr("Deploy {flow} with {changes} as a new version.\nComment:")
                       .format(flow=entry.label if entry else "",
                               changes=changes), self.model.apply)

    def try_in_shadow(self) -> None:
        """Start a shadow copy with the edits."""
        self.model.try_in_shadow()

    def ask_promote(self) -> None:
        """Ask for a comment, then make the shadow's parameters live."""
        self._ask_text(self.tr("Promote the shadow copy"),
                       self.tr("The shadow's parameters become the live flow's, as a new "
                               "version.\nComment:"), self.model.promote)

    def ask_rollback(self) -> None:
        """Ask to confirm, then deploy the selected version again."""
        version = self.selected_version()
        if version is None:
            return
        box = QMessageBox(QMessageBox.Icon.Warning, self.tr("Roll back"),
                          self.tr("Deploy version {v} again? The rules of the running plant "
                                  "change at once.").format(v=version),
                          QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel,
                          self)
        box.accepted.connect(lambda: self.model.rollback(version))
        self._open(box)

    def _ask_text(self, title: str, label: str, then: Any) -> None:
        dialog = QInputDialog(self)
        dialog.setWindowTitle(title)
        dialog.setLabelText(label)
        dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
        dialog.setMinimumWidth(520)
        dialog.textValueSelected.connect(lambda text: then(text.strip() or None))
        self._open(dialog)

    def _open(self, dialog: QInputDialog | QMessageBox) -> None:
        """Open a question without a nested event loop (the API client shares Qt's)."""
        self.dialog = dialog
        dialog.finished.connect(lambda _result: setattr(self, "dialog", None))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
