"""Supervised tasks: a crash or an unexpected end is logged, counted, shown and restarted
with backoff; the write worker survives a write that raises anything."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest

from runtime.actions import LiveActions
from runtime.contracts import DriverError, Event, WriteRequest
from runtime.supervision import Supervisor


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


async def test_a_crashing_task_is_logged_counted_and_restarted(caplog):
    runs: list[int] = []

    async def body() -> None:
        runs.append(len(runs))
        if len(runs) <= 3:
            raise RuntimeError("sensor table corrupt")
        await asyncio.Event().wait()  # the fourth run stays up

    supervisor = Supervisor(backoff_initial_s=0.01, backoff_cap_s=0.02)
    supervisor.start("worker", body)
    try:
        await until(lambda: len(runs) == 4 and supervisor.status()[0].state == "running")
        (status,) = supervisor.status()
        assert (status.name, status.crashes) == ("worker", 3)
        assert status.last_error == "RuntimeError: sensor table corrupt"
        assert status.last_crash_ts is not None
        crashed = [r for r in caplog.records if "task.crashed" in r.getMessage()]
        assert len(crashed) == 3
        assert [bool(r.exc_info) for r in crashed] == [True, False, False]  # traceback once
    finally:
        await supervisor.stop_all()
    assert supervisor.status() == []


async def test_a_task_that_returns_is_restarted_too():
    ended = 0

    async def body() -> None:
        nonlocal ended
        ended += 1

    supervisor = Supervisor(backoff_initial_s=0.01, backoff_cap_s=0.01)
    supervisor.start("consumer", body)
    try:
        await until(lambda: ended >= 3)
        assert supervisor.status()[0].last_error == "ended although it should run until stopped"
        assert supervisor.crashes() >= 2
    finally:
        await supervisor.stop("consumer")


async def test_stopping_ends_a_task_that_swallows_its_cancellation(caplog):
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(0.01)  # a protocol client racing a reply loses the cancel
            except asyncio.CancelledError:
                swallowed += 1
                if swallowed > 1:
                    raise

    supervisor = Supervisor()
    supervisor.start("modbus-hub:vfd", stubborn)
    await asyncio.sleep(0.02)
    await asyncio.wait_for(supervisor.stop("modbus-hub:vfd"), 5)
    assert swallowed == 2 and supervisor.status() == []
    assert "task.cancel_repeated task=modbus-hub:vfd" in caplog.text


async def test_a_name_runs_once():
    supervisor = Supervisor()
    supervisor.start("advance", asyncio.Event().wait)
    try:
        with pytest.raises(ValueError, match="already running"):
            supervisor.start("advance", asyncio.Event().wait)
    finally:
        await supervisor.stop_all()


async def test_the_write_worker_survives_a_write_that_raises_anything(caplog):
    done: list[tuple[str, float]] = []
    audited: list[tuple[str, str, str]] = []

    async def writer(tag: str, value: float) -> None:
        if value == 1.0:
            raise TypeError("unsupported operand")  # a bug, not a DriverError
        if value == 2.0:
            raise DriverError("connection vfd is disconnected")
        done.append((tag, value))

    def audit(action: str, target: str, result: str, **kw: object) -> None:
        audited.append((target, result, str(kw["details"]["error"])))  # type: ignore[index]

    def nothing(*_: object) -> None:
        pass

    supervisor = Supervisor()
    actions = LiveActions(writer, nothing, nothing, audit, supervisor=supervisor)
    actions.start()
    try:
        for value in (1.0, 2.0, 3.0, 1.0, 4.0):
            actions.write(WriteRequest("VFD.speed_sp", value, 0.0, "f", "n"))
        await until(lambda: len(done) == 2)
        await actions.drain()
    finally:
        await actions.stop()
    assert done == [("VFD.speed_sp", 3.0), ("VFD.speed_sp", 4.0)]
    assert [a[1] for a in audited] == ["failed", "failed", "ok", "failed", "ok"]
    assert audited[0][2] == "TypeError: unsupported operand"
    assert (actions.writes_done, actions.writes_failed) == (2, 3)
    tracebacks = [r for r in caplog.records if "actions.write_failed" in r.getMessage()]
    assert len(tracebacks) == 1 and tracebacks[0].levelno == logging.ERROR
    assert supervisor.crashes() == 0


def test_an_event_is_recorded_and_kept_for_the_console():
    recorded: list[Event] = []
    actions = LiveActions(lambda t, v: None, lambda m, e: None, recorded.append,
                          lambda *a, **k: None)
    event = Event("alarm.raised", 1.0, "f", "n", {"alarm": "A"})
    actions.event(event)
    assert recorded == [event] and list(actions.recent) == [event]
