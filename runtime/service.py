"""The runtime process: connection hubs, engine and actions, started and stopped as one.

`Runtime` owns one hub per connection of the deployed project, feeds their samples to the
engine, and executes the engine's approved writes through the same hubs. A deploy that
changes a connection or its tags restarts only that connection's hub.
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
from runtime.alarms import AlarmBoard
from runtime.contracts import Event, LineMode, Project, Sample
from runtime.drivers import make_hub
from runtime.drivers.base import ConnectionStatus, Hub
from runtime.engine import DeployResult, Engine
from runtime.registry import NodeRegistry

log = logging.getLogger(__name__)
audit = logging.getLogger("lineside.audit")


class Runtime:
    """The headless edge runtime: drivers → engine → actions."""

    def __init__(self, registry: NodeRegistry, clock: Callable[[], float] = time.time,
                 user: str = "runtime") -> None:
        self.registry = registry
        self.clock = clock
        self.user = user
        self.board = AlarmBoard()
        self.actions = LiveActions(self._write, self._rule_line_mode, self.board)
        self.engine = Engine(registry, self.actions, clock=clock)
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
        """Start the write worker and, if given, deploy a project and connect its PLCs."""
        self.actions.start()
        notify_systemd("READY=1")
        return await self.deploy(doc) if doc is not None else None

    async def stop(self) -> None:
        """Disconnect every hub and stop the write worker."""
        notify_systemd("STOPPING=1")
        await asyncio.gather(*(hub.stop() for hub in self.hubs.values()))
        self.hubs.clear()
        await self.actions.stop()

    async def __aenter__(self) -> Runtime:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def deploy(self, doc: dict[str, Any], user: str | None = None) -> DeployResult:
        """Validate, build and swap in a project, then reconcile the connection hubs.

        Raises ValidationFailed or BuildError and changes nothing when the project is bad.
        """
        try:
            result = self.engine.deploy(doc)
        except Exception as exc:
            audit.warning("deploy user=%s result=refused error=%s", user or self.user,
                          str(exc).splitlines()[0])
            raise
        audit.info("deploy user=%s result=ok hash=%s started=%s kept=%s stopped=%s",
                   user or self.user, result.project_hash[:12], ",".join(result.started),
                   ",".join(result.kept), ",".join(result.stopped))
        await self._reconcile_hubs()
        return result

    def set_line_mode(self, mode: str, user: str | None = None, cause: str = "") -> None:
        """Switch the line between automatic and manual (manual stops AI-driven writes)."""
        if mode not in LineMode.ALL:
            raise ValueError(f"unknown line mode '{mode}'; use automatic or manual")
        previous, self.engine.line_mode = self.engine.line_mode, mode
        audit.info("line_mode user=%s from=%s to=%s cause=%s", user or self.user, previous,
                   mode, cause or "operator")

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

    def _on_samples(self, samples: list[Sample]) -> None:
        self.samples_in += len(samples)
        self.engine.ingest(samples)

    def _on_status(self, status: ConnectionStatus) -> None:
        self.statuses[status.connection] = status

    async def _write(self, tag_id: str, value: Any) -> None:
        await self.hub_for_tag(tag_id).write(tag_id, value)

    def _rule_line_mode(self, mode: str, event: Event) -> None:
        self.set_line_mode(mode, user="rule", cause=f"flow={event.flow} node={event.node}")


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
