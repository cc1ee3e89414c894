"""The "Sync" page: how far behind the cloud is. The outbox's depth and oldest record, the
drain rate, the last acknowledgement, what was dropped, the broker's state, and the backlog
over the last hours (sync.backlog) as a small plot."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QVBoxLayout, QWidget

from runtime.client import ApiError, Disconnected
from ui.link import Link
from ui.theme import Palette, named, value_font

BACKLOG_HOURS = 8.0
BACKLOG_REFRESH_MS = 30_000

def age_text(seconds: float | None) -> str:
    """A duration in words a person reads at a glance: 42 s, 3 min 5 s, 2 h 10 min."""
    if seconds is None:
        return "—"
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


class SyncPage(QWidget):
    """The store-and-forward status, live from the link's `sync` topic."""

    def __init__(self, link: Link, palette: Palette, target_px: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._link = link
        self.theme = palette
        self.values: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(32)
        grid.setVerticalSpacing(10)
        fields = (
            ("broker", self.tr("Broker")),
            ("queue", self.tr("Waiting in the outbox")),
            ("oldest", self.tr("Oldest record waiting")),
            ("drain", self.tr("Drain rate")),
            ("last_ack", self.tr("Last acknowledged by the broker")),
            ("dropped", self.tr("Dropped (outbox full)")),
            ("reconnects", self.tr("Reconnects")),
            ("error", self.tr("Last error")),
        )
        for row, (key, label) in enumerate(fields):
            name = named(QLabel(label), "fieldLabel")
            value = QLabel("—")
            value.setFont(value_font())
            value.setWordWrap(key == "error")
            grid.addWidget(name, row // 2 * 2, row % 2)
            grid.addWidget(value, row // 2 * 2 + 1, row % 2)
            self.values[key] = value
        panel = named(QFrame(), "panel")
        panel.setLayout(grid)

        self.plot = pg.PlotWidget(background=palette.panel)
        self.plot.setMinimumHeight(target_px * 4)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.setLabel("left", self.tr("records waiting"))
        self.plot.setAxisItems({"bottom": pg.DateAxisItem()})
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).setTextPen(palette.secondary)
            self.plot.getAxis(axis).setPen(palette.outline)
        self.curve = self.plot.plot(pen=pg.mkPen(palette.text, width=2), fillLevel=0,
                                    brush=pg.mkBrush(palette.outline + "60"), symbol="o",
                                    symbolSize=5, symbolBrush=palette.text, symbolPen=None)
        self.plot_note = named(QLabel(), "fieldLabel")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 16)
        layout.setSpacing(8)
        layout.addWidget(named(QLabel(self.tr("Sync to the cloud")), "pageTitle"))
        layout.addWidget(panel)
        layout.addWidget(named(QLabel(self.tr("Backlog over the last {h:g} hours").format(
            h=BACKLOG_HOURS)), "sectionTitle"))
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.plot_note)

        self._refresh = QTimer(self)
        self._refresh.setInterval(BACKLOG_REFRESH_MS)
        self._refresh.timeout.connect(self.fetch_backlog)
        link.sync_changed.connect(self.show_status)
        link.lost.connect(lambda _reason: self.show_status({}))
        link.connected.connect(self.fetch_backlog)
        self.show_status(link.sync)

    def showEvent(self, event: QShowEvent) -> None:
        self.fetch_backlog()
        self._refresh.start()
        super().showEvent(event)

    def hideEvent(self, event: Any) -> None:
        self._refresh.stop()
        super().hideEvent(event)

    def text(self, key: str) -> str:
        """What the page shows for a field (for tests)."""
        return self.values[key].text()

    def show_status(self, sync: dict[str, Any]) -> None:
        """Show a sync status (an empty one while the runtime is lost: all unknown)."""
        if self._link.stale or not sync:
            for value in self.values.values():
                value.setText(self.tr("⌀ unknown · runtime lost") if self._link.stale else "—")
            return
        state = str(sync.get("broker_state", ""))
        self.values["broker"].setText({
            "connected": self.tr("● Connected"),
            "connecting": self.tr("◌ Connecting"),
            "unreachable": self.tr("✕ Unreachable"),
            "disabled": self.tr("○ No broker configured: the outbox keeps everything"),
        }.get(state, state))
        records = int(sync.get("queue_records", 0))
        size = float(sync.get("queue_bytes", 0)) / 1e6
        self.values["queue"].setText(self.tr("{n} records ({mb:.1f} MB)").format(
            n=f"{records:,}", mb=size))
        self.values["oldest"].setText(age_text(sync.get("oldest_age_s")) if records else
                                      self.tr("none waiting"))
        self.values["drain"].setText(self.tr("{rate:.0f} records/s").format(
            rate=float(sync.get("drain_rate_per_s", 0.0))))
        last_ack = sync.get("last_ack_ts")
        self.values["last_ack"].setText(
            self.tr("{when} ({ago} ago)").format(
                when=time.strftime("%H:%M:%S", time.localtime(last_ack)),
                ago=age_text(time.time() - last_ack)) if last_ack else self.tr("never"))
        self.values["dropped"].setText(f"{int(sync.get('dropped_records', 0)):,}")
        self.values["reconnects"].setText(str(int(sync.get("reconnects", 0))))
        self.values["error"].setText(str(sync.get("last_error") or "—"))

    def fetch_backlog(self) -> None:
        """Ask the runtime for the backlog and draw it when it answers."""
        client = self._link.client
        if client is None or self._link.stale:
            return
        self._link.spawn(self._draw_backlog(client), "sync-backlog")

    async def _draw_backlog(self, client: Any) -> None:
        with contextlib.suppress(ApiError, Disconnected, TimeoutError):
            backlog = await client.sync_backlog(hours=BACKLOG_HOURS)
            self.curve.setData(backlog["ts"], backlog["records"])
            now = time.time()
            first = min(backlog["ts"], default=now)
            # From the first point (the runtime's start) when it is within the window.
            self.plot.setXRange(max(now - BACKLOG_HOURS * 3600, first - 300), now, padding=0)
            self.plot.setYRange(0, max(1, max(backlog["records"], default=0)) * 1.1)
            peak = max(backlog["records"], default=0)
            self.plot_note.setText(self.tr(
                "One point per {period:g} s: the most records waiting in it. Peak {peak:,}; "
                "kept since the runtime started.").format(period=backlog["period_s"],
                                                          peak=peak))
