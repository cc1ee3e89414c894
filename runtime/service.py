"""The runtime process: connection hubs, engine, actions, store and forwarder, as one.

`Runtime` owns one hub per connection of the deployed project, feeds their samples to the
engine and the store, and executes the engine's approved writes through the same hubs.
A deploy that changes a connection or its tags restarts only that connection's hub.
Everything an operator or a rule does to the plant is audited in the store.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Any

from runtime.actions import LiveActions
from runtime.contracts import Event, LineMode, Project, Sample
from runtime.contracts.project import document_hash
from runtime.drivers import make_hub
from runtime.drivers.base import ConnectionStatus, Hub
from runtime.engine import DeployResult, Engine
from runtime.engine.compare import Comparison, shadow_comparison
from runtime.engine.engine import ModelRunner
from runtime.registry import NodeRegistry
from runtime.store import Store
from runtime.sync.forwarder import Forwarder

log = logging.getLogger(__name__)
audit_log = logging.getLogger("lineside.audit")


class Runtime:
    """The headless edge runtime: drivers → engine → actions, recorded in the store."""

    ADVANCE_INTERVAL_S = 0.25
    WATERMARK_GRACE_S = 1.0
    """How late a sample may arrive after its source timestamp and still count for the grid
    time it belongs to (models score the features of the samples before each grid time)."""

    def __init__(self, registry: NodeRegistry, store: Store,
                 forwarder: Forwarder | None = None, clock: Callable[[], float] | None = None,
                 user: str = "runtime", models: ModelRunner | None = None) -> None:
        self.registry = registry
        self.store = store
        self.forwarder = forwarder
        self.clock = clock or wall_clock
        self.user = user
        self.actions = LiveActions(self._write, self._rule_line_mode, self._record_event,
                                   self.audit)
        self.engine = Engine(registry, self.actions, clock=self.clock,
                             alarm_active=self._alarm_active, inference=models)
        self._advancing: asyncio.Task[None] | None = None
        self.hubs: dict[str, Hub] = {}
        self.statuses: dict[str, ConnectionStatus] = {}
        self._hub_keys: dict[str, str] = {}
        self._tag_connection: dict[str, str] = {}
        self.samples_in = 0

    @property
    def project(self) -> Project | None:
        """The deployed project."""
        return self.engine.project

    @property
    def line_mode(self) -> str:
        """The current line mode."""
        return self.engine.line_mode

    async def start(self, doc: dict[str, Any] | None = None) -> DeployResult | None:
        """Start; deploy `doc`, or else the last deployed version in the store, if any.

        The line mode is restored from the audit log: a line an operator left in manual
        stays in manual across a restart.
        """
        self.engine.line_mode = self._recorded_line_mode()
        self.actions.start()
        if self.forwarder is not None:
            await self.forwarder.start()
        latest = self.store.latest_version()
        if doc is None and latest is not None:
            doc = self.store.version(latest.number)
            log.info("runtime.resume version=%d hash=%s", latest.number, latest.hash[:12])
        result = await self.deploy(doc, comment="start") if doc is not None else None
        self._advancing = asyncio.create_task(self._advance(), name="lineside-advance")
        notify_systemd("READY=1")
        return result

    async def stop(self) -> None:
        """Disconnect every hub, stop the write worker and the forwarder, commit the store."""
        notify_systemd("STOPPING=1")
        if self._advancing is not None:
            self._advancing.cancel()
            await asyncio.gather(self._advancing, return_exceptions=True)
            self._advancing = None
        await asyncio.gather(*(hub.stop() for hub in self.hubs.values()))
        self.hubs.clear()
        await self.actions.stop()
        if self.forwarder is not None:
            await self.forwarder.stop()
        await self.store.flush()

    async def deploy(self, doc: dict[str, Any], user: str | None = None, comment: str = "",
                     action: str = "deploy") -> DeployResult:
        """Validate, build and swap in a project, record it as a version, reconcile hubs.

        Raises ValidationFailed or BuildError and changes nothing when the project is bad.
        """
        who = user or self.user
        try:
            result = self.engine.deploy(doc)
        except Exception as exc:
            self.audit(action, "project", "refused", user=who,
                       details={"error": str(exc).splitlines()[0], "comment": comment})
            raise
        latest = self.store.latest_version()
        if latest is None or latest.hash != document_hash(doc):
            version = await asyncio.wrap_future(self.store.save_version(doc, who, comment))
            number = version.number
        else:
            number = latest.number
        self.audit(action, "project", "ok", user=who,
                   details={"version": number, "hash": result.project_hash,
                            "started": list(result.started), "kept": list(result.kept),
                            "stopped": list(result.stopped), "comment": comment})
        await self._reconcile_hubs()
        return result

    async def rollback(self, number: int, user: str | None = None) -> DeployResult:
        """Deploy an earlier version again (UnknownVersion when there is none)."""
        doc = self.store.version(number)
        return await self.deploy(doc, user, comment=f"rollback to version {number}",
                                 action="rollback")

    def set_line_mode(self, mode: str, user: str | None = None, cause: str = "") -> None:
        """Switch the line between automatic and manual (manual stops AI-driven writes)."""
        if mode not in LineMode.ALL:
            raise ValueError(f"unknown line mode '{mode}'; use automatic or manual")
        previous, self.engine.line_mode = self.engine.line_mode, mode
        self.audit("line_mode", mode, "ok", user=user or self.user, cause=cause or "operator",
                   details={"from": previous, "to": mode})

    def audit(self, action: str, target: str, result: str, *, user: str, role: str = "",
              cause: str = "", details: dict[str, Any] | None = None) -> None:
        """Record who did what in the store's audit log, and log it."""
        self.store.audit(user, role or _role_of(user), action, target, result, cause, details)
        level = logging.INFO if result == "ok" else logging.WARNING
        audit_log.log(level, "%s target=%s result=%s user=%s cause=%s details=%s", action,
                      target, result, user, cause, details or {})

    def shadow_comparison(self, flow_id: str, live_flow_id: str, start: float,
                          end: float) -> Comparison:
        """How shadow flow `flow_id` compares with live flow `live_flow_id` over [start, end)."""
        capture = self.engine.shadow_captures().get(flow_id)
        if capture is None:
            raise KeyError(f"flow '{flow_id}' is not running in shadow mode")
        return shadow_comparison(self.store, capture, flow_id, live_flow_id, start, end)

    def hub_for_tag(self, tag_id: str) -> Hub:
        """The hub serving a tag (KeyError when the tag is unknown)."""
        return self.hubs[self._tag_connection[tag_id]]

    # -- internals ----------------------------------------------------------------------

    async def _reconcile_hubs(self) -> None:
        project = self.engine.project
        assert project is not None
        wanted: dict[str, tuple[Any, list[Any], str]] = {}
        for conn in project.connections:
            tags = [t for t in project.tags if t.connection == conn.id]
            wanted[conn.id] = (conn, tags, repr((conn, tags)))
        for conn_id in [c for c in self.hubs if wanted.get(c, (None, None, ""))[2]
                        != self._hub_keys.get(c)]:
            await self.hubs.pop(conn_id).stop()
            self._hub_keys.pop(conn_id, None)
        for conn_id, (conn, tags, key) in wanted.items():
            if conn_id in self.hubs:
                continue
            hub = make_hub(conn, tags, self._on_samples, self._on_status, clock=self.clock)
            self.hubs[conn_id] = hub
            self._hub_keys[conn_id] = key
            await hub.start()
        self._tag_connection = {t.id: t.connection for t in project.tags}

    async def _advance(self) -> None:
        """Move the engine's watermark with the clock, so models score on their grid."""
        while True:
            await asyncio.sleep(self.ADVANCE_INTERVAL_S)
            self.engine.advance(self.clock() - self.WATERMARK_GRACE_S)

    def _on_samples(self, samples: list[Sample]) -> None:
        # The drivers already report by exception with each tag's deadband: the historian
        # keeps exactly the samples the engine saw (which is what makes replays exact).
        self.samples_in += len(samples)
        self.engine.ingest(samples)
        self.store.append_samples(samples)

    def _on_status(self, status: ConnectionStatus) -> None:
        self.statuses[status.connection] = status

    def _record_event(self, event: Event) -> None:
        self.store.record_event(event)
        if event.kind.startswith("alarm.") and not event.shadow:
            log.warning("%s alarm=%s priority=%s flow=%s ts=%.3f", event.kind,
                        event.data["alarm"], event.data.get("priority"), event.flow, event.ts)

    def _alarm_active(self, alarm_id: str) -> bool:
        record = self.store.alarm(alarm_id)
        return record is not None and record.active

    async def _write(self, tag_id: str, value: Any) -> None:
        await self.hub_for_tag(tag_id).write(tag_id, value)

    def _rule_line_mode(self, mode: str, event: Event) -> None:
        self.set_line_mode(mode, user="rule", cause=f"flow={event.flow} node={event.node}")

    def _recorded_line_mode(self) -> str:
        records = self.store.audit_records(0, float("inf"), action="line_mode", limit=1,
                                           newest_first=True)
        return records[0].target if records else LineMode.AUTOMATIC


def wall_clock() -> float:
    """Epoch seconds in whole microseconds, the resolution the historian keeps, so a
    sample stamped by the runtime (Modbus) replays with exactly the stamp it had live."""
    return round(time.time() * 1e6) / 1e6


def _role_of(user: str) -> str:
    return "system" if user in ("runtime", "rule") else ""


def notify_systemd(state: str) -> None:
    """Tell systemd our state when run as a Type=notify service (no-op otherwise)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(state.encode(), address)
    except OSError as exc:
        log.warning("systemd.notify_failed error=%s", exc)
