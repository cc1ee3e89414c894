"""What every PLC driver shares: connection status, the hub protocol, and the supervised hub.

A hub owns one connection to one endpoint. `SupervisedHub` holds the parts both protocols need,
written once: a supervisor task that connects and reconnects with capped exponential backoff,
the status, per-tag deadband, scaling between raw and engineering units, write coercion and
marking every tag BAD when the connection is lost. A driver implements `_run_session`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from runtime.backoff import Backoff
from runtime.contracts.errors import DriverError
from runtime.contracts.messages import Quality, Sample, moved
from runtime.contracts.project import Tag
from runtime.contracts.status import ConnectionState, ConnectionStatus
from runtime.supervision import Supervisor

log = logging.getLogger(__name__)
T = TypeVar("T")

OnSamples = Callable[[list[Sample]], None]
Clock = Callable[[], float]

INT_RANGES: dict[str, tuple[int, int]] = {
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
}
FLOAT32_MAX = 3.4028234663852886e38


OnStatus = Callable[[ConnectionStatus], None]


@runtime_checkable
class Hub(Protocol):
    """One connection to one PLC endpoint; samples go to on_samples, status to on_status."""

    @property
    def status(self) -> ConnectionStatus: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def wait_connected(self, timeout: float) -> None: ...  # noqa: ASYNC109

    async def read(self, tag_ids: Sequence[str]) -> list[Sample]: ...

    async def write(self, tag_id: str, value: Any) -> None: ...


class DeadbandFilter:
    """Report by exception: passes a sample when its quality changed or its value moved more
    than the tag's deadband since the last sample passed; equal values never pass twice."""

    def __init__(self, deadbands: Mapping[str, float]) -> None:
        self._deadbands = dict(deadbands)
        self._last: dict[str, Sample] = {}

    def last(self, tag_id: str) -> Sample | None:
        """The last sample that passed for this tag."""
        return self._last.get(tag_id)

    def passes(self, sample: Sample) -> bool:
        """True (and remembered) when the sample is worth delivering."""
        last = self._last.get(sample.tag)
        if (
            last is None
            or last.quality != sample.quality
            or moved(last.value, sample.value, self._deadbands.get(sample.tag, 0.0))
        ):
            self._last[sample.tag] = sample
            return True
        return False

    def filter(self, samples: Iterable[Sample]) -> list[Sample]:
        """The samples worth delivering, in order."""
        return [s for s in samples if self.passes(s)]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def to_eng(tag: Tag, raw: Any) -> Any:
    """Engineering value of a raw PLC value (Tag.scaling; bools and strings untouched)."""
    if tag.scaling is None or not _is_number(raw):
        return raw
    return tag.scaling.to_eng(raw)


def to_raw(tag: Tag, eng: Any) -> Any:
    """Raw PLC value of an engineering value, for writes."""
    if tag.scaling is None or not _is_number(eng):
        return eng
    return tag.scaling.to_raw(eng)


def coerce_raw(tag: Tag, raw: Any) -> bool | int | float | str:
    """The raw value as the Python type of Tag.type; ValueError with a plain reason otherwise."""
    kind = tag.type
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        if _is_number(raw) and raw in (0, 1):
            return bool(raw)
        raise ValueError(f"{raw!r} is not a boolean (use true/false or 1/0)")
    if kind == "string":
        if not isinstance(raw, str):
            raise ValueError(f"{raw!r} is not text")
        return raw
    if not _is_number(raw):
        raise ValueError(f"{raw!r} is not a number")
    if math.isnan(raw) or math.isinf(raw):
        if kind == "float32" or kind == "float64":
            return float(raw)
        raise ValueError(f"{raw!r} is not a finite number")
    if kind in INT_RANGES:
        low, high = INT_RANGES[kind]
        value = round(raw)
        if not low <= value <= high:
            raise ValueError(f"{raw!r} is outside the {kind} range {low}..{high}")
        return value
    if kind == "float32":
        if abs(raw) > FLOAT32_MAX:
            raise ValueError(f"{raw!r} is outside the float32 range")
        return float(raw)
    if kind == "float64":
        return float(raw)
    raise ValueError(f"tag type {kind!r} is not supported")


def describe(exc: BaseException) -> str:
    """A one-line description of an error for status and logs."""
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return f"timed out ({exc})" if str(exc) else "timed out"
    text = str(exc)
    if isinstance(exc, ConnectionLost | DriverError) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class ConnectionLost(Exception):
    """Raised inside a session when the connection was found dead."""


class SupervisedHub(ABC):
    """One connection with a supervisor task that connects, delivers and reconnects.

    Subclasses implement `_run_session`: connect, call `_on_connected()`, deliver samples with
    `_deliver()` until the connection is lost, then raise (or return). Whatever the session
    left behind must be cleaned up in its own `finally`. On loss the supervisor marks every
    tag BAD at once, waits with capped exponential backoff and runs a fresh session. The
    reconnect loop itself runs under a Supervisor (the runtime's, when given), so even a
    fault in it is logged, counted and restarted.
    """

    kind = "hub"

    def __init__(
        self,
        connection: Any,
        tags: Sequence[Tag],
        on_samples: OnSamples,
        on_status: OnStatus | None = None,
        clock: Clock = time.time,
        supervisor: Supervisor | None = None,
    ) -> None:
        self._connection = connection
        self._tags: dict[str, Tag] = {}
        problems = []
        for tag in tags:
            if tag.connection != connection.id:
                problems.append(f"tag {tag.id} belongs to connection {tag.connection!r}")
            elif tag.id in self._tags:
                problems.append(f"tag {tag.id} is listed twice")
            self._tags[tag.id] = tag
        if problems:
            raise DriverError(f"connection {connection.id}: " + "; ".join(problems))
        self._on_samples = on_samples
        self._on_status = on_status
        self._clock = clock
        self._deadband = DeadbandFilter({t.id: t.deadband for t in tags})
        self._backoff = Backoff()
        self._status = ConnectionStatus(connection.id, "disconnected", clock())
        self._connected_event = asyncio.Event()
        self._ever_connected = False
        self._supervisor = supervisor or Supervisor(clock)
        self._task_name = f"{self.kind}-hub:{connection.id}"

    @property
    def connection_id(self) -> str:
        """The id of the connection this hub serves."""
        return self._connection.id

    @property
    def tags(self) -> Mapping[str, Tag]:
        """The hub's tags by id."""
        return self._tags

    @property
    def status(self) -> ConnectionStatus:
        """The current connection status."""
        return self._status

    @property
    def target(self) -> str:
        """Where the hub connects to, for logs."""
        return str(getattr(self._connection, "endpoint", ""))

    async def start(self) -> None:
        """Start the reconnect loop as a supervised task; returns at once."""
        if self._task_name in self._supervisor:
            return
        self._supervisor.start(self._task_name, self._supervise)

    async def stop(self) -> None:
        """Cancel everything the hub runs and wait until it has gone."""
        await self._supervisor.stop(self._task_name)
        self._connected_event.clear()
        if self._status.state != "stopped":
            self._set_status("stopped")
            log.info("%s.stopped connection=%s", self.kind, self._connection.id)

    async def wait_connected(self, timeout: float) -> None:  # noqa: ASYNC109
        """Wait until connected; DriverError with the last error when `timeout` passes."""
        try:
            await asyncio.wait_for(self._connected_event.wait(), timeout)
        except TimeoutError:
            raise DriverError(
                f"connection {self._connection.id} ({self.target}) is not connected after "
                f"{timeout:g} s: {self._status.last_error or self._status.state}"
            ) from None

    @abstractmethod
    async def _run_session(self) -> None:
        """Connect, call `_on_connected()`, deliver until the connection is lost, clean up."""

    async def _supervise(self) -> None:
        while True:
            self._set_status("connecting")
            try:
                await self._run_session()
                error = "connection closed"
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = describe(exc)
            was_connected = self._status.state == "connected"
            self._connected_event.clear()
            self._set_status("disconnected", error)
            self._mark_all_bad()
            if was_connected:
                self._backoff.reset()
                log.warning(
                    "%s.lost connection=%s endpoint=%s error=%r",
                    self.kind,
                    self._connection.id,
                    self.target,
                    error,
                )
            else:
                log.info(
                    "%s.connect_failed connection=%s endpoint=%s error=%r",
                    self.kind,
                    self._connection.id,
                    self.target,
                    error,
                )
            await asyncio.sleep(self._backoff.next())

    def _on_connected(self) -> None:
        """Called by the session once the connection is up and subscribed/polled."""
        reconnects = self._status.reconnects + (1 if self._ever_connected else 0)
        self._ever_connected = True
        self._set_status("connected", "", reconnects)
        self._connected_event.set()
        log.info(
            "%s.connected connection=%s endpoint=%s tags=%d reconnects=%d",
            self.kind,
            self._connection.id,
            self.target,
            len(self._tags),
            reconnects,
        )

    def _set_status(
        self, state: ConnectionState, error: str | None = None, reconnects: int | None = None
    ) -> None:
        old = self._status
        self._status = ConnectionStatus(
            connection=old.connection,
            state=state,
            since=self._clock() if state != old.state else old.since,
            last_error=old.last_error if error is None else error,
            reconnects=old.reconnects if reconnects is None else reconnects,
        )
        if self._on_status is not None and self._status != old:
            try:
                self._on_status(self._status)
            except Exception:
                log.exception("%s.on_status_failed connection=%s", self.kind, self._connection.id)

    def _deliver(self, samples: Iterable[Sample]) -> None:
        """Deliver one batch (deadband applied) in one on_samples call; nothing when empty."""
        batch = self._deadband.filter(samples)
        if not batch:
            return
        try:
            self._on_samples(batch)
        except Exception:
            log.exception("%s.on_samples_failed connection=%s", self.kind, self._connection.id)

    def _mark_all_bad(self) -> None:
        """Every tag BAD at once (last known value kept), in one on_samples call."""
        ts = self._clock()
        samples = []
        for tag_id in self._tags:
            last = self._deadband.last(tag_id)
            samples.append(Sample(tag_id, ts, None if last is None else last.value, Quality.BAD))
        self._deliver(samples)

    def _tag(self, tag_id: str) -> Tag:
        try:
            return self._tags[tag_id]
        except KeyError:
            raise DriverError(f"tag {tag_id} is not on connection {self._connection.id}") from None

    def _require_connected(self, action: str, tag_id: str | None, session: T | None) -> T:
        """The live session (client) for a request; DriverError while not connected."""
        if self._status.state != "connected" or session is None:
            what = f"{action} {tag_id}" if tag_id else action
            state = self._status.state if self._status.state != "connected" else "reconnecting"
            raise DriverError(
                f"cannot {what}: connection {self._connection.id} ({self.target}) is {state}"
                + (f" ({self._status.last_error})" if self._status.last_error else "")
            )
        return session

    def _raw_for_write(self, tag: Tag, value: Any) -> bool | int | float | str:
        """Inverse scaling and type coercion for a write; DriverError naming the tag."""
        if not tag.writable:
            raise DriverError(
                f"cannot write {tag.id}: the tag is not writable (mark it writable with an "
                "envelope in the project)"
            )
        try:
            return coerce_raw(tag, to_raw(tag, value))
        except ValueError as exc:
            raise DriverError(f"cannot write {tag.id} ({tag.type}): {exc}") from None
