"""The API client: plain asyncio (no Qt), used by the HMI, the editor, tests and scripts.

`RuntimeClient` connects, logs in (with the local token or a user and password), sends
requests with timeouts, and keeps going by itself: when the connection drops it reconnects
with backoff, logs in again and subscribes again to every pattern, so its subscriptions
receive the retained topics anew and are current at once. Requests made while it is away
fail with Disconnected (they are not queued: the caller decides whether to retry).

Over TLS (wss://) the runtime's certificate is pinned by its SHA-256 fingerprint: a server
whose certificate does not match is refused before anything is sent. `fetch_fingerprint`
gets a server's fingerprint for asking a person once ("trust this runtime?").
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fnmatch
import itertools
import logging
import ssl
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from runtime.backoff import Backoff
from runtime.contracts.api import (
    DROPPED,
    HELLO,
    ApiError,
    Hello,
    fingerprint,
    request,
    same_fingerprint,
)
from runtime.contracts.errors import LinesideError

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024 * 1024
BACKTEST_TIMEOUT_S = 600.0
"""How long a backtest request may take by default (a week of history takes minutes)."""
CONNECTION_TEST_S = 5.0
"""The runtime's default timeout of connections.test."""
MODEL_UPLOAD_S = 60.0
"""How long an upload (sending, checking in onnxruntime, registering) may take."""


class Disconnected(LinesideError):
    """Not connected to the runtime (now): the request was not sent or got no answer."""


class CertificateMismatch(LinesideError):
    """The runtime's TLS certificate is not the pinned one: nothing was sent to it."""


@dataclass(frozen=True)
class Credentials:
    """How to log in: the local token, or a user and password (never shown in repr)."""

    token: str | None = field(default=None, repr=False)
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    def login_data(self) -> dict[str, Any]:
        """The data of auth.login."""
        if self.token is not None:
            return {"token": self.token}
        return {"user": self.user, "password": self.password}


@dataclass(frozen=True)
class Event:
    """A topic's update as received."""

    topic: str
    data: Any


class Subscription:
    """The events of one pattern, as an async iterator; `close()` unsubscribes.

    Its queue is bounded: if it is not read, its oldest events go first and `dropped`
    counts them."""

    def __init__(self, client: RuntimeClient, pattern: str, max_queue: int) -> None:
        self.client = client
        self.pattern = pattern
        self.dropped = 0
        self._events: deque[Event] = deque(maxlen=max_queue)
        self._ready = asyncio.Event()
        self._closed = False

    def _put(self, event: Event) -> None:
        if len(self._events) == self._events.maxlen:
            self.dropped += 1
        self._events.append(event)
        self._ready.set()

    async def next(self, timeout: float | None = None) -> Event:  # noqa: ASYNC109
        """The next event (TimeoutError after `timeout` seconds without one)."""
        async with asyncio.timeout(timeout):
            while not self._events:
                if self._closed:
                    raise StopAsyncIteration
                self._ready.clear()
                await self._ready.wait()
        return self._events.popleft()

    def pending(self) -> list[Event]:
        """Take every event received and not yet read."""
        events = list(self._events)
        self._events.clear()
        return events

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        return await self.next()

    async def close(self) -> None:
        """Unsubscribe."""
        if not self._closed:
            self._closed = True
            self._ready.set()
            await self.client._unsubscribe(self)


class RuntimeClient:
    """A connection to a runtime's API that logs in, resubscribes and reconnects by itself."""

    def __init__(self, url: str, credentials: Credentials, *, fingerprint: str | None = None,
                 request_timeout_s: float = 10.0, reconnect: bool = True,
                 backoff: Backoff | None = None) -> None:
        self.url = url
        self.credentials = credentials
        self.fingerprint = fingerprint
        self.request_timeout_s = request_timeout_s
        self.reconnect = reconnect
        self.hello: Hello | None = None
        self.whoami: dict[str, Any] = {}
        self.reconnects = 0
        self._backoff = backoff or Backoff(initial=0.1, cap=2.0)
        self._ws: ClientConnection | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._subscriptions: list[Subscription] = []
        self._keeper: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._up = asyncio.Event()
        self._closing = False

    # -- connecting -----------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Connected and logged in."""
        return self._up.is_set()

    async def connect(self) -> None:
        """Connect and log in once (raising what went wrong), then stay connected."""
        await self._session()
        self._keeper = asyncio.create_task(self._keep(), name=f"api-client:{self.url}")

    async def wait_connected(self, timeout: float) -> None:  # noqa: ASYNC109
        """Wait until connected and logged in (TimeoutError after `timeout`)."""
        await asyncio.wait_for(self._up.wait(), timeout)

    async def close(self) -> None:
        """Disconnect and stop reconnecting."""
        self._closing = True
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)
            self._keeper = None
        if self._ws is not None:
            await self._ws.close()
            self._ws = None
        self._lost("the client was closed")

    async def __aenter__(self) -> RuntimeClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _session(self) -> None:
        """Open the WebSocket, check the certificate, read hello, log in, resubscribe."""
        try:
            ws = await connect(self.url, ssl=self._ssl(), max_size=MAX_FRAME_BYTES,
                               open_timeout=self.request_timeout_s, compression=None,
                               ping_interval=20, ping_timeout=20)
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            raise Disconnected(f"cannot reach the runtime at {self.url}: {exc}") from exc
        try:
            self._check_certificate(ws)
            hello = orjson.loads(await asyncio.wait_for(ws.recv(), self.request_timeout_s))
            if not isinstance(hello, dict) or hello.get("topic") != HELLO:
                raise Disconnected(f"{self.url} is not a Lineside runtime (no hello)")
            data = hello["data"]
            self.hello = Hello(data["protocol"], data["runtime_version"], data["node_id"],
                               tuple(data.get("auth", ())))
        except BaseException:
            await ws.close()
            raise
        self._ws = ws
        reader = asyncio.create_task(self._read(ws), name=f"api-client-read:{self.url}")
        try:
            self.whoami = await self._send(ws, "auth.login", self.credentials.login_data())
            for subscription in self._subscriptions:
                await self._send(ws, "subscribe", {"pattern": subscription.pattern})
        except BaseException:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await ws.close()
            raise
        self._reader = reader
        self._up.set()
        self._backoff.reset()

    async def _keep(self) -> None:
        """Wait for the connection to drop; reconnect (log in, resubscribe) with backoff."""
        while True:
            await self._reader_done()
            if not self.reconnect or self._closing:
                return
            while True:
                await asyncio.sleep(self._backoff.next())
                try:
                    await self._session()
                    self.reconnects += 1
                    log.info("api_client.reconnected url=%s reconnects=%d", self.url,
                             self.reconnects)
                    break
                except (Disconnected, ApiError, ConnectionClosed, OSError) as exc:
                    log.info("api_client.reconnect_failed url=%s error=%s", self.url, exc)

    async def _reader_done(self) -> None:
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    def _ssl(self) -> ssl.SSLContext | None:
        if not self.url.startswith("wss://"):
            return None
        if self.fingerprint is None:
            return ssl.create_default_context()
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the pinned fingerprint is checked instead
        return context

    def _check_certificate(self, ws: ClientConnection) -> None:
        if self.fingerprint is None or not self.url.startswith("wss://"):
            return
        ssl_object = ws.transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        got = fingerprint(der) if der else "none"
        if not same_fingerprint(got, self.fingerprint):
            raise CertificateMismatch(f"the runtime at {self.url} presented a certificate "
                                      f"with fingerprint {got}, not the pinned "
                                      f"{self.fingerprint}: refused, nothing was sent")

    # -- requests -------------------------------------------------------------------------

    async def request(self, op: str, data: dict[str, Any] | None = None,
                      timeout: float | None = None) -> Any:  # noqa: ASYNC109
        """Send a request and return its data; ApiError for an error response,
        Disconnected when not connected, TimeoutError after `timeout` (or the default)."""
        ws = self._ws
        if ws is None or not self._up.is_set():
            raise Disconnected(f"not connected to the runtime at {self.url}")
        return await self._send(ws, op, data, timeout)

    async def _send(self, ws: ClientConnection, op: str, data: dict[str, Any] | None,
                    timeout: float | None = None) -> Any:  # noqa: ASYNC109
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await ws.send(orjson.dumps(request(request_id, op, data)).decode())
            return await asyncio.wait_for(future, timeout or self.request_timeout_s)
        except ConnectionClosed as exc:
            raise Disconnected(f"the connection to {self.url} closed: {exc}") from None
        finally:
            self._pending.pop(request_id, None)

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for frame in ws:
                message = orjson.loads(frame)
                for envelope in message if isinstance(message, list) else [message]:
                    self._dispatch(envelope)
        except ConnectionClosed:
            pass
        finally:
            self._lost(f"the connection to {self.url} closed")

    def _dispatch(self, envelope: dict[str, Any]) -> None:
        if "topic" in envelope:
            topic = envelope["topic"]
            if topic == DROPPED:
                log.warning("api_client.dropped url=%s count=%s", self.url,
                            envelope["data"].get("count"))
            received = Event(topic, envelope.get("data"))
            for subscription in self._subscriptions:
                if fnmatch.fnmatchcase(topic, subscription.pattern) or topic == DROPPED:
                    subscription._put(received)
            return
        future = self._pending.get(envelope.get("id"))  # type: ignore[arg-type]
        if future is None or future.done():
            return
        if envelope.get("ok"):
            future.set_result(envelope.get("data"))
        else:
            future.set_exception(ApiError.from_dict(envelope.get("error")))

    def _lost(self, why: str) -> None:
        self._up.clear()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(Disconnected(why))
        self._pending.clear()

    # -- subscriptions --------------------------------------------------------------------

    async def subscribe(self, pattern: str, max_queue: int = 10_000) -> Subscription:
        """Receive the topics matching `pattern` (kept across reconnects); the retained
        ones arrive first."""
        subscription = Subscription(self, pattern, max_queue)
        self._subscriptions.append(subscription)
        try:
            await self.request("subscribe", {"pattern": pattern})
        except BaseException:
            self._subscriptions.remove(subscription)
            raise
        return subscription

    async def _unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)
        if self.connected and not any(s.pattern == subscription.pattern
                                      for s in self._subscriptions):
            with contextlib.suppress(ApiError, Disconnected):
                await self.request("unsubscribe", {"pattern": subscription.pattern})

    # -- one method per operation ---------------------------------------------------------

    async def logout(self) -> Any:
        """auth.logout"""
        return await self.request("auth.logout")

    async def who(self) -> Any:
        """auth.whoami"""
        return await self.request("auth.whoami")

    async def status(self) -> Any:
        """runtime.status"""
        return await self.request("runtime.status")

    async def node_types(self) -> Any:
        """registry.list"""
        return await self.request("registry.list")

    async def project(self, version: int | None = None) -> Any:
        """project.get"""
        return await self.request("project.get", _given(version=version))

    async def validate(self, document: dict[str, Any]) -> Any:
        """project.validate"""
        return await self.request("project.validate", {"document": document})

    async def deploy(self, document: dict[str, Any], base_version: int | None = None,
                     comment: str | None = None) -> Any:
        """project.deploy"""
        return await self.request("project.deploy", _given(
            document=document, base_version=base_version, comment=comment))

    async def versions(self) -> Any:
        """project.versions"""
        return await self.request("project.versions")

    async def diff(self, old: int, new: int) -> Any:
        """project.diff"""
        return await self.request("project.diff", {"from": old, "to": new})

    async def rollback(self, version: int) -> Any:
        """project.rollback"""
        return await self.request("project.rollback", {"version": version})

    async def tags(self) -> Any:
        """tags.list"""
        return await self.request("tags.list")

    async def read(self, tags: list[str]) -> Any:
        """tags.read"""
        return await self.request("tags.read", {"tags": tags})

    async def write(self, tag: str, value: float | bool) -> Any:
        """tags.write"""
        return await self.request("tags.write", {"tag": tag, "value": value})

    async def browse(self, connection: str, node: str | None = None) -> Any:
        """tags.browse"""
        return await self.request("tags.browse", _given(connection=connection, node=node))

    async def history(self, tags: list[str], start: float, end: float, width: int) -> Any:
        """history.query"""
        return await self.request("history.query", {"tags": tags, "start": start, "end": end,
                                                    "width": width})

    async def events(self, start: float, end: float, kinds: list[str] | None = None,
                     limit: int | None = None, newest_first: bool | None = None) -> Any:
        """events.query"""
        return await self.request("events.query", _given(
            start=start, end=end, kinds=kinds, limit=limit, newest_first=newest_first))

    async def audit(self, start: float, end: float, action: str | None = None,
                    limit: int | None = None, newest_first: bool | None = None) -> Any:
        """audit.query"""
        return await self.request("audit.query", _given(
            start=start, end=end, action=action, limit=limit, newest_first=newest_first))

    async def alarms(self) -> Any:
        """alarms.list"""
        return await self.request("alarms.list")

    async def ack(self, alarm: str, note: str | None = None) -> Any:
        """alarms.ack"""
        return await self.request("alarms.ack", _given(alarm=alarm, note=note))

    async def shelve(self, alarm: str, duration_s: float, note: str | None = None) -> Any:
        """alarms.shelve"""
        return await self.request("alarms.shelve", _given(alarm=alarm, duration_s=duration_s,
                                                          note=note))

    async def unshelve(self, alarm: str, note: str | None = None) -> Any:
        """alarms.unshelve"""
        return await self.request("alarms.unshelve", _given(alarm=alarm, note=note))

    async def set_line_mode(self, mode: str, cause: str | None = None) -> Any:
        """line.set_mode"""
        return await self.request("line.set_mode", _given(mode=mode, cause=cause))

    async def stop_ai_writes(self) -> Any:
        """line.stop_ai_writes"""
        return await self.request("line.stop_ai_writes", {"confirm": True})

    async def backtest(self, flow: str, start: float, end: float,
                       params: dict[str, dict[str, Any]] | None = None, *,
                       width: int | None = None, version: int | None = None,
                       line_mode: str | None = None, run: str | None = None,
                       progress: Callable[[float], None] | None = None,
                       timeout: float = BACKTEST_TIMEOUT_S) -> Any:  # noqa: ASYNC109
        """backtest.run; `progress` gets the fraction done as it goes. Cancel it from
        another task with cancel_backtest(run), or by cancelling this call."""
        run = run or uuid.uuid4().hex
        data = _given(flow=flow, start=start, end=end, params=params, width=width,
                      version=version, line_mode=line_mode, run=run)
        if progress is None:
            return await self.request("backtest.run", data, timeout)
        subscription = await self.subscribe(f"backtests/{run}")

        async def report() -> None:
            async for update in subscription:
                if "fraction" in update.data:
                    progress(update.data["fraction"])

        reporter = asyncio.create_task(report())
        try:
            return await self.request("backtest.run", data, timeout)
        finally:
            reporter.cancel()
            await subscription.close()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter

    async def cancel_backtest(self, run: str) -> Any:
        """backtest.cancel"""
        return await self.request("backtest.cancel", {"run": run})

    async def start_shadow(self, flow: str, params: dict[str, dict[str, Any]] | None = None,
                           comment: str | None = None) -> Any:
        """shadow.start"""
        return await self.request("shadow.start", _given(flow=flow, params=params,
                                                         comment=comment))

    async def compare_shadow(self, flow: str, start: float | None = None,
                             end: float | None = None) -> Any:
        """shadow.compare"""
        return await self.request("shadow.compare", _given(flow=flow, start=start, end=end))

    async def promote_shadow(self, flow: str, comment: str | None = None) -> Any:
        """shadow.promote"""
        return await self.request("shadow.promote", _given(flow=flow, comment=comment))

    async def stop_shadow(self, flow: str, comment: str | None = None) -> Any:
        """shadow.stop"""
        return await self.request("shadow.stop", _given(flow=flow, comment=comment))

    async def models(self) -> Any:
        """models.list"""
        return await self.request("models.list")

    async def test_connection(self, connection: dict[str, Any],
                              timeout_s: float | None = None) -> Any:
        """connections.test (waits for the runtime's probe as long as it may take)."""
        wait = (timeout_s or CONNECTION_TEST_S) + self.request_timeout_s
        return await self.request("connections.test", _given(
            connection=connection, timeout_s=timeout_s), timeout=wait)

    async def add_model(self, model: str | Path | bytes, sidecar: dict[str, Any],
                        file_name: str | None = None) -> Any:
        """models.add: a model file (a path, or its bytes) with its sidecar metadata."""
        if isinstance(model, bytes):
            data, name = model, file_name or "upload.onnx"
        else:
            data = await asyncio.to_thread(Path(model).read_bytes)
            name = file_name or Path(model).name
        return await self.request("models.add", {
            "file_name": name, "onnx_base64": base64.b64encode(data).decode("ascii"),
            "sidecar": sidecar}, timeout=max(self.request_timeout_s, MODEL_UPLOAD_S))

    async def remove_model(self, model: str) -> Any:
        """models.remove ("id@version")"""
        return await self.request("models.remove", {"model": model})

    async def sync_status(self) -> Any:
        """sync.status"""
        return await self.request("sync.status")

    async def sync_backlog(self, hours: float | None = None) -> Any:
        """sync.backlog: the outbox's depth over the last `hours` (default 8, at most 24)."""
        return await self.request("sync.backlog", _given(hours=hours))


async def fetch_fingerprint(url: str, timeout: float = 10.0) -> str:  # noqa: ASYNC109
    """The SHA-256 fingerprint of the certificate a wss:// runtime presents (for a person
    to compare and trust once); nothing is sent to it."""
    if not url.startswith("wss://"):
        raise ValueError(f"{url} is not a wss:// address")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    host_port = url[len("wss://"):].split("/", 1)[0]
    host, _, port = host_port.rpartition(":")
    _reader, writer = await asyncio.wait_for(asyncio.open_connection(
        host.strip("[]"), int(port), ssl=context), timeout)
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        return fingerprint(ssl_object.getpeercert(binary_form=True))
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


def _given(**values: Any) -> dict[str, Any]:
    """The values that were given (None means: leave it out)."""
    return {key: value for key, value in values.items() if value is not None}

