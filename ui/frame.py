"""The frame on every page: a header (line mode, runtime, role, clock) and the banner
(the runtime lost, or the most important active alarm)."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ui.link import Link
from ui.theme import PRIORITY_SHAPES, Palette, alarm_colours, named


def top_alarm(alarms: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The alarm for the banner: the first (most important) active one not shelved."""
    for alarm in alarms:
        if alarm.get("active") and alarm.get("state") != "shelved":
            return alarm
    return None


class Frame(QWidget):
    """Header and banner; `banner_text()` is what the banner says ("" when hidden)."""

    def __init__(self, link: Link, palette: Palette, title: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = palette
        self._link = link
        self._title = title
        self._mode = ""
        self._alarms: list[dict[str, Any]] = []

        header = named(QFrame(), "header")
        self.title = named(QLabel(), "headerTitle")
        self.runtime = named(QLabel(), "headerInfo")
        self.clock = named(QLabel(), "headerInfo")
        row = QHBoxLayout(header)
        row.setContentsMargins(16, 8, 16, 8)
        row.setSpacing(24)
        row.addWidget(self.title)
        row.addStretch(1)
        row.addWidget(self.runtime)
        row.addWidget(self.clock)

        self.banner = named(QLabel(), "banner")
        self.banner.setWordWrap(True)
        self.banner.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(header)
        layout.addWidget(self.banner)

        link.connected.connect(self._refresh)
        link.lost.connect(lambda _reason: self._refresh())
        link.alarms_changed.connect(self._on_alarms)
        link.line_mode_changed.connect(self._on_mode)
        self._clock = QTimer(self)
        self._clock.timeout.connect(self._tick)
        self._clock.start(1000)
        self._tick()
        self._refresh()

    def banner_text(self) -> str:
        """What the banner says now ("" when it is hidden)."""
        return self.banner.text() if not self.banner.isHidden() else ""

    def _on_alarms(self, alarms: list[dict[str, Any]]) -> None:
        self._alarms = alarms
        self._refresh()

    def _on_mode(self, mode: str) -> None:
        self._mode = mode
        self._refresh()

    def _tick(self) -> None:
        self.clock.setText(time.strftime("%H:%M:%S"))

    def _refresh(self) -> None:
        p = self.theme
        mode = {"automatic": self.tr("AUTOMATIC"), "manual": self.tr("MANUAL")}.get(
            self._mode, self._mode.upper())
        self.title.setText(f"{self._title} · {mode}" if mode and not self._link.stale
                           else self._title)
        if self._link.stale:
            self.runtime.setText(self.tr("⌀ Runtime lost"))
            self._show_banner(self.tr("▲ Runtime lost — reconnecting…   values are stale"),
                              p.medium, p.on_low)
            return
        role = self._link.role
        self.runtime.setText(self.tr("● Runtime connected · {role}").format(role=role)
                             if role else self.tr("● Runtime connected"))
        alarm = top_alarm(self._alarms)
        if alarm is None:
            self.banner.hide()
            return
        priority = str(alarm.get("priority", "medium"))
        raised = alarm.get("raised_ts")
        when = time.strftime("%H:%M", time.localtime(raised)) if raised else ""
        unacked = str(alarm.get("state", "")).endswith("-unacked")
        text = self.tr("{shape} {priority}   {message}   {when}{ack}").format(
            shape=PRIORITY_SHAPES.get(priority, "●"), priority=priority.upper(),
            message=alarm.get("message") or alarm.get("alarm", ""), when=when,
            ack=self.tr("   · unacknowledged") if unacked else "")
        background, foreground = alarm_colours(p, priority)
        self._show_banner(text, background, foreground)

    def _show_banner(self, text: str, background: str, foreground: str) -> None:
        self.banner.setText(text)
        self.banner.setStyleSheet(f"background: {background}; color: {foreground};")
        self.banner.show()
