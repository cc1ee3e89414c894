"""The forwarder: drains the store's outbox to an MQTT broker at QoS 1, oldest first.

One supervisor task connects (aiomqtt), publishes and reconnects with capped exponential
backoff. In a session three tasks run side by side:

- the sender peeks the outbox, combines chunks into messages (runtime.sync.messages) and
  publishes them, keeping up to `max_inflight` publishes waiting for their PUBACK;
- the acker deletes chunks from the outbox once the broker acknowledged them, strictly in
  the order they were sent (runtime.sync.flow.AckOrder), batching whatever is ready into one
  `outbox_ack` call; deletes are pipelined (the store applies them in call order and
  commits them in groups), and records sent but not yet deleted are bounded;
- the watcher notices the connection dropping (aiomqtt's message iterator raises).

aiomqtt's `publish(qos=1)` returns only once paho reports the PUBACK (or raises after
`timeout_s`), so each publish runs in its own task and the window is a semaphore. Chunks
are deleted only after their PUBACK; a message published but not acknowledged when the
connection dropped is published again after reconnecting, so consumers de-duplicate by
(node, incarnation, seq).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import aiomqtt

from runtime.backoff import Backoff
from runtime.contracts.errors import LinesideError
from runtime.supervision import Supervisor
from runtime.sync.config import BrokerConfig
from runtime.sync.flow import AckBatch, AckOrder, DrainMeter, RateLimiter
from runtime.sync.messages import OutboundMessage, build_messages, check_node_id
from runtime.sync.outbox import Outbox, Stats

log = logging.getLogger(__name__)
_MQTT_LOG = logging.getLogger("runtime.sync.mqtt")

BrokerState = Literal["connected", "connecting", "unreachable", "disabled"]
Clock = Callable[[], float]

_AUTH_REFUSED = {4, 5, 134, 135}
_DISCONNECT_TIMEOUT_S = 2.0
_ABANDON_TIMEOUT_S = 0.2
_PENDING_PEEKS = 4
_TIMED_OUT = "Operation timed out"  # aiomqtt's MqttError text when a CONNACK or PUBACK is late


class SyncError(LinesideError):
    """The forwarder could not connect or publish; the message says what and where."""


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """How far behind the cloud is and whether the broker is reachable."""

    queue_records: int
    queue_bytes: int
    oldest_age_s: float
    """Age of the oldest record still in the outbox (0 when it is empty)."""
    drain_rate_per_s: float
    """Records deleted after a PUBACK per second, over the last 10 s."""
    last_ack_ts: float | None
    dropped_records: int
    broker_state: BrokerState
    last_error: str
    reconnects: int = 0
    inflight_messages: int = 0


@dataclass(frozen=True, slots=True)
class _NoStats:
    records: int = 0
    bytes: int = 0
    chunks: int = 0
    oldest_ts: float | None = None
    dropped_records: int = 0
    next_seq: int = 0


class Forwarder:
    """Publishes the outbox to one broker; `start()`, `notify()` after commits, `stop()`."""

    def __init__(
        self,
        store: Outbox,
        config: BrokerConfig,
        node_id: str,
        clock: Clock = time.time,
        supervisor: Supervisor | None = None,
    ) -> None:
        check_node_id(node_id)
        self._store = store
        self._config = config
        self._node_id = node_id
        self._clock = clock
        self._client_id = config.client_id or f"lineside-{node_id}"
        rate = config.rate_limit_records_per_s
        # With a rate limit, messages carry about one second's worth so the flow stays smooth.
        self._max_records = (
            max(1, min(config.max_records_per_message, int(rate)))
            if rate > 0
            else config.max_records_per_message
        )
        self._peek_records = self._max_records * config.max_inflight
        # Sent chunks stay in the outbox until their delete commits (the store commits in
        # groups, every ~250 ms); each peek reads past them, so bound how many there are.
        self._max_pending = _PENDING_PEEKS * self._peek_records
        self._limiter: RateLimiter | None = None
        self._backoff = Backoff(initial=config.backoff_initial_s, cap=config.backoff_cap_s)
        self._drain = DrainMeter()
        self._state: BrokerState = "disabled"
        self._last_error = ""
        self._last_ack_ts: float | None = None
        self._reconnects = 0
        self._ever_connected = False
        self._stats: Stats = _NoStats()
        self._supervisor = supervisor or Supervisor(clock)
        self._tasks: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        # Per session: what is in flight and which chunks it carries.
        self._order = AckOrder()
        self._keys = itertools.count()
        self._last_sent: int | None = None
        self._sent_records = 0
        self._deletes: deque[tuple[asyncio.Future[Any], AckBatch]] = deque()
        self._window = asyncio.Semaphore(config.max_inflight)
        self._acked = asyncio.Event()
        self._deleted = asyncio.Event()
        self._wakeup = asyncio.Event()

    @property
    def node_id(self) -> str:
        """The node whose outbox this forwarder drains."""
        return self._node_id

    @property
    def supervisor(self) -> Supervisor:
        """Where the forwarder's tasks run (the runtime's, when it shares one)."""
        return self._supervisor

    @property
    def config(self) -> BrokerConfig:
        """The broker settings (the password is never in its repr)."""
        return self._config

    async def start(self) -> None:
        """Start forwarding in the background (supervised tasks); returns at once (nothing
        when disabled)."""
        if self._tasks:
            return
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        if not self._config.enabled:
            self._state = "disabled"
            log.info("sync.disabled node=%s", self._node_id)
            return
        self._wakeup = asyncio.Event()
        self._drain = DrainMeter(now=time.monotonic())
        self._state = "connecting"
        self._tasks = [f"sync-forwarder:{self._node_id}", f"sync-status:{self._node_id}"]
        self._supervisor.start(self._tasks[0], self._supervise)
        self._supervisor.start(self._tasks[1], self._log_status)

    async def stop(self) -> None:
        """Disconnect and stop; acknowledged chunks are deleted before it returns."""
        tasks, self._tasks = self._tasks, []
        if not tasks:
            self._state = "disabled"
            return
        for name in tasks:
            await self._supervisor.stop(name)
        self._state = "disabled"
        log.info("sync.stopped node=%s", self._node_id)

    def notify(self) -> None:
        """New records were committed to the outbox: look now instead of at the next poll.

        Safe to call from any thread.
        """
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if threading.get_ident() == self._loop_thread:
            self._wakeup.set()
        else:
            loop.call_soon_threadsafe(self._wakeup.set)

    def status(self) -> SyncStatus:
        """The outbox's size and age, the drain rate and the broker connection."""
        with contextlib.suppress(Exception):  # a closed store keeps its last known numbers
            self._stats = self._store.outbox_stats()
        stats = self._stats
        oldest = stats.oldest_ts
        return SyncStatus(
            queue_records=stats.records,
            queue_bytes=stats.bytes,
            oldest_age_s=max(0.0, self._clock() - oldest) if oldest is not None else 0.0,
            drain_rate_per_s=self._drain.rate(time.monotonic()),
            last_ack_ts=self._last_ack_ts,
            dropped_records=stats.dropped_records,
            broker_state=self._state,
            last_error=self._last_error,
            reconnects=self._reconnects,
            inflight_messages=len(self._order),
        )

    # -- connection supervision ------------------------------------------------------------

    async def _supervise(self) -> None:
        while True:
            broker_fault = True
            try:
                await self._run_session()
                error = f"broker {self._config.address} closed the connection"
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = _describe(exc)
                broker_fault = _is_broker_fault(exc)
                if not broker_fault:
                    log.error("sync.failed node=%s error=%r", self._node_id, error,
                              exc_info=exc)
            was_connected = self._state == "connected"
            # Anything else (the store failing, a bad chunk) is retried the same way but
            # does not make the broker look unreachable.
            self._state = "unreachable" if broker_fault else "connecting"
            self._last_error = error
            if was_connected:
                self._backoff.reset()
                log.warning(
                    "sync.disconnected node=%s broker=%s error=%r",
                    self._node_id,
                    self._config.address,
                    error,
                )
            delay = self._backoff.next()
            log.info(
                "sync.backoff node=%s broker=%s delay_s=%.2f error=%r",
                self._node_id,
                self._config.address,
                delay,
                error,
            )
            await asyncio.sleep(delay)

    async def _run_session(self) -> None:
        client = self._make_client()
        try:
            await client.__aenter__()
        except asyncio.CancelledError:
            await _abandon(client)
            raise
        except aiomqtt.MqttError as exc:
            if str(exc) == _TIMED_OUT:
                await _abandon(client)
            raise SyncError(self._connect_error(exc)) from exc
        self._on_connected()
        self._window = asyncio.Semaphore(self._config.max_inflight)
        self._acked = asyncio.Event()
        self._deleted = asyncio.Event()
        self._limiter = (
            RateLimiter(self._config.rate_limit_records_per_s, now=time.monotonic())
            if self._config.rate_limit_records_per_s > 0
            else None
        )
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._watch(client), name=f"sync-watch:{self._node_id}")
                group.create_task(self._ack_loop(), name=f"sync-ack:{self._node_id}")
                group.create_task(self._send_loop(client, group), name=f"sync-send:{self._node_id}")
                # Stay in the block until a task fails: Python 3.11's TaskGroup leaves this
                # task's cancel count raised when a task fails after the block was left, and
                # every later asyncio.timeout in it would then end in CancelledError.
                await asyncio.get_running_loop().create_future()
        finally:
            try:
                await self._end_session()
            finally:
                await _close(client, _DISCONNECT_TIMEOUT_S)

    def _make_client(self) -> aiomqtt.Client:
        cfg = self._config
        client = aiomqtt.Client(
            cfg.host,
            cfg.port,
            username=cfg.username,
            password=cfg.password,
            identifier=self._client_id,
            logger=_MQTT_LOG,
            clean_session=True,
            keepalive=cfg.keepalive_s,
            timeout=cfg.timeout_s,
            max_inflight_messages=cfg.max_inflight,
            tls_context=self._tls_context() if cfg.tls else None,
        )
        # aiomqtt warns above this many pending publishes; a full window is normal here.
        client.pending_calls_threshold = cfg.max_inflight + 1
        return client

    def _tls_context(self) -> ssl.SSLContext:
        cfg = self._config
        try:
            context = ssl.create_default_context(cafile=cfg.ca_file)
            if cfg.cert_file:
                context.load_cert_chain(cfg.cert_file, cfg.key_file)
        except (OSError, ssl.SSLError) as exc:
            raise SyncError(
                f"TLS settings for broker {cfg.address}: cannot load ca_file={cfg.ca_file!r} "
                f"cert_file={cfg.cert_file!r} key_file={cfg.key_file!r}: {exc}"
            ) from exc
        if cfg.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _on_connected(self) -> None:
        if self._ever_connected:
            self._reconnects += 1
        self._ever_connected = True
        self._state = "connected"
        log.info(
            "sync.connected node=%s broker=%s client_id=%s tls=%s user=%s reconnects=%d",
            self._node_id,
            self._config.address,
            self._client_id,
            str(self._config.tls).lower(),
            self._config.username or "-",
            self._reconnects,
        )

    def _connect_error(self, exc: aiomqtt.MqttError) -> str:
        address = self._config.address
        if isinstance(exc, aiomqtt.MqttCodeError):
            code = getattr(exc.rc, "value", exc.rc)
            reason = str(exc.rc) if exc.rc is not None else str(exc)
            if code in _AUTH_REFUSED:
                who = (
                    f"user {self._config.username!r}" if self._config.username else "anonymous"
                )
                return (
                    f"broker {address} refused the login ({who}): {reason} "
                    "- check the username and password"
                )
            return f"broker {address} refused the connection: {reason}"
        text = str(exc)
        if text == _TIMED_OUT:
            return f"broker {address} did not answer within {self._config.timeout_s:g} s"
        if "SSL" in text or "certificate" in text.lower():
            return f"TLS handshake with broker {address} failed: {text}"
        return f"cannot reach broker {address}: {text}"

    async def _watch(self, client: aiomqtt.Client) -> None:
        """Return never; raise when the connection drops (nothing is subscribed)."""
        try:
            async for _message in client.messages:
                pass
        except aiomqtt.MqttError as exc:
            cause = exc.__cause__ or exc
            raise SyncError(f"connection to broker {self._config.address} lost: {cause}") from exc
        raise SyncError(f"connection to broker {self._config.address} ended")

    # -- sending ---------------------------------------------------------------------------

    async def _send_loop(self, client: aiomqtt.Client, group: asyncio.TaskGroup) -> None:
        while True:
            while self._sent_records >= self._max_pending:
                self._deleted.clear()
                await self._deleted.wait()
            self._wakeup.clear()
            messages = await self._next_messages()
            if not messages:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._config.poll_interval_s):
                        await self._wakeup.wait()
                continue
            for message in messages:
                await self._window.acquire()
                if self._limiter is not None:
                    delay = self._limiter.reserve(message.count, time.monotonic())
                    if delay > 0:
                        await asyncio.sleep(delay)
                key = next(self._keys)
                self._order.add(key, message.chunk_ids, message.count)
                self._last_sent = message.chunk_ids[-1]
                self._sent_records += message.count
                group.create_task(self._publish(client, message, key))

    async def _next_messages(self) -> list[OutboundMessage]:
        """Messages for the oldest chunks not sent yet (peeked in a worker thread).

        Sent chunks stay in the outbox until their delete commits, which may happen while
        the peek runs; what is new is what comes after the last chunk sent. When that chunk
        is gone, so is every chunk sent before it (deletes go oldest first).
        """
        chunks = await asyncio.to_thread(
            self._store.outbox_peek, self._sent_records + self._peek_records
        )
        fresh = list(chunks)
        if self._last_sent is not None:
            for i, chunk in enumerate(fresh):
                if chunk.id == self._last_sent:
                    fresh = fresh[i + 1 :]
                    break
        if not fresh:
            return []
        return build_messages(
            fresh,
            node_id=self._node_id,
            incarnation=self._store.incarnation,
            topic_prefix=self._config.topic_prefix,
            now=self._clock(),
            historical_after_s=self._config.historical_after_s,
            max_records=self._max_records,
            max_bytes=self._config.max_message_bytes,
        )

    async def _publish(self, client: aiomqtt.Client, message: OutboundMessage, key: int) -> None:
        try:
            await client.publish(
                message.topic, message.payload, qos=1, timeout=self._config.timeout_s
            )
        except aiomqtt.MqttError as exc:
            what = (
                f"within {self._config.timeout_s:g} s" if str(exc) == _TIMED_OUT else f"({exc})"
            )
            raise SyncError(
                f"broker {self._config.address} did not acknowledge {message.kind} "
                f"seq {message.seq_first}..{message.seq_last} {what}"
            ) from exc
        finally:
            self._window.release()
        self._order.acked(key)
        self._acked.set()

    # -- acknowledging ---------------------------------------------------------------------

    async def _ack_loop(self) -> None:
        """Ask the store to delete acknowledged chunks as soon as they are ready, in order.

        Deletes are not awaited one by one: the store applies them in the order they were
        asked for (one writer thread), so several wait for the same group commit.
        """
        while True:
            await self._acked.wait()
            self._acked.clear()
            self._settle_deletes()
            batch = self._order.take_ready()
            if batch:
                self._request_delete(batch)

    def _request_delete(self, batch: AckBatch) -> None:
        future = asyncio.wrap_future(self._store.outbox_ack(batch.chunk_ids))
        future.add_done_callback(lambda _done: self._acked.set())
        self._deletes.append((future, batch))

    def _settle_deletes(self) -> None:
        """Count the committed deletes, oldest first; raise the store's error if one failed."""
        while self._deletes and self._deletes[0][0].done():
            future, batch = self._deletes.popleft()
            future.result()
            self._committed(batch)

    def _committed(self, batch: AckBatch) -> None:
        self._sent_records -= batch.records
        self._last_ack_ts = self._clock()
        self._drain.add(batch.records, time.monotonic())
        self._deleted.set()

    async def _end_session(self) -> None:
        """Delete what the broker acknowledged; forget the rest (it is sent again later)."""
        try:
            batch = self._order.take_ready()
            if batch:
                self._request_delete(batch)
            while self._deletes:
                future, batch = self._deletes.popleft()
                if not await self._settled(future):
                    break
                self._committed(batch)
        except Exception as exc:
            log.warning("sync.ack_failed node=%s error=%r", self._node_id, _describe(exc))
        finally:
            for future, _batch in self._deletes:
                future.add_done_callback(_retrieve)
            self._deletes.clear()
            self._order.clear()
            self._last_sent = None
            self._sent_records = 0

    async def _settled(self, future: asyncio.Future[Any]) -> bool:
        """Wait (bounded) for a delete to commit; True when it succeeded."""
        await asyncio.wait({future}, timeout=self._config.timeout_s)
        if not future.done():
            future.add_done_callback(_retrieve)
            log.warning("sync.ack_pending node=%s timeout_s=%g", self._node_id,
                        self._config.timeout_s)
            return False
        error = None if future.cancelled() else future.exception()
        if error is not None:
            log.warning("sync.ack_failed node=%s error=%r", self._node_id, _describe(error))
        return not future.cancelled() and error is None

    # -- status ----------------------------------------------------------------------------

    async def _log_status(self) -> None:
        while True:
            await asyncio.sleep(self._config.status_log_interval_s)
            s = self.status()
            log.info(
                "sync.status node=%s state=%s queue_records=%d queue_bytes=%d "
                "oldest_age_s=%.1f drain_rate_per_s=%.0f dropped_records=%d "
                "inflight=%d reconnects=%d last_error=%r",
                self._node_id,
                s.broker_state,
                s.queue_records,
                s.queue_bytes,
                s.oldest_age_s,
                s.drain_rate_per_s,
                s.dropped_records,
                s.inflight_messages,
                s.reconnects,
                s.last_error,
            )


async def _close(client: aiomqtt.Client, wait_s: float) -> None:
    """Say goodbye to the broker, waiting at most `wait_s`; the connection may be gone."""
    client.timeout = wait_s
    with contextlib.suppress(Exception):
        await client.__aexit__(None, None, None)


async def _abandon(client: aiomqtt.Client) -> None:
    """Close a connection still waiting for its CONNACK (timed out or stopped).

    Left open, a late CONNACK would leave a second connection and aiomqtt's tasks behind.
    aiomqtt 2.5 cancels its private `_connected` future when `__aenter__` is cancelled, and
    paho's disconnect callback then raises before the socket is closed; a fresh future (what
    aiomqtt itself does after a failed connect) lets the goodbye close it.
    """
    connected = getattr(client, "_connected", None)
    if isinstance(connected, asyncio.Future) and connected.cancelled():
        client._connected = asyncio.get_running_loop().create_future()
    await _close(client, _ABANDON_TIMEOUT_S)


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup):
        leaves = [e for e in exc.exceptions if not isinstance(e, asyncio.CancelledError)]
        exc = (leaves or list(exc.exceptions))[0]
    return exc


def _is_broker_fault(exc: BaseException) -> bool:
    """True when the broker (or the way to it) failed, not the store or the forwarder."""
    return isinstance(_leaf(exc), SyncError | aiomqtt.MqttError)


def _describe(exc: BaseException) -> str:
    """One line for status and logs: the first real error inside exception groups."""
    exc = _leaf(exc)
    if isinstance(exc, SyncError):
        return str(exc)
    if isinstance(exc, concurrent.futures.TimeoutError | TimeoutError):
        return "timed out"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
