"""The link to a runtime: a QObject view-model over RuntimeClient on the qasync loop.

Pages listen to its signals and never talk to the client themselves. It attaches (and keeps
trying until the runtime answers), subscribes to tag values, connection statuses, alarms
and the line mode, and says at once when the runtime is lost: `lost` is emitted and every
value counts as stale from that moment until the runtime is back and has replayed its
retained topics. The client reconnects, logs in and resubscribes by itself; the link only
watches it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal

from runtime.client import (
    ApiError,
    CertificateMismatch,
    Credentials,
    Disconnected,
    ErrorCode,
    RuntimeClient,
    Subscription,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

WATCH_S = 0.1
"""How often the link checks that the client is still connected."""
RETRY_CAP_S = 2.0
TOPICS = ("tags/*", "connections", "alarms", "line", "sync")


@dataclass(frozen=True)
class Target:
    """Where a runtime is and how to log in (`fingerprint` pins a wss:// certificate)."""

    url: str
    credentials: Credentials = field(repr=False)
    fingerprint: str | None = None


class Link(QObject):
    """One runtime's live state as Qt signals; `stale` is True whenever it is not connected."""

    connected = Signal()
    """Connected and logged in, subscriptions renewed (retained values follow)."""
    lost = Signal(str)
    login_refused = Signal(str)
    """The runtime refused the login or its certificate is not the pinned one (the reason);
    the link has stopped trying: attach again with other credentials."""
    """The runtime cannot be reached (the reason, in words); values are stale from now."""
    tags_defined = Signal(list)
    """The deployed tags' definitions (tags.list), on every (re)connection."""
    tag_value = Signal(str, float, object, int)
    """A tag's (id, ts, value, quality) as published."""
    connections_changed = Signal(dict)
    """Each connection's status {connection, state, since, last_error, reconnects}."""
    alarms_changed = Signal(list)
    """Every alarm not normal, most important first."""
    line_mode_changed = Signal(str)
    sync_changed = Signal(dict)
    """The store-and-forward status (as sync.status), about once a second."""
    acted = Signal(str, str)
    """An action asked of the runtime succeeded: (what was asked, what happened), in words."""
    refused = Signal(str, str)
    """An action asked of the runtime failed: (what was asked, why), in words."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.target: Target | None = None
        self.client: RuntimeClient | None = None
        self.last_error = ""
        self._up = False
        self._task: asyncio.Task[None] | None = None
        self._actions: set[asyncio.Task[Any]] = set()
        # The latest of each retained topic, for pages built after it arrived.
        self.tags: list[dict[str, Any]] = []
        self.alarms: list[dict[str, Any]] = []
        self.line_mode = ""
        self.sync: dict[str, Any] = {}
        self.connections: dict[str, dict[str, Any]] = {}
        self.values: dict[str, tuple[float, Any, int]] = {}
        """Each tag's latest (ts, value, quality) as published."""

    @property
    def stale(self) -> bool:
        """True when values are not current: not attached, or the runtime is lost."""
        return not self._up

    @property
    def role(self) -> str:
        """The role logged in with ("" when not connected)."""
        return str(self.client.whoami.get("role", "")) if self.client and self._up else ""

    def attach(self, target: Target) -> None:
        """Start attaching to `target` on the running loop; signals report what happens."""
        if self._task is not None:
            raise RuntimeError("the link is already attached; close it first")
        self.target = target
        self._task = asyncio.get_running_loop().create_task(self._run(target),
                                                            name=f"hmi-link:{target.url}")

    def act(self, what: str, request: Callable[[RuntimeClient], Awaitable[Any]],
            done: Callable[[Any], str] | None = None) -> asyncio.Task[Any] | None:
        """Ask the runtime for something on the operator's behalf and tell what happened:
        `acted(what, done(result))` or `refused(what, why)`. `what` names the action in words
        ("Acknowledge P101.health"); `request` gets the client. None when not connected."""
        client = self.client
        if client is None or self.stale:
            self.refused.emit(what, self.tr("the runtime is not connected"))
            return None

        async def run() -> Any:
            try:
                result = await request(client)
            except ApiError as exc:
                self.refused.emit(what, exc.message)
                raise
            except (Disconnected, TimeoutError) as exc:
                self.refused.emit(what, str(exc) or self.tr("no answer from the runtime"))
                raise
            self.acted.emit(what, done(result) if done else self.tr("done"))
            return result

        return self.spawn(run(), f"act:{what}")

    def spawn(self, work: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        """Run `work` (a page's read or action) on the loop; cancelled when the link closes,
        and logged if it fails with anything but an API error."""
        task = asyncio.get_running_loop().create_task(work, name=f"hmi:{name}")
        self._actions.add(task)
        task.add_done_callback(self._action_done)
        return task

    def _action_done(self, task: asyncio.Task[Any]) -> None:
        self._actions.discard(task)
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            if not isinstance(error, (ApiError, Disconnected, TimeoutError)):
                log.error("hmi.act_failed task=%s", task.get_name(), exc_info=error)

    async def close(self) -> None:
        """Detach: stop the client and every task (the runtime keeps running)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for action in list(self._actions):
            action.cancel()
        await asyncio.gather(*self._actions, return_exceptions=True)
        self._set_down("the HMI closed the link")

    async def _run(self, target: Target) -> None:
        client = RuntimeClient(target.url, target.credentials, fingerprint=target.fingerprint)
        self.client = client
        try:
            if not await self._connect(client):
                return
            subscriptions = [await client.subscribe(pattern) for pattern in TOPICS]
            pumps = [asyncio.create_task(self._pump(s), name=f"hmi-link:{s.pattern}")
                     for s in subscriptions]
            try:
                await self._watch(client)
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
        finally:
            await client.close()

    async def _connect(self, client: RuntimeClient) -> bool:
        """The first connection, tried until it succeeds (the client reconnects after);
        False when the login or the certificate is refused (trying again would not help,
        and repeated bad passwords lock the user)."""
        delay = 0.1
        while True:
            try:
                await client.connect()
                return True
            except CertificateMismatch as exc:
                return self._refuse_login(str(exc))
            except ApiError as exc:
                if exc.code == ErrorCode.UNAUTHENTICATED:
                    return self._refuse_login(exc.message)
                self._set_down(str(exc))
                log.info("hmi.link.attach_failed url=%s error=%s", client.url, exc)
            except (Disconnected, OSError) as exc:
                self._set_down(str(exc))
                log.info("hmi.link.attach_failed url=%s error=%s", client.url, exc)
            await asyncio.sleep(delay)
            delay = min(RETRY_CAP_S, delay * 2)

    async def _watch(self, client: RuntimeClient) -> None:
        """Follow the client's state: announce losses at once and refresh on return."""
        while True:
            if client.connected and not self._up:
                with contextlib.suppress(Disconnected, ApiError, TimeoutError):
                    tags = (await client.tags())["tags"]
                    self._up = True
                    self.last_error = ""
                    log.info("hmi.link.connected url=%s", client.url)
                    self.tags = list(tags)
                    self.connected.emit()
                    self.tags_defined.emit(tags)
            elif not client.connected and self._up:
                self._set_down(f"the connection to {client.url} closed")
            await asyncio.sleep(WATCH_S)

    def _refuse_login(self, reason: str) -> bool:
        self._set_down(reason)
        log.warning("hmi.link.login_refused url=%s reason=%s",
                    self.target.url if self.target else "-", reason)
        self._task = None
        self.login_refused.emit(reason)
        return False

    def _set_down(self, reason: str) -> None:
        first = self._up or not self.last_error
        self._up = False
        self.last_error = reason
        if first:
            log.info("hmi.link.lost reason=%s", reason)
        self.lost.emit(reason)

    async def _pump(self, subscription: Subscription) -> None:
        async for event in subscription:
            self._deliver(event.topic, event.data)

    def _deliver(self, topic: str, data: Any) -> None:
        if topic.startswith("tags/"):
            tag, ts = topic[len("tags/"):], float(data.get("ts") or 0.0)
            value, quality = data.get("value"), int(data.get("quality", 3))
            self.values[tag] = (ts, value, quality)
            self.tag_value.emit(tag, ts, value, quality)
        elif topic == "connections":
            self.connections = dict(data)
            self.connections_changed.emit(self.connections)
        elif topic == "alarms":
            self.alarms = list(data)
            self.alarms_changed.emit(self.alarms)
        elif topic == "line":
            self.line_mode = str(data.get("mode", ""))
            self.line_mode_changed.emit(self.line_mode)
        elif topic == "sync":
            self.sync = dict(data)
            self.sync_changed.emit(self.sync)
