"""The frame on every page: a header (line mode, runtime, role, clock) and the banner
(the runtime lost, or the most important active alarm)."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui.link import Link
from ui.session import PanelSession
from ui.theme import PRIORITY_SHAPES, Palette, alarm_colours, named

NOTICE_S = 8
"""How long the notice of a successful action stays."""


def top_alarm(alarms: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The alarm for the banner: the first (most important) active one not shelved."""
    for alarm in alarms:
        if alarm.get("active") and alarm.get("state") != "shelved":
            return alarm
    return None


def alarm_counts_text(widget: QWidget, alarms: list[dict[str, Any]]) -> str:
    """"▲ 3 active · ∥ 1 shelved" for the header and the alarms page ("" when none)."""
    active = sum(1 for a in alarms if a.get("active") and a.get("state") != "shelved")
    shelved = sum(1 for a in alarms if a.get("state") == "shelved")
    parts = []
    if active:
        parts.append(widget.tr("▲ {n} active").format(n=active))
    if shelved:
        parts.append(widget.tr("∥ {n} shelved").format(n=shelved))
    return " · ".join(parts)


class Frame(QWidget):
    """Header and banner; `banner_text()` is what the banner says ("" when hidden)."""

    def __init__(self, link: Link, session: PanelSession, palette: Palette, title: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = palette
        self._link = link
        self.session = session
        self._title = title
        self._mode = ""
        self._alarms: list[dict[str, Any]] = []

        header = named(QFrame(), "header")
        self.title = named(QLabel(), "headerTitle")
        self.counts = named(QLabel(), "headerInfo")
        self.plcs = named(QLabel(), "headerInfo")
        self.runtime = named(QLabel(), "headerInfo")
        self.clock = named(QLabel(), "headerInfo")
        self.user = named(QToolButton(), "userButton")
        self.user.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.user)
        self.log_in_action = menu.addAction(self.tr("Log in…"))
        self.log_in_action.triggered.connect(self.ask_login)
        self.log_out_action = menu.addAction(self.tr("Log out"))
        self.log_out_action.triggered.connect(session.log_out)
        self.user.setMenu(menu)
        row = QHBoxLayout(header)
        row.setContentsMargins(16, 4, 8, 4)
        row.setSpacing(24)
        row.addWidget(self.title)
        row.addStretch(1)
        for label in (self.counts, self.plcs, self.runtime, self.clock):
            row.addWidget(label)
        row.addWidget(self.user)

        self.banner = named(QLabel(), "banner")
        self.banner.setWordWrap(True)
        self.banner.hide()
        self.notice = named(QLabel(), "notice")
        self.notice.setWordWrap(True)
        self.notice.hide()
        self._notice_timer = QTimer(self)
        self._notice_timer.setSingleShot(True)
        self._notice_timer.timeout.connect(self.notice.hide)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(header)
        layout.addWidget(self.banner)
        layout.addWidget(self.notice)

        session.changed.connect(self._refresh)
        session.logged_out_idle.connect(lambda idle: self.tell(self.tr(
            "Logged out after {minutes:.0f} min without a touch").format(minutes=idle / 60)))
        session.login_refused.connect(lambda user, why: self.tell(self.tr(
            "✕ Log in as {user} — refused: {why}").format(user=user, why=why), refused=True))
        link.connected.connect(self._refresh)
        link.connections_changed.connect(lambda _statuses: self._refresh())
        link.acted.connect(lambda what, result: self.tell(f"✓ {what}: {result}"))
        link.refused.connect(lambda what, why: self.tell(
            self.tr("✕ {what} — refused: {why}").format(what=what, why=why), refused=True))
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

    def _show_user(self) -> None:
        """The user button: who is logged in and with which role; what the menu offers."""
        person, role = self.session.person, self._link.role
        if person:
            text = self.tr("{user} · {role}").format(user=person, role=role or "…")
        else:
            text = self.tr("Panel · {role}").format(role=role or "…")
        self.user.setText(text)
        self.log_out_action.setEnabled(bool(person))

    def ask_login(self) -> None:
        """Ask a person for their user name and password and log them in."""
        from ui.login import LoginDialog, answer

        target = self._link.target
        if target is None:
            return

        async def ask() -> None:
            dialog = LoginDialog(target.url, parent=self.window())
            self.login_dialog = dialog
            if await answer(dialog) == LoginDialog.DialogCode.Accepted:
                self.session.log_in(dialog.user.text().strip(), dialog.password.text())

        self._link.spawn(ask(), "login-dialog")

    def tell(self, text: str, refused: bool = False) -> None:
        """Say what happened to an action, for NOTICE_S (refusals stay until replaced)."""
        self.notice.setText(text)
        self.notice.setProperty("refused", refused)
        self.notice.style().unpolish(self.notice)
        self.notice.style().polish(self.notice)
        self.notice.show()
        if refused:
            self._notice_timer.stop()
        else:
            self._notice_timer.start(NOTICE_S * 1000)

    def notice_text(self) -> str:
        """What the notice line says now ("" when it is hidden)."""
        return self.notice.text() if not self.notice.isHidden() else ""

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
        self._show_user()
        if self._link.stale:
            self.counts.setText("")
            self.plcs.setText("")
            self.runtime.setText(self.tr("⌀ Runtime lost"))
            self._show_banner(self.tr("▲ Runtime lost — reconnecting…   values are stale"),
                              p.medium, p.on_low)
            return
        self.runtime.setText(self.tr("● Runtime"))
        self.counts.setText(alarm_counts_text(self, self._alarms))
        self.plcs.setText("   ".join(
            ("● " if status.get("state") == "connected" else "✕ ") + name
            for name, status in sorted(self._link.connections.items())))
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
