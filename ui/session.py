"""Who is logged in on this panel: a person who logged in with their password, or the panel's
own login (the one `lineside` attached with), and the automatic logout of a person after an
idle period the administrator sets (`panel_idle_logout_s` in the runtime's settings, sent
with every login), since panels are shared.

Logging in or out re-attaches the link with the other credentials: the runtime then sees a
new session, audited as a login, and every page follows the link's signals as after a
reconnection.
"""

from __future__ import annotations

import asyncio
import time

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from runtime.client import Credentials
from ui.link import Link, Target

INPUT_EVENTS = frozenset({
    QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin, QEvent.Type.KeyPress,
    QEvent.Type.Wheel, QEvent.Type.TabletPress,
})
"""What counts as a person at the panel."""
CHECK_MS = 1000


class PanelSession(QObject):
    """Log a person in and out over the panel's own login; log them out when idle."""

    changed = Signal()
    """The person logged in changed (or the panel's login is back)."""
    logged_out_idle = Signal(float)
    """A person was logged out after this many seconds without a touch."""
    login_refused = Signal(str, str)
    """A person's login was refused: (user, why); the panel's own login is back."""

    def __init__(self, link: Link, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._link = link
        self._panel: Target | None = None
        self.person: str = ""
        """The user logged in with a password ("" while the panel's own login is used)."""
        self.last_input = time.monotonic()
        self._switching: asyncio.Task[None] | None = None
        link.login_refused.connect(self._refused)
        self._idle = QTimer(self)
        self._idle.setInterval(CHECK_MS)
        self._idle.timeout.connect(self._check_idle)
        self._idle.start()
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    @property
    def idle_logout_s(self) -> float:
        """The administrator's idle period (0: never), as the runtime last said."""
        client = self._link.client
        return float(client.whoami.get("idle_logout_s", 0.0)) if client else 0.0

    def log_in(self, user: str, password: str) -> None:
        """Re-attach as `user`; a refusal comes back on link.login_refused, and the panel's
        own login is then restored."""
        current = self._link.target
        if current is None:
            raise RuntimeError("the link is not attached")
        if self._panel is None:
            self._panel = current
        self.person = user
        self._switch(Target(current.url, Credentials(user=user, password=password),
                            current.fingerprint))

    def log_out(self) -> None:
        """Back to the panel's own login."""
        if self._panel is None or not self.person:
            return
        self.person = ""
        self._switch(self._panel)

    def _refused(self, reason: str) -> None:
        """A person's login was refused: say why and go back to the panel's own login."""
        if self._panel is None or not self.person:
            return
        user, self.person = self.person, ""
        self.login_refused.emit(user, reason)
        self._switch(self._panel)

    def _switch(self, target: Target) -> None:
        async def switch() -> None:
            await self._link.close()
            self._link.attach(target)
            self.changed.emit()
        # Not one of the link's tasks: closing the link cancels those.
        self._switching = asyncio.get_running_loop().create_task(switch(),
                                                                 name="hmi:session-switch")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in INPUT_EVENTS:
            self.last_input = time.monotonic()
        return False

    def _check_idle(self) -> None:
        limit = self.idle_logout_s
        if not self.person or limit <= 0:
            return
        idle = time.monotonic() - self.last_input
        if idle >= limit:
            self.log_out()
            self.logged_out_idle.emit(idle)
