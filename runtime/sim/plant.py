"""The simulated plant: the pump line model served over OPC UA (the PLC) and Modbus TCP (the VFD).

A tick task steps the model and publishes every reading to both servers. Client writes act on
the model and are logged with the monotonic time they arrived, so benchmarks can measure the
runtime's reflex latency from an `override` to the write it provokes.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from types import TracebackType
from typing import Any

from runtime.sim.errors import InvalidFault, UnknownFault
from runtime.sim.modbus_server import ModbusSimServer
from runtime.sim.model import Fault, PumpLineModel, Reading, Signal, Value
from runtime.sim.opcua_server import OpcUaSimServer
from runtime.sim.standard_nodes import StandardNodes
from runtime.sim.writes import SimWrite, WriteLog, WritePredicate

_log = logging.getLogger(__name__)

_METHOD_REPLY_GRACE_S = 0.05


class SimPlant:
    """Pump P-101 and its VFD on loopback servers; start() it, use it, stop() it (or `async with`).

    Port 0 picks a free port; after start() `opcua_url` and `modbus_port` tell the real ones.
    stop() leaves no task, thread or socket behind. Plants sharing one StandardNodes start
    in ~0.1 s instead of ~1 s (asyncua's standard address space is copied, not rebuilt).
    """

    def __init__(
        self,
        seed: int = 1,
        opcua_port: int = 0,
        modbus_port: int = 0,
        host: str = "127.0.0.1",
        tick_s: float = 0.1,
        extra_tags: int = 0,
        standard_nodes: StandardNodes | None = None,
    ) -> None:
        if not tick_s > 0.0:
            raise ValueError(f"tick_s must be positive, got {tick_s}")
        self._tick_s = tick_s
        self._model = PumpLineModel(seed, extra_tags=extra_tags)
        self._log = WriteLog()
        self._opcua = OpcUaSimServer(
            host,
            opcua_port,
            self._model.synth_signals,
            self._on_client_write,
            self._on_method_inject,
            self._on_method_clear,
            standard_nodes,
        )
        self._modbus = ModbusSimServer(
            host, modbus_port, self._model.synth_signals, self._on_client_write
        )
        self._tick_task: asyncio.Task[None] | None = None
        self._offline_tasks: set[asyncio.Task[None]] = set()
        self._ticks = 0
        self._tick_cond: asyncio.Condition | None = None
        self._started = False

    # -- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> SimPlant:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start both servers with the initial readings published, then the tick task."""
        if self._started:
            return
        t0 = time.monotonic()
        readings = self._model.readings()
        self._modbus.publish(readings)
        await self._modbus.start()
        try:
            await self._opcua.start(readings)
        except BaseException:
            await self._modbus.stop()
            raise
        self._tick_cond = asyncio.Condition()
        self._started = True
        self._tick_task = asyncio.create_task(self._tick_loop(), name="sim-plant-tick")
        _log.info(
            "sim.plant.started opcua_url=%s modbus=%s:%d tick_s=%s extra_tags=%d start_s=%.3f",
            self.opcua_url,
            self.modbus_host,
            self.modbus_port,
            self._tick_s,
            len(self._model.synth_signals),
            time.monotonic() - t0,
        )

    async def stop(self) -> None:
        """Stop ticking and both servers; safe to call twice and after a failed start."""
        t0 = time.monotonic()
        tasks = [t for t in (self._tick_task, *self._offline_tasks) if t is not None]
        self._tick_task = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._modbus.stop()
        await self._opcua.stop()
        if self._started:
            _log.info("sim.plant.stopped stop_s=%.3f", time.monotonic() - t0)
        self._started = False

    # -- where clients connect -----------------------------------------------------------

    @property
    def opcua_url(self) -> str:
        """OPC UA endpoint URL, e.g. opc.tcp://127.0.0.1:48123/lineside/sim."""
        return self._opcua.url

    @property
    def modbus_host(self) -> str:
        """Host of the Modbus TCP server."""
        return self._modbus.host

    @property
    def modbus_port(self) -> int:
        """Port of the Modbus TCP server (the real one after start)."""
        return self._modbus.port

    @property
    def model(self) -> PumpLineModel:
        """The model behind the servers, for assertions; act on it through the plant's methods."""
        return self._model

    @property
    def ticks(self) -> int:
        """Ticks done since start."""
        return self._ticks

    @property
    def plc_is_online(self) -> bool:
        """True while the OPC UA server accepts connections."""
        return self._opcua.online

    @property
    def vfd_is_online(self) -> bool:
        """True while the Modbus server accepts connections."""
        return self._modbus.online

    async def wait_ticks(self, count: int = 1, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until `count` more ticks have been published (TimeoutError otherwise)."""
        if self._tick_cond is None:
            raise RuntimeError("the plant is not started")
        target = self._ticks + count
        async with asyncio.timeout(timeout), self._tick_cond:
            await self._tick_cond.wait_for(lambda: self._ticks >= target)

    # -- faults and overrides ------------------------------------------------------------

    def inject(self, kind: str, **params: Any) -> None:
        """Inject a fault by kind with its parameters.

        bearing_wear(rate), cavitation(severity), sensor_stuck(signal), sensor_dropout(signal),
        plc_offline(seconds=None), vfd_offline(seconds=None), plc_online, vfd_online.

        Model faults show from the next tick; the on/offline kinds run as a task of the plant
        (with seconds, the server comes back by itself).
        """
        if kind in Fault.SERVERS:
            self._schedule_server_fault(kind, params.get("seconds"))
        else:
            self._model.inject(kind, **params)
        _log.info("sim.fault.injected kind=%s params=%s", kind, params)

    def clear(self, kind: str, signal: str | None = None) -> None:
        """Clear a fault (plc_offline/vfd_offline bring the server back online)."""
        if kind in (Fault.PLC_OFFLINE, Fault.PLC_ONLINE):
            self._schedule_server_fault(Fault.PLC_ONLINE, None)
        elif kind in (Fault.VFD_OFFLINE, Fault.VFD_ONLINE):
            self._schedule_server_fault(Fault.VFD_ONLINE, None)
        else:
            self._model.clear(kind, signal)
        _log.info("sim.fault.cleared kind=%s signal=%s", kind, signal)

    def inject_spec(self, kind: str, target: str = "", value: float = math.nan) -> None:
        """Inject from the flat (kind, target, value) form used by the CLI and the OPC UA method."""
        number = None if value is None or math.isnan(value) else float(value)
        if kind == Fault.BEARING_WEAR:
            self.inject(kind, rate=_required(kind, "value (rate per second)", number))
        elif kind == Fault.CAVITATION:
            self.inject(kind, severity=_required(kind, "value (severity 0..1)", number))
        elif kind in (Fault.SENSOR_STUCK, Fault.SENSOR_DROPOUT):
            self.inject(kind, signal=target)
        elif kind in Fault.SERVERS:
            self.inject(kind, seconds=number if number is not None and number > 0 else None)
        else:
            raise UnknownFault(f"fault {kind!r}", f"unknown fault; known: {', '.join(Fault.ALL)}")

    async def override(self, signal: str, value: Value) -> float:
        """Force a signal to a value on both servers now; returns time.monotonic() once served."""
        self._model.override(signal, value)
        return await self._publish_now(signal)

    async def release(self, signal: str) -> float:
        """End an override, serving the live value now; returns time.monotonic() once served."""
        self._model.release(signal)
        return await self._publish_now(signal)

    async def plc_offline(self) -> None:
        """Stop the OPC UA server: clients see their connection drop, new ones are refused."""
        await self._opcua.go_offline()

    async def plc_online(self) -> None:
        """Serve OPC UA again on the same port."""
        await self._opcua.go_online()

    async def vfd_offline(self) -> None:
        """Stop the Modbus server: clients see their connection drop, new ones are refused."""
        await self._modbus.stop()

    async def vfd_online(self) -> None:
        """Serve Modbus again on the same port."""
        await self._modbus.start()

    # -- client writes -------------------------------------------------------------------

    @property
    def writes(self) -> tuple[SimWrite, ...]:
        """Client writes received (the last 10 000), oldest first."""
        return self._log.writes

    async def wait_for_write(
        self,
        predicate: WritePredicate | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline per wait is the API benchmarks use
        *,
        since: float | None = None,
    ) -> SimWrite:
        """The oldest write matching `predicate` (received at or after `since`), waiting for it.

        Without `since` writes received before the call count too, so a write racing ahead of
        the wait is not missed; pass the time from `override` to only count the reaction to it.
        Raises TimeoutError after `timeout` seconds.
        """
        return await self._log.wait_for(predicate, timeout, since)

    def _on_client_write(self, write: SimWrite, signal: str) -> None:
        """Apply a client write to the model, then log it (waking waiters)."""
        if signal in (Signal.SPEED_SETPOINT, Signal.VFD_SETPOINT):
            applied = self._model.set_speed_setpoint(float(write.value))
            if applied != write.value:
                _log.warning(
                    "sim.write.clamped address=%s value=%s applied=%s",
                    write.address,
                    write.value,
                    applied,
                )
        elif signal == Signal.TRIP:
            self._model.set_trip(bool(write.value))
        elif signal == Signal.VFD_RUN_COMMAND:
            self._model.set_run_command(bool(write.value))
        self._log.record(write)
        _log.info(
            "sim.write server=%s address=%s value=%s", write.server, write.address, write.value
        )

    def _on_method_inject(self, kind: str, target: str, value: float) -> None:
        seconds = None if value is None or math.isnan(value) or value <= 0 else float(value)
        if kind == Fault.PLC_OFFLINE and seconds is None:
            raise InvalidFault(
                f"fault {kind}",
                "value must be the seconds offline (> 0): nobody could call ClearFault meanwhile",
            )
        if kind in Fault.SERVERS:
            # Delay the change so the method's reply goes out before the connection drops.
            self._schedule_server_fault(kind, seconds, delay=_METHOD_REPLY_GRACE_S)
            _log.info("sim.fault.injected kind=%s seconds=%s via=opcua_method", kind, seconds)
            return
        self.inject_spec(kind, target or "", math.nan if value is None else float(value))

    def _on_method_clear(self, kind: str) -> None:
        if kind in Fault.SERVERS:
            online = Fault.PLC_ONLINE if kind.startswith("plc") else Fault.VFD_ONLINE
            self._schedule_server_fault(online, None, delay=_METHOD_REPLY_GRACE_S)
            return
        self.clear(kind)

    # -- ticking and publishing ----------------------------------------------------------

    async def _tick_loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time() + self._tick_s
        while True:
            await asyncio.sleep(max(next_at - loop.time(), 0.0))
            next_at += self._tick_s
            if next_at < loop.time():  # fell behind (e.g. a stalled loop): do not try to catch up
                next_at = loop.time() + self._tick_s
            self._model.step(self._tick_s)
            try:
                await self._publish(self._model.readings())
            except Exception:
                _log.exception("sim.plant.publish_failed tick=%d", self._ticks)
            self._ticks += 1
            if self._tick_cond is not None:
                async with self._tick_cond:
                    self._tick_cond.notify_all()

    async def _publish(self, readings: dict[str, Reading]) -> None:
        self._modbus.publish(readings)
        await self._opcua.publish(readings)

    async def _publish_now(self, signal: str) -> float:
        await self._publish({signal: self._model.reading(signal)})
        return time.monotonic()

    def _schedule_server_fault(self, kind: str, seconds: float | None, delay: float = 0.0) -> None:
        task = asyncio.get_running_loop().create_task(
            self._server_fault(kind, seconds, delay), name=f"sim-{kind}"
        )
        self._offline_tasks.add(task)
        task.add_done_callback(self._offline_tasks.discard)

    async def _server_fault(self, kind: str, seconds: float | None, delay: float) -> None:
        go_down, come_back = {
            Fault.PLC_OFFLINE: (self.plc_offline, self.plc_online),
            Fault.PLC_ONLINE: (None, self.plc_online),
            Fault.VFD_OFFLINE: (self.vfd_offline, self.vfd_online),
            Fault.VFD_ONLINE: (None, self.vfd_online),
        }[kind]
        if delay > 0.0:
            await asyncio.sleep(delay)
        if go_down is None:
            await come_back()
            return
        await go_down()
        if seconds is not None:
            await asyncio.sleep(seconds)
            await come_back()


def _required(kind: str, what: str, value: float | None) -> float:
    if value is None:
        raise InvalidFault(f"fault {kind}", f"needs {what}")
    return float(value)
