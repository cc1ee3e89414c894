"""The WebSocket server of the control API (the `websockets` library, asyncio).

Every request is checked against runtime.api.operations: the envelope, the operation, the
caller's role, the data's JSON Schema; then its handler runs (at most
`max_concurrent_requests` of one connection at once) and the answer goes back through the
connection's session. Bad input of any kind gets an error response or a closed connection
(oversized frames, floods past the rate limit, strangers that do not log in), never a crash.

The server listens on loopback unless `remote` is set, and then only over TLS. It writes
`api-endpoint.json` (URL, certificate fingerprint) and keeps `api-token.json` (the local
token) in the data folder, and publishes the runtime's state on topics (runtime.api.topics).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from runtime.ai.errors import ModelError
from runtime.ai.registry import ModelRegistry
from runtime.api.backlog import Backlog
from runtime.api.config import ApiConfig
from runtime.api.debug import INTERVAL_S as DEBUG_EVERY_S
from runtime.api.debug import FlowDebug, debug_topic
from runtime.api.handlers import as_json
from runtime.api.handlers.system import sync_state
from runtime.api.operation import Context, Operation
from runtime.api.operations import BY_NAME
from runtime.api.session import Session
from runtime.api.tls import ensure_certificate, server_context
from runtime.api.token import LocalToken, ensure_token, read_token
from runtime.api.topics import TopicHub
from runtime.api.users import Users
from runtime.backtests import Backtests
from runtime.contracts import DriverError, Event, EventKind, Sample, ValidationFailed
from runtime.contracts.api import (
    HELLO,
    PROTOCOL,
    ApiError,
    Detail,
    ErrorCode,
    Hello,
    error_response,
    event,
    response,
)
from runtime.contracts.errors import LinesideError, WriteRefused
from runtime.contracts.status import ConnectionStatus
from runtime.engine.graph import BuildError
from runtime.service import DeployRefused, Runtime, StaleBase, UnknownTag, runtime_version
from runtime.store.errors import StoreError, UnknownAlarm, UnknownVersion
from runtime.supervision import Supervisor

log = logging.getLogger(__name__)

ENDPOINT_FILE = "api-endpoint.json"
TICK_S = 0.05
STATUS_EVERY_S = 1.0
_VALIDATORS = {name: Draft202012Validator(op.data) for name, op in BY_NAME.items()}


class ApiServer:
    """Serves the control API for one runtime; `start()`, `stop()`, `url`."""

    def __init__(self, runtime: Runtime, config: ApiConfig, data_dir: Path,
                 users: Users | None = None, supervisor: Supervisor | None = None,
                 models: ModelRegistry | None = None) -> None:
        self.runtime = runtime
        self.config = config
        self.data_dir = data_dir
        self.users = users or Users(runtime.store)
        self.models = models or ModelRegistry(runtime.store, data_dir / "models")
        self.hub = TopicHub()
        self.backtests = Backtests(limit=config.max_backtests)
        self.debug = FlowDebug(runtime.engine, runtime.registry)
        self._backlog = Backlog()
        self.token: LocalToken | None = None
        self.url = ""
        self.fingerprint = ""
        self._supervisor = supervisor or runtime.supervisor
        self._server: Server | None = None
        self._sessions: set[Session] = set()
        self._alarms_dirty = True
        self._connections_dirty = True

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen, write the endpoint file, publish the runtime's state on topics."""
        config = self.config
        self.token = read_token(ensure_token(self.data_dir, role="admin"))
        ssl_context = None
        if config.tls:
            if config.tls_cert and config.tls_key:
                cert, key = Path(config.tls_cert), Path(config.tls_key)
            else:
                cert, key = ensure_certificate(self.data_dir / "tls", [config.host])
            ssl_context, self.fingerprint = server_context(cert, key)
        self._server = await serve(
            self._serve, config.host, config.port, ssl=ssl_context,
            max_size=config.max_frame_bytes, open_timeout=config.handshake_timeout_s,
            ping_interval=20, ping_timeout=20, max_queue=16, compression=None,
            server_header=None, logger=log)
        port = self._server.sockets[0].getsockname()[1]
        host = config.host if ":" not in config.host else f"[{config.host}]"
        self.url = f"{'wss' if ssl_context else 'ws'}://{host}:{port}"
        self.runtime.listeners.append(self)
        self.hub.publish("line", {"mode": self.runtime.line_mode}, retain=True)
        self._supervisor.start("api-topics", self._topics)
        self._write_endpoint()
        log.info("api.listening url=%s tls=%s fingerprint=%s token_file=%s", self.url,
                 str(bool(ssl_context)).lower(), self.fingerprint or "-",
                 self.data_dir / "api-token.json")

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        if self in self.runtime.listeners:
            self.runtime.listeners.remove(self)
        await self._supervisor.stop("api-topics")
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            (self.data_dir / ENDPOINT_FILE).unlink()

    def _write_endpoint(self) -> None:
        path = self.data_dir / ENDPOINT_FILE
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps({"url": self.url, "fingerprint": self.fingerprint,
                                   "pid": os.getpid(), "protocol": PROTOCOL}) + "\n")
        os.replace(tmp, path)

    # -- what the runtime tells the server ------------------------------------------------

    def samples(self, samples: list[Sample]) -> None:
        """Samples arrived: the tag topics."""
        self.hub.publish_samples(samples)

    def event(self, recorded: Event) -> None:
        """An event was recorded: alarm changes refresh the alarm list."""
        if recorded.kind in (EventKind.ALARM_RAISED, EventKind.ALARM_CLEARED):
            self._alarms_dirty = True

    def connection(self, status: ConnectionStatus) -> None:
        """A connection's status changed."""
        self._connections_dirty = True

    def line_mode(self, mode: str) -> None:
        """The line mode changed."""
        self.hub.publish("line", {"mode": mode}, retain=True)

    def role_changed(self, session: Session) -> None:
        """Engineers and admins may send frames up to max_frame_bytes (model uploads);
        everybody else, logged in or not, up to small_frame_bytes."""
        protocol = getattr(session.socket, "protocol", None)
        if protocol is not None:
            protocol.max_message_size = self._frame_limit(session)

    def _frame_limit(self, session: Session) -> int:
        config = self.config
        if session.principal is not None and session.may("engineer"):
            return config.max_frame_bytes
        return min(config.small_frame_bytes, config.max_frame_bytes)

    def backlog(self, start: float) -> dict[str, Any]:
        """The outbox's depth over time from `start` (ServerHooks)."""
        return self._backlog.since(start)

    def alarms_changed(self) -> None:
        """A person acked, shelved or unshelved an alarm."""
        self._alarms_dirty = True

    async def _topics(self) -> None:
        """Held-back tag values, and the state topics when they changed (or every second)."""
        next_status = next_debug = 0.0
        while True:
            self.hub.flush_due()
            if self._connections_dirty:
                self._connections_dirty = False
                self.hub.publish("connections", {c: as_json(s) for c, s in
                                                 self.runtime.statuses.items()}, retain=True)
            if self._alarms_dirty:
                self._alarms_dirty = False
                await self._publish_alarms()
            now = time.monotonic()
            if now >= next_status:
                next_status = now + STATUS_EVERY_S
                status = as_json(self.runtime.status())
                self.hub.publish("runtime", {k: v for k, v in status.items()
                                             if k not in ("store", "sync")}, retain=True)
                sync = sync_state(self.runtime)
                self.hub.publish("sync", sync, retain=True)
                self._backlog.record(time.time(), int(sync.get("queue_records", 0)),
                                     float(sync.get("oldest_age_s", 0.0)))
            if now >= next_debug:
                next_debug = now + DEBUG_EVERY_S
                self._publish_debug()
            await asyncio.sleep(TICK_S)

    def _publish_debug(self) -> None:
        """The outputs of the flows someone debugs, when they changed."""
        self.debug.watch(f for f in self.runtime.engine.flows
                         if self.hub.wanted(debug_topic(f)))
        for flow_id, outputs in self.debug.changes().items():
            self.hub.publish(debug_topic(flow_id), outputs, retain=True)

    async def _publish_alarms(self) -> None:
        store = self.runtime.store
        with contextlib.suppress(TimeoutError, LinesideError):
            await asyncio.wait_for(store.flush(), 2.0)
        alarms = await store.read(store.active_alarms, True)
        self.hub.publish("alarms", [as_json(a) for a in alarms], retain=True)

    # -- connections ----------------------------------------------------------------------

    async def _serve(self, ws: ServerConnection) -> None:
        config = self.config
        address = ws.remote_address
        peer = f"{address[0]}:{address[1]}" if address else "?"
        session = Session(ws, peer, max_events=config.max_events, rate=config.requests_per_s,
                          burst=config.request_burst, idle_s=config.session_idle_s)
        self._sessions.add(session)
        self.role_changed(session)
        sender = asyncio.create_task(session.run_sender(), name=f"api-send:{peer}")
        hello = Hello(PROTOCOL, runtime_version(), self.runtime.node_id)
        session.push(event(HELLO, hello.to_dict()))
        stranger = asyncio.create_task(self._close_if_anonymous(ws, session),
                                       name=f"api-login-timeout:{peer}")
        slots = asyncio.Semaphore(config.max_concurrent_requests)
        handling: set[asyncio.Task[None]] = set()
        try:
            async for message in ws:
                if not session.budget.take():
                    session.refused += 1
                    if session.refused > config.max_refused:
                        await ws.close(1008, "too many requests")
                        break
                    session.reply(error_response(_id_of(message), ApiError(
                        ErrorCode.RATE_LIMITED, f"more than {config.requests_per_s:g} "
                                                "requests a second; slow down")))
                    continue
                await slots.acquire()
                task = asyncio.create_task(self._request(session, message))
                handling.add(task)
                task.add_done_callback(handling.discard)
                task.add_done_callback(lambda _done: slots.release())
        except ConnectionClosed:
            pass
        finally:
            self._sessions.discard(session)
            self.hub.drop(session)
            for task in (*handling, sender, stranger):
                task.cancel()
            await asyncio.gather(*handling, sender, stranger, return_exceptions=True)

    async def _close_if_anonymous(self, ws: ServerConnection, session: Session) -> None:
        """Close the connection if nobody logged in on it within login_timeout_s."""
        await asyncio.sleep(self.config.login_timeout_s)
        if session.principal is None:
            log.info("api.closed_anonymous peer=%s after_s=%g", session.peer,
                     self.config.login_timeout_s)
            await ws.close(1008, "log in first")

    async def _request(self, session: Session, message: str | bytes) -> None:
        request_id: Any = None
        try:
            request = _envelope(message)
            request_id = _request_id(request)
            op, data = _operation(request)
            session.reply(response(request_id, await self._call(session, op, data)))
        except ApiError as exc:
            session.reply(error_response(request_id, exc))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            session.reply(error_response(request_id, _api_error(exc)))

    async def _call(self, session: Session, op: Operation, data: dict[str, Any]) -> Any:
        if op.role is not None:
            principal = session.active()
            if principal is None:
                raise ApiError(ErrorCode.UNAUTHENTICATED, f"log in before {op.name}")
            if not session.may(op.role):
                raise ApiError(ErrorCode.FORBIDDEN, f"{op.name} needs the role {op.role}; "
                                                    f"you are {principal.role}")
        problems = sorted(_VALIDATORS[op.name].iter_errors(data), key=lambda e: list(e.path))
        if problems:
            raise ApiError(ErrorCode.BAD_REQUEST, f"the data of {op.name} does not fit its "
                                                  "schema (see docs/api.md)", tuple(
                Detail(e.message, _json_path(e.absolute_path)) for e in problems[:20]))
        context = Context(self.runtime, session, self.hub, self.users, self.token, self,
                          self.backtests, self.models, self.config)
        return await op.handler(context, data)


def _envelope(message: str | bytes) -> dict[str, Any]:
    """The request object of a frame; ApiError if it is not JSON text of an object."""
    if isinstance(message, bytes):
        raise ApiError(ErrorCode.BAD_REQUEST, "send requests as text frames of JSON")
    try:
        request = orjson.loads(message)
    except orjson.JSONDecodeError as exc:
        raise ApiError(ErrorCode.BAD_REQUEST, f"not JSON: {exc}") from None
    if not isinstance(request, dict):
        raise ApiError(ErrorCode.BAD_REQUEST, "a request is an object {id, op, data}")
    return request


def _request_id(request: dict[str, Any]) -> Any:
    """A request's id (a number or a text); ApiError without one."""
    request_id = request.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, int | str):
        raise ApiError(ErrorCode.BAD_REQUEST, "a request needs an id (a number or a text)")
    return request_id


def _operation(request: dict[str, Any]) -> tuple[Operation, dict[str, Any]]:
    """A request's operation and data; ApiError naming what is wrong."""
    name, data = request.get("op"), request.get("data", {})
    problems = [f"unknown field {key!r}" for key in request if key not in ("id", "op", "data")]
    if not isinstance(name, str):
        problems.append("op must be the name of an operation")
    if not isinstance(data, dict):
        problems.append("data must be an object")
    if problems:
        raise ApiError(ErrorCode.BAD_REQUEST, "; ".join(problems))
    assert isinstance(name, str) and isinstance(data, dict)
    op = BY_NAME.get(name)
    if op is None:
        raise ApiError(ErrorCode.UNKNOWN_OP, f"no operation {name!r} (see docs/api.md)")
    return op, data


def _id_of(message: str | bytes) -> Any:
    """The id of a request if it has a readable one (for error responses)."""
    try:
        request = orjson.loads(message)
    except orjson.JSONDecodeError:
        return None
    request_id = request.get("id") if isinstance(request, dict) else None
    return request_id if isinstance(request_id, int | str) else None


def _api_error(exc: BaseException) -> ApiError:
    """The API error for an exception a handler raised."""
    if isinstance(exc, ValidationFailed):
        return ApiError(ErrorCode.INVALID, f"{len(exc.problems)} problem(s); nothing was "
                                           "changed", tuple(Detail(p.message, p.path)
                                                            for p in exc.problems))
    if isinstance(exc, StaleBase):
        return ApiError(ErrorCode.CONFLICT, str(exc))
    if isinstance(exc, UnknownTag | UnknownAlarm | UnknownVersion):
        return ApiError(ErrorCode.NOT_FOUND, str(exc))
    if isinstance(exc, DeployRefused | BuildError | WriteRefused | DriverError | ModelError
                  | StoreError):
        return ApiError(ErrorCode.REFUSED, str(exc))
    if isinstance(exc, TimeoutError):
        return ApiError(ErrorCode.REFUSED, "the runtime did not finish it in time")
    if isinstance(exc, ValueError | LinesideError):
        return ApiError(ErrorCode.BAD_REQUEST, str(exc))
    log.error("api.handler_failed error=%r", f"{type(exc).__name__}: {exc}", exc_info=exc)
    return ApiError(ErrorCode.INTERNAL, f"{type(exc).__name__} in the runtime (logged there)")


def _json_path(parts: Any) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path
