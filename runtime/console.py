"""A readable console view of the runtime: live values, connections, alarms and writes.

Until the HMI exists this is what `make demo` shows. It reads the runtime's state only.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from rich.console import Console, Group, JustifyMethod
from rich.live import Live
from rich.table import Table
from rich.text import Text

from runtime.contracts import GOOD, EventKind, Quality
from runtime.service import Runtime

_PRIORITY_STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "yellow",
                   "low": "cyan"}


def render(runtime: Runtime) -> Group:
    """One frame of the view."""
    project = runtime.project
    header = Text.assemble(
        ("Lineside runtime  ", "bold"),
        (f"{project.name if project else '(no project)'}  ", ""),
        ("line mode: ", "dim"),
        (runtime.line_mode.upper(), "bold" if runtime.line_mode == "automatic" else
         "bold black on yellow"),
        (f"   {datetime.now():%H:%M:%S}", "dim"),
    )
    connections = Table(title="Connections", title_justify="left")
    for column in ("connection", "state", "since", "reconnects", "last error"):
        connections.add_column(column)
    for conn_id, status in sorted(runtime.statuses.items()):
        style = "" if status.connected else "bold red"
        connections.add_row(conn_id, Text(status.state, style=style),
                            f"{datetime.fromtimestamp(status.since):%H:%M:%S}",
                            str(status.reconnects), status.last_error[:60])
    values = Table(title="Live values", title_justify="left")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("tag", "left"), ("value", "right"), ("unit", "left"), ("quality", "left"),
        ("changed s ago", "right"))
    for column, justify in columns:
        values.add_column(column, justify=justify)
    now = time.time()
    for tag in project.tags if project else ():
        latest = runtime.engine.tag_values.get(tag.id)
        if latest is None:
            values.add_row(tag.id, "-", tag.unit, Text("no data", style="dim"), "")
            continue
        ts, value, quality = latest
        shown = f"{value:,.2f}" if isinstance(value, float) else str(value)
        q_text = Text(Quality(quality).name.lower(), style="" if quality == GOOD else "bold red")
        values.add_row(tag.id, shown, tag.unit, q_text, f"{max(now - ts, 0):.1f}")
    alarms = Table(title="Alarms", title_justify="left")
    for column in ("priority", "alarm", "state", "message", "since"):
        alarms.add_column(column)
    active = runtime.store.active_alarms(include_shelved=True)
    for alarm in active:
        style = _PRIORITY_STYLE.get(alarm.priority, "") if alarm.active else "dim"
        since = alarm.raised_ts or alarm.updated_ts
        alarms.add_row(Text(alarm.priority.upper(), style=style), alarm.alarm, alarm.state,
                       alarm.message, f"{datetime.fromtimestamp(since):%H:%M:%S}")
    if not active:
        alarms.add_row("", Text("no alarms", style="dim"), "", "", "")
    recent = Table(title="Recent rule actions", title_justify="left")
    for column in ("time", "flow", "what"):
        recent.add_column(column)
    for event in [e for e in runtime.actions.recent if e.kind != EventKind.ALARM_CLEARED][-6:]:
        recent.add_row(f"{datetime.fromtimestamp(event.ts):%H:%M:%S}", event.flow,
                       _describe(event.kind, event.data))
    return Group(header, connections, values, alarms, recent, _health(runtime),
                 _store_and_sync(runtime))


def _health(runtime: Runtime) -> Table:
    """Flows that failed and supervised tasks that crashed (nothing dies silently)."""
    status = runtime.status()
    table = Table(title="Flows and tasks", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("state")
    for flow in status.flows:
        if flow.state == "failed":
            table.add_row(f"flow {flow.id}", Text(f"FAILED x{flow.errors}: {flow.last_error[:70]}",
                                                  style="bold red"))
    for task in status.tasks:
        if task.crashes:
            style = "bold red" if task.state != "running" else "yellow"
            table.add_row(f"task {task.name}", Text(
                f"{task.state}, crashed {task.crashes}x: {task.last_error[:60]}", style=style))
    if not table.row_count:
        table.add_row(Text(f"{len(status.flows)} flows running, {len(status.tasks)} tasks "
                           "supervised, no failures", style="dim"), "")
    return table


def _store_and_sync(runtime: Runtime) -> Table:
    """Where the data is: committed in the store, waiting in the outbox, at the broker."""
    table = Table(title="Store and forward", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value")
    store = runtime.store.status()
    outbox = runtime.store.outbox_stats()
    degraded = Text(store.degraded, style="bold red") if store.degraded else Text("ok")
    table.add_row("store", Text.assemble(degraded, f"  {store.committed_samples:,} samples "
                                                   f"committed this run"))
    age = f", oldest {time.time() - outbox.oldest_ts:,.0f} s old" if outbox.oldest_ts else ""
    table.add_row("outbox", f"{outbox.records:,} records waiting{age}; "
                            f"{outbox.dropped_records:,} dropped")
    forwarder = runtime.forwarder
    if forwarder is None:
        table.add_row("broker", Text("not configured", style="dim"))
    else:
        sync = forwarder.status()
        config = forwarder.config
        style = "" if sync.broker_state == "connected" else "bold yellow"
        detail = f"  {sync.drain_rate_per_s:,.0f} records/s" if sync.broker_state == \
            "connected" else f"  {sync.last_error[:60]}"
        table.add_row("broker", Text.assemble((f"{config.host}:{config.port} ", ""),
                                              (sync.broker_state, style), detail))
    return table


def _describe(kind: str, data: dict) -> str:
    if kind == EventKind.WRITE:
        clamped = " (clamped to envelope)" if data.get("clamped") else ""
        return f"wrote {data['tag']} = {data['value']:g}{clamped}"
    if kind == EventKind.WRITE_REFUSED:
        return f"refused write to {data['tag']}: {data['reason']}"
    if kind == EventKind.ALARM_RAISED:
        return f"raised {data['alarm']}"
    return f"{kind} {data}"


async def run_console(runtime: Runtime, stop: asyncio.Event, refresh_s: float = 1.0) -> None:
    """Redraw the view until `stop` is set; on a non-terminal, print a frame every 10 s."""
    console = Console()
    if not console.is_terminal:
        while not stop.is_set():
            console.print(render(runtime))
            try:
                await asyncio.wait_for(stop.wait(), 10.0)
            except TimeoutError:
                pass
        return
    with Live(render(runtime), console=console, refresh_per_second=4, screen=False) as live:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), refresh_s)
            except TimeoutError:
                pass
            live.update(render(runtime))
