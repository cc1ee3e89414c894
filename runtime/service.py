"""The runtime process: connection hubs, engine, actions, store and forwarder, as one.

`Runtime` owns one hub per connection of the deployed project, feeds their samples to the
engine and the store, and executes the engine's approved writes through the same hubs.
A deploy that changes a connection or its tags restarts only that connection's hub.
Everything an operator or a rule does to the plant is audited in the store.

Deploys, rollbacks and an operator's line-mode changes run one at a time (one lock). A
deploy is all-or-nothing: validate and build (nothing runs yet), build the hubs of changed
connections, save the version in the store, then swap; a failure in any step, a store that
cannot save included, refuses the deploy and leaves the running project as it was.
Every long-lived task runs under one Supervisor, so none can die silently; `status()`
shows the connections, each flow's failures and every task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Protocol

from runtime.actions import LiveActions, ShadowActions
from runtime.contracts import Event, EventKind, LineMode, LinesideError, Project, Sample
from runtime.contracts.errors import DriverError, ValidationFailed, WriteRefused
from runtime.contracts.project import Connection, Tag, document_hash
from runtime.contracts.status import ConnectionStatus, FlowStatus, RuntimeStatus
from runtime.drivers import make_hub
from runtime.drivers.base import Hub
from runtime.engine import DeployResult, Engine, FlowError
from runtime.engine.compare import Comparison, shadow_comparison
from runtime.engine.engine import ModelRunner
from runtime.engine.safety import check_person_write
from runtime.registry import NodeRegistry
from runtime.store import NotSaved, Store
from runtime.supervision import Supervisor
from runtime.sync.forwarder import Forwarder

log = logging.getLogger(__name__)
audit_log = logging.getLogger("lineside.audit")

ADVANCE_TASK = "advance"


class RuntimeListener(Protocol):
    """Told what happens in the runtime, synchronously and quickly (the API's topics)."""

    def samples(self, samples: list[Sample]) -> None:
        """Samples arrived from a connection."""

    def event(self, event: Event) -> None:
        """An event was recorded (alarms, writes, refusals, failures)."""

    def connection(self, status: ConnectionStatus) -> None:
        """A connection's status changed."""

    def line_mode(self, mode: str) -> None:
        """The line mode changed."""


class UnknownTag(LinesideError, KeyError):
    """No tag of that id in the deployed project."""

    def __str__(self) -> str:
        return str(self.args[0])


class StaleBase(LinesideError):
    """A deploy was edited from an older version than the one deployed now."""

    def __init__(self, latest: int, by: str, base: int) -> None:
        self.latest, self.by, self.base = latest, by, base
        super().__init__(f"version {latest} (by {by}) was deployed after version {base}, "
                         "which this document was edited from; start from version "
                         f"{latest} or deploy anyway without a base version")


class DeployRefused(LinesideError):
    """A deploy could not be completed (the store could not save it, a connection could
    not be built); the running project is unchanged."""


class Runtime:
    """The headless edge runtime: drivers → engine → actions, recorded in the store."""

    ADVANCE_INTERVAL_S = 0.25
    WATERMARK_GRACE_S = 1.0
    """How late a sample may arrive after its source timestamp and still count for the grid
    time it belongs to (models score the features of the samples before each grid time)."""
    SAVE_TIMEOUT_S = 5.0
    """How long a deploy waits for the store to save its version before it is refused (the
    store then drops the version for good, so it never turns up later)."""
    STOP_FLUSH_S = 3.0
    """How long stopping waits for the store to commit what is queued (SIGTERM ends in
    well under 10 s even with a degraded store)."""

    def __init__(self, registry: NodeRegistry, store: Store,
                 forwarder: Forwarder | None = None, clock: Callable[[], float] | None = None,
                 user: str = "runtime", models: ModelRunner | None = None,
                 supervisor: Supervisor | None = None, node_id: str = "") -> None:
        self.registry = registry
        self.store = store
        self.forwarder = forwarder
        self.clock = clock or wall_clock
        self.user = user
        self.node_id = node_id or socket.gethostname()
        # One supervisor for every long-lived task, the forwarder's included, so status()
        # shows them all.
        self.supervisor = supervisor or (forwarder.supervisor if forwarder is not None
                                         else Supervisor(self.clock))
        self.actions = LiveActions(self._write, self._rule_line_mode, self._record_event,
                                   self.audit, supervisor=self.supervisor)
        self.engine = Engine(registry, self.actions, clock=self.clock,
                             alarm_active=self._alarm_active, inference=models,
                             shadow_sink=self._shadow_sink, on_flow_error=self._on_flow_error)
        self.hubs: dict[str, Hub] = {}
        self.statuses: dict[str, ConnectionStatus] = {}
        self._hub_keys: dict[str, tuple[Connection, tuple[Tag, ...]]] = {}
        self._tag_connection: dict[str, str] = {}
        self._alarms: dict[str, bool] = {}
        self._changes = asyncio.Lock()
        self.listeners: list[RuntimeListener] = []
        self.started_ts = self.clock()
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
        stays in manual across a restart; alarm states come from the store.
        """
        self.started_ts = self.clock()
        self.engine.line_mode = self._recorded_line_mode()
        self._alarms = {a.alarm: True for a in self.store.active_alarms(include_shelved=True)
                        if a.active}
        self.actions.start()
        if self.forwarder is not None:
            await self.forwarder.start()
        latest = self.store.latest_version()
        if doc is None and latest is not None:
            doc = self.store.version(latest.number)
            log.info("runtime.resume version=%d hash=%s", latest.number, latest.hash[:12])
        result = await self.deploy(doc, comment="start") if doc is not None else None
        self.supervisor.start(ADVANCE_TASK, self._advance_loop)
        notify_systemd("READY=1")
        return result

    async def stop(self) -> None:
        """Disconnect every hub, stop the write worker and the forwarder, commit the store.

        Bounded: what the store could not commit within STOP_FLUSH_S is counted and logged,
        never waited for."""
        notify_systemd("STOPPING=1")
        await self.supervisor.stop(ADVANCE_TASK)
        await asyncio.gather(*(hub.stop() for hub in self.hubs.values()))
        self.hubs.clear()
        self._hub_keys.clear()
        await self.actions.stop()
        if self.forwarder is not None:
            await self.forwarder.stop()
        await self.supervisor.stop_all()
        try:
            await asyncio.wait_for(self.store.flush(), self.STOP_FLUSH_S)
        except (TimeoutError, LinesideError) as exc:
            status = self.store.status()
            log.error("runtime.stop_unsaved pending=%d degraded=%r error=%r", status.pending,
                      status.degraded, str(exc) or "timed out")

    async def deploy(self, doc: dict[str, Any], user: str | None = None, comment: str = "",
                     action: str = "deploy", base_version: int | None = None,
                     role: str = "") -> DeployResult:
        """Validate, build, save as a version and swap in a project; reconcile hubs.

        With `base_version` (the version the document was edited from), a newer deployed
        version refuses it with StaleBase naming that version. Raises ValidationFailed,
        BuildError, StaleBase or DeployRefused and changes nothing when the project is bad
        or cannot be saved; the refusal is audited with every problem."""
        who = user or self.user
        async with self._changes:
            try:
                self._check_base(base_version)
                plan = self.engine.prepare(doc)
                stale, fresh = self._plan_hubs(plan.project)
                number = await self._save_version(doc, who, comment)
            except Exception as exc:
                self.audit(action, "project", "refused", user=who, role=role,
                           details={**_refusal(exc), "comment": comment})
                raise
            result = self.engine.swap(plan)
            self.audit(action, "project", "ok", user=who, role=role,
                       details={"version": number, "hash": result.project_hash,
                                "started": list(result.started), "kept": list(result.kept),
                                "stopped": list(result.stopped), "comment": comment})
            await self._swap_hubs(plan.project, stale, fresh)
            return result

    async def rollback(self, number: int, user: str | None = None,
                       role: str = "") -> DeployResult:
        """Deploy an earlier version again (UnknownVersion when there is none)."""
        doc = await self.store.read(self.store.version, number)
        return await self.deploy(doc, user, comment=f"rollback to version {number}",
                                 action="rollback", role=role)

    async def set_line_mode(self, mode: str, user: str | None = None, cause: str = "",
                            role: str = "") -> int:
        """Switch the line between automatic and manual (manual stops AI-driven writes,
        queued ones included: returns how many were cancelled); waits for a deploy in
        progress to finish first."""
        async with self._changes:
            return self._apply_line_mode(mode, user or self.user, cause or "operator", role)

    async def write_tag(self, tag_id: str, value: Any, user: str, role: str = "") -> float:
        """A person's write: inside the tag's envelope [min, max] (max step and interval
        pace rules, not people), in either line mode, audited with the user. Raises
        WriteRefused with the reason, or DriverError when the PLC does not take it."""
        project = self.engine.project
        tag = project.tags_by_id().get(tag_id) if project is not None else None
        if tag is None:
            raise UnknownTag(f"no tag '{tag_id}' in the deployed project")
        try:
            written = check_person_write(tag, value)
            await self.hub_for_tag(tag_id).write(tag_id, written)
        except (WriteRefused, DriverError) as exc:
            self.audit("write", tag_id, "refused" if isinstance(exc, WriteRefused)
                       else "failed", user=user, role=role, cause="person",
                       details={"value": value, "error": str(exc)})
            raise
        self.audit("write", tag_id, "ok", user=user, role=role, cause="person",
                   details={"value": written})
        return written

    def audit(self, action: str, target: str, result: str, *, user: str, role: str = "",
              cause: str = "", details: dict[str, Any] | None = None) -> None:
        """Record who did what in the store's audit log, and log it."""
        self.store.audit(user, role or _role_of(user), action, target, result, cause, details)
        level = logging.INFO if result == "ok" else logging.WARNING
        audit_log.log(level, "%s target=%s result=%s user=%s cause=%s details=%s", action,
                      target, result, user, cause, details or {})

    def ingest(self, samples: list[Sample]) -> None:
        """Samples from a connection: through the engine, then into the store (the drivers
        call this; they already report by exception with each tag's deadband, so the
        historian keeps exactly what the engine saw, which is what makes replays exact)."""
        self.samples_in += len(samples)
        self.engine.ingest(samples)
        self.store.append_samples(samples)
        for listener in self.listeners:
            listener.samples(samples)

    def advance(self) -> None:
        """Move the engine's watermark to the clock less the grace: models score up to it."""
        self.engine.advance(self.clock() - self.WATERMARK_GRACE_S)

    def alarm_active(self, alarm_id: str) -> bool:
        """Whether a live alarm's condition is active, as the runtime knows it now (not as
        the store last committed it)."""
        return self._alarms.get(alarm_id, False)

    def status(self) -> RuntimeStatus:
        """The whole runtime at this moment: connections, flows, tasks, store and sync."""
        project = self.engine.project
        flows = []
        for flow_id, compiled in self.engine.flows.items():
            health = compiled.health
            flows.append(FlowStatus(
                id=flow_id, label=compiled.flow.label, mode=compiled.flow.mode,
                state="failed" if health.failed else "running", errors=health.errors,
                last_error=health.last_error, last_error_ts=health.last_error_ts,
                distinct_errors=len(health.distinct)))
        store = {k: (str(v) if k in ("path", "recovered_from") and v is not None else v)
                 for k, v in _fields(self.store.status()).items()}
        sync = _fields(self.forwarder.status()) if self.forwarder is not None else None
        now = self.clock()
        return RuntimeStatus(
            version=runtime_version(), node_id=self.node_id, started_ts=self.started_ts,
            uptime_s=max(0.0, now - self.started_ts), line_mode=self.line_mode,
            project=project.name if project else "",
            project_hash=project.hash if project else "",
            connections=tuple(self.statuses[c] for c in sorted(self.statuses)),
            flows=tuple(flows), tasks=tuple(self.supervisor.status()),
            samples_in=self.samples_in, writes_done=self.actions.writes_done,
            writes_failed=self.actions.writes_failed, store=store, sync=sync)

    async def shadow_comparison(self, flow_id: str, live_flow_id: str, start: float,
                                end: float) -> Comparison:
        """How shadow flow `flow_id` compares with live flow `live_flow_id` over [start, end),
        both read from the store (so a comparison survives a restart), off the event loop;
        what is queued for the store is committed first (waiting at most STOP_FLUSH_S)."""
        with contextlib.suppress(TimeoutError, LinesideError):
            await asyncio.wait_for(self.store.flush(), self.STOP_FLUSH_S)
        return await self.store.read(shadow_comparison, self.store, flow_id, live_flow_id,
                                     start, end)

    def hub_for_tag(self, tag_id: str) -> Hub:
        """The hub serving a tag (KeyError when the tag is unknown)."""
        return self.hubs[self._tag_connection[tag_id]]

    # -- internals ----------------------------------------------------------------------

    def _plan_hubs(self, project: Project) -> tuple[list[str], dict[str, Hub]]:
        """Which running hubs a project replaces, and the new hubs (built, not started).

        A connection counts as changed when its settings or its tags differ by value (a new
        password included). Raises DriverError when a hub can't be built."""
        wanted = {conn.id: (conn, tuple(t for t in project.tags if t.connection == conn.id))
                  for conn in project.connections}
        stale = [c for c in self.hubs if self._hub_keys.get(c) != wanted.get(c)]
        fresh = {conn_id: make_hub(conn, tags, self.ingest, self._on_status, clock=self.clock,
                                   supervisor=self.supervisor)
                 for conn_id, (conn, tags) in wanted.items()
                 if conn_id not in self.hubs or conn_id in stale}
        return stale, fresh

    async def _swap_hubs(self, project: Project, stale: list[str],
                         fresh: dict[str, Hub]) -> None:
        for conn_id in stale:
            await self.hubs.pop(conn_id).stop()
            self._hub_keys.pop(conn_id, None)
        by_id = {conn.id: conn for conn in project.connections}
        for conn_id in [c for c in self.statuses if c not in by_id]:
            del self.statuses[conn_id]
        for conn_id, hub in fresh.items():
            self.hubs[conn_id] = hub
            self._hub_keys[conn_id] = (by_id[conn_id], tuple(
                t for t in project.tags if t.connection == conn_id))
            self.statuses[conn_id] = hub.status
            await hub.start()
        self._tag_connection = {t.id: t.connection for t in project.tags}

    def _check_base(self, base_version: int | None) -> None:
        if base_version is None:
            return
        latest = self.store.latest_version()
        if latest is not None and latest.number != base_version:
            raise StaleBase(latest.number, latest.user, base_version)

    async def _save_version(self, doc: dict[str, Any], user: str, comment: str) -> int:
        """The version number of `doc`, saved first when it differs from the latest."""
        latest = self.store.latest_version()
        if latest is not None and latest.hash == document_hash(doc):
            return latest.number
        degraded = self.store.status().degraded
        if degraded:
            raise DeployRefused(f"the store cannot save a new version ({degraded}); the "
                                "running project is unchanged")
        saving = self.store.save_version(doc, user, comment, within_s=self.SAVE_TIMEOUT_S)
        self.store.flush_future()  # commit now: a person is waiting for this deploy
        try:
            # The store answers by the deadline: saved, or dropped for good (NotSaved).
            version = await asyncio.wrap_future(saving)
        except NotSaved as exc:
            raise DeployRefused(f"{exc}; the running project is unchanged") from None
        return version.number

    async def _advance_loop(self) -> None:
        while True:
            await asyncio.sleep(self.ADVANCE_INTERVAL_S)
            self.advance()

    def _on_status(self, status: ConnectionStatus) -> None:
        self.statuses[status.connection] = status
        for listener in self.listeners:
            listener.connection(status)

    def _on_flow_error(self, failure: FlowError) -> None:
        if failure.first:
            self._record_event(Event(EventKind.FLOW_FAILED, failure.ts, failure.flow, "",
                                     {"error": failure.error, "where": failure.where,
                                      "errors": failure.errors}))

    def _record_event(self, event: Event) -> None:
        if event.kind in (EventKind.ALARM_RAISED, EventKind.ALARM_CLEARED) and not event.shadow:
            self._alarms[str(event.data["alarm"])] = event.kind == EventKind.ALARM_RAISED
            log.warning("%s alarm=%s priority=%s flow=%s ts=%.3f", event.kind,
                        event.data["alarm"], event.data.get("priority"), event.flow, event.ts)
        self.store.record_event(event)
        for listener in self.listeners:
            listener.event(event)

    def _shadow_sink(self, flow_id: str) -> ShadowActions:
        return ShadowActions(self.store.record_event)

    def _alarm_active(self, alarm_id: str) -> bool:
        return self.alarm_active(alarm_id)

    async def _write(self, tag_id: str, value: Any) -> None:
        await self.hub_for_tag(tag_id).write(tag_id, value)

    def _rule_line_mode(self, mode: str, event: Event) -> None:
        """A rule's line-mode request applies at once (between two dispatched batches; a
        deploy's swap has no await inside, so it can't fall into one)."""
        self._apply_line_mode(mode, "rule", f"flow={event.flow} node={event.node}")

    def _apply_line_mode(self, mode: str, user: str, cause: str, role: str = "") -> int:
        """Switch the line mode; in manual, rule writes already approved but not yet
        performed are cancelled too. Returns how many were."""
        if mode not in LineMode.ALL:
            raise ValueError(f"unknown line mode '{mode}'; use automatic or manual")
        previous, self.engine.line_mode = self.engine.line_mode, mode
        cancelled = (self.actions.cancel_queued("cancelled", f"line switched to manual by {user}")
                     if mode == LineMode.MANUAL else 0)
        self.audit("line_mode", mode, "ok", user=user, role=role, cause=cause,
                   details={"from": previous, "to": mode, "cancelled_writes": cancelled})
        for listener in self.listeners:
            listener.line_mode(mode)
        return cancelled

    def _recorded_line_mode(self) -> str:
        records = self.store.audit_records(0, float("inf"), action="line_mode", limit=1,
                                           newest_first=True)
        return records[0].target if records else LineMode.AUTOMATIC


def runtime_version() -> str:
    """The installed package's version."""
    try:
        return version("lineside")
    except PackageNotFoundError:
        return "0+unknown"


def wall_clock() -> float:
    """Epoch seconds in whole microseconds, the resolution the historian keeps, so a
    sample stamped by the runtime (Modbus) replays with exactly the stamp it had live."""
    return round(time.time() * 1e6) / 1e6


def _refusal(exc: BaseException) -> dict[str, Any]:
    """An audit record's details for a refused deploy: every problem with its path."""
    if isinstance(exc, ValidationFailed):
        return {"error": f"{len(exc.problems)} problem(s)",
                "problems": [{"path": p.path, "message": p.message} for p in exc.problems]}
    return {"error": str(exc) or type(exc).__name__}


def _fields(record: Any) -> dict[str, Any]:
    """A status dataclass (slots or not) as a plain dict."""
    names = getattr(record, "__dataclass_fields__", {})
    return {name: getattr(record, name) for name in names}


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


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
