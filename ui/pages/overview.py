"""The Overview page: the line as an ISA-101 level-2 display, built from the deployed
document's `assets` only (no asset is named in code).

Each asset is a panel: its health score and key tags as analog bars (or on/off lamps), its
details as smaller values. Under the panels, the line: its mode, a confirmed switch between
automatic and manual, a one-touch "Stop AI writes", and the last few events. The controls
are disabled, with the reason shown, while the runtime is lost or for a viewer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from runtime.contracts.assets import Asset, AssetTag
from runtime.contracts.messages import EventKind
from ui.indicators import BAR, LAMP, NUMBER, ValueRow, format_number, reading_of
from ui.link import Link
from ui.overview_model import OverviewModel
from ui.theme import PRIORITY_SHAPES, Palette, named

COLUMNS = 2


def _range_words(low: float, high: float) -> str:
    return f"{low:g}\u2013{high:g}"


class ConfirmDialog(QMessageBox):
    """Asks before an action that moves the plant, saying what it will do; `confirm` is the
    button that goes ahead (tests click it)."""

    def __init__(self, parent: QWidget, title: str, text: str, go: str,
                 on_yes: Callable[[], Any]) -> None:
        super().__init__(parent)
        self.setIcon(QMessageBox.Icon.Question)
        self.setWindowTitle(title)
        self.setText(title)
        self.setInformativeText(text)
        self.confirm = self.addButton(go, QMessageBox.ButtonRole.AcceptRole)
        self.cancel = self.addButton(self.tr("Cancel"), QMessageBox.ButtonRole.RejectRole)
        self.setDefaultButton(self.cancel)
        self.buttonClicked.connect(lambda button: on_yes() if button is self.confirm else None)


class AssetPanel(QFrame):
    """One asset: name, description, health, key values, details."""

    def __init__(self, asset: Asset, model: OverviewModel, palette: Palette,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        named(self, "assetPanel")
        self.asset = asset
        self.rows: list[ValueRow] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(2)
        layout.addWidget(named(QLabel(asset.name), "assetTitle"))
        if asset.description:
            layout.addWidget(named(QLabel(asset.description), "assetInfo"))
        layout.addSpacing(6)
        health = asset.health
        if health is not None:
            hint = health.as_tag(self.tr("Health"))
            row = ValueRow(hint.label, "", hint, BAR, palette, source=health.source,
                           caption=self.tr("warn {warn} · alarm {alarm}").format(
                               warn=f"{health.warn:g}", alarm=f"{health.alarm:g}"),
                           state_words={"hi": self.tr("▲ WARN"), "lo": self.tr("▲ WARN"),
                                        "hi_hi": self.tr("◆ ALARM"),
                                        "lo_lo": self.tr("◆ ALARM")})
            self.rows.append(row)
            layout.addWidget(row)
        details = [t for t in asset.tags if t.role == "detail"]
        for hint in [t for t in asset.tags if t.role != "detail"]:
            layout.addWidget(self._row(hint, model, palette, detail=False))
        if details:
            line = QFrame()
            line.setFrameShape(QFrame.Shape.HLine)
            layout.addWidget(line)
            for hint in details:
                layout.addWidget(self._row(hint, model, palette, detail=True))
        layout.addStretch(1)

    def _row(self, hint: AssetTag, model: OverviewModel, palette: Palette,
             detail: bool) -> ValueRow:
        kind = (LAMP if model.types.get(hint.tag) == "bool"
                else BAR if hint.range is not None and not detail else NUMBER)
        row = ValueRow(hint.label or hint.tag, model.units.get(hint.tag, ""), hint, kind,
                       palette, caption=self._caption(hint), detail=detail)
        self.rows.append(row)
        return row

    def _caption(self, hint: AssetTag) -> str:
        parts = []
        if hint.normal is not None:
            parts.append(self.tr("n {band}").format(band=_range_words(*hint.normal)))
        words = {"lo_lo": "LL", "lo": "L", "hi": "H", "hi_hi": "HH"}
        parts += [f"{words[name]} {value:g}" for name, value in hint.limits.given()]
        return " · ".join(parts)


class OverviewPage(QWidget):
    """The assets' panels over the line's mode, controls and recent events."""

    def __init__(self, link: Link, palette: Palette, target_px: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = palette
        self.model = OverviewModel(link, self)
        self.panels: list[AssetPanel] = []
        self.confirmation: ConfirmDialog | None = None

        self.empty = named(QLabel(self.tr(
            "The deployed project has no assets: add an \"assets\" section to show its "
            "equipment here (see docs/project-format.md).")), "assetInfo")
        self.empty.setWordWrap(True)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(12)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.grid_host)

        bar = named(QFrame(), "lineBar")
        self.mode_label = named(QLabel(), "lineMode")
        self.mode_info = named(QLabel(), "assetInfo")
        self.mode_button = named(QPushButton(), "lineAction")
        self.mode_button.clicked.connect(self.ask_mode_change)
        self.stop_button = named(QPushButton(self.tr("■  Stop AI writes")), "lineAction")
        self.stop_button.clicked.connect(self.stop_ai_writes)
        for button in (self.mode_button, self.stop_button):
            button.setMinimumHeight(target_px)
        self.why_not = named(QLabel(), "assetInfo")
        self.recent = named(QLabel(), "recent")
        self.recent.setWordWrap(True)
        mode_text = QVBoxLayout()
        mode_text.setSpacing(0)
        mode_text.addWidget(self.mode_label)
        mode_text.addWidget(self.mode_info)
        controls = QHBoxLayout()
        controls.setSpacing(12)
        controls.addLayout(mode_text, 1)
        controls.addWidget(self.why_not)
        controls.addWidget(self.mode_button)
        controls.addWidget(self.stop_button)
        bar_layout = QVBoxLayout(bar)
        bar_layout.setContentsMargins(16, 10, 16, 10)
        bar_layout.setSpacing(6)
        bar_layout.addLayout(controls)
        bar_layout.addWidget(self.recent)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 0)
        layout.setSpacing(10)
        layout.addWidget(self.empty)
        layout.addWidget(scroll, 1)
        layout.addWidget(bar)

        self.model.assets_changed.connect(self._build)
        self.model.values_changed.connect(self._show_values)
        self.model.stale_changed.connect(lambda _stale: self._show_all())
        self.model.line_mode_changed.connect(lambda _mode: self._show_line())
        self.model.recent_changed.connect(self._show_recent)
        link.connected.connect(self._show_line)
        link.lost.connect(lambda _reason: self._show_line())
        self._build()
        self._show_line()
        self._show_recent(self.model.recent)

    # -- reading ------------------------------------------------------------------------

    @property
    def rows(self) -> list[ValueRow]:
        """Every value row of every panel, in order."""
        return [row for panel in self.panels for row in panel.rows]

    def row(self, source: str) -> ValueRow:
        """The (first) row showing a tag or flow output."""
        return next(r for r in self.rows if r.source == source)

    # -- actions ------------------------------------------------------------------------

    def ask_mode_change(self) -> None:
        """Ask to confirm the switch to the other mode; switch when confirmed."""
        if self.model.line_mode == "manual":
            self._confirm(self.tr("Switch the line to automatic?"), self.tr(
                "Rules may write to the plant again (setpoints within their envelopes, only "
                "on good values). Alarms are raised as before."),
                self.tr("▶  Switch to automatic"), lambda: self.model.set_mode("automatic"))
        else:
            self._confirm(self.tr("Switch the line to manual?"), self.tr(
                "Rules stop writing to the plant at once, and writes they have queued are "
                "cancelled. The plant keeps its current setpoints; alarms are still raised. "
                "Switch back to automatic to let the rules act again."),
                self.tr("‖  Switch to manual"), lambda: self.model.set_mode("manual"))

    def stop_ai_writes(self) -> None:
        """One touch: the line to manual and every queued rule write cancelled."""
        self.model.stop_ai_writes()

    def _confirm(self, title: str, text: str, go: str, on_yes: Callable[[], Any]) -> None:
        if self.confirmation is not None:
            self.confirmation.close()
        self.confirmation = ConfirmDialog(self, title, text, go, on_yes)
        self.confirmation.open()

    # -- showing ------------------------------------------------------------------------

    def _build(self) -> None:
        for panel in self.panels:
            self.grid.removeWidget(panel)
            panel.deleteLater()
        self.panels = [AssetPanel(asset, self.model, self.theme) for asset in self.model.assets]
        for index, panel in enumerate(self.panels):
            self.grid.addWidget(panel, index // COLUMNS, index % COLUMNS)
        self.empty.setVisible(not self.panels and not self.model.stale
                              and self.model.version is not None)
        self._show_all()

    def _show_values(self, sources: list[str]) -> None:
        changed = set(sources)
        for row in self.rows:
            if row.source in changed:
                row.set_reading(reading_of(self.model.sample(row.source), self.model.stale))

    def _show_all(self) -> None:
        for row in self.rows:
            row.set_reading(reading_of(self.model.sample(row.source), self.model.stale))
        self._show_line()

    def _show_line(self) -> None:
        mode = "" if self.model.stale else self.model.line_mode
        if mode == "manual":
            self.mode_label.setText(self.tr("‖ Line in MANUAL"))
            self.mode_info.setText(self.tr("Rules do not write to the plant."))
            self.mode_button.setText(self.tr("▶  Automatic…"))
        elif mode == "automatic":
            self.mode_label.setText(self.tr("▶ Line in AUTOMATIC"))
            self.mode_info.setText(self.tr("Rules write setpoints within their envelopes."))
            self.mode_button.setText(self.tr("‖  Manual mode…"))
        else:
            self.mode_label.setText(self.tr("⌀ Line mode unknown"))
            self.mode_info.setText(self.tr("The runtime is not connected."))
            self.mode_button.setText(self.tr("‖  Manual mode…"))
        why_not = self.model.may_act_why_not()
        self.why_not.setText(why_not)
        self.why_not.setVisible(bool(why_not))
        self.mode_button.setEnabled(not why_not and bool(mode))
        self.stop_button.setEnabled(not why_not and mode == "automatic")
        if why_not and self.confirmation is not None:
            self.confirmation.close()

    def _show_recent(self, events: list[dict[str, Any]]) -> None:
        if not events:
            self.recent.setText(self.tr("Recent: nothing in the last 24 h"))
            return
        self.recent.setText(self.tr("Recent:  ") + "   ·   ".join(
            self._event_text(e) for e in events))

    def _event_text(self, event: dict[str, Any]) -> str:
        when = time.strftime("%H:%M:%S", time.localtime(float(event.get("ts") or 0)))
        data = event.get("data") or {}
        kind = event.get("kind")
        if kind == EventKind.ALARM_RAISED:
            shape = PRIORITY_SHAPES.get(str(data.get("priority", "")), "●")
            return self.tr("{when} {shape} {alarm} raised").format(
                when=when, shape=shape, alarm=data.get("alarm", ""))
        if kind == EventKind.WRITE:
            value = data.get("value")
            shown = format_number(float(value)) if isinstance(value, int | float) else value
            clamped = self.tr(" (clamped)") if data.get("clamped") else ""
            return self.tr("{when} rule {flow} set {tag} to {value}{clamped}").format(
                when=when, flow=event.get("flow", ""), tag=data.get("tag", ""), value=shown,
                clamped=clamped)
        if kind == EventKind.WRITE_REFUSED:
            return self.tr("{when} rule {flow} not written to {tag}: {reason}").format(
                when=when, flow=event.get("flow", ""), tag=data.get("tag", ""),
                reason=data.get("reason", ""))
        if kind == EventKind.LINE_MODE:
            return self.tr("{when} line to {mode}").format(
                when=when, mode=data.get("mode") or data.get("target") or "")
        return f"{when} {kind}"
