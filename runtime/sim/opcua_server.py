"""The PLC's OPC UA server: P101 tags, synthetic tags and the Simulation methods, over asyncua.

Fixed address map (namespace `urn:lineside:sim`, index 2, string node ids):
Objects/PumpLine/P101/P101.<Name> for the pump, Objects/Synth/Synth.NNNN for load-test tags,
Objects/Simulation with InjectFault(kind, target, value) and ClearFault(kind).
A signal with bad quality is published with status BadSensorFailure and a null value.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from copy import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asyncua import Node, Server, ua
from asyncua.common.callback import CallbackType, ServerItemCallback

from runtime.sim.errors import SimError
from runtime.sim.model import Reading, Signal
from runtime.sim.standard_nodes import PrebuiltInternalServer, StandardNodes, gc_paused
from runtime.sim.writes import SimWrite

NAMESPACE_URI = "urn:lineside:sim"
ENDPOINT_PATH = "/lineside/sim"
_CLOCK_PERIOD_S = 1.0

_log = logging.getLogger(__name__)

# (signal, variant type, writable) under PumpLine/P101, in browse order.
_P101_VARIABLES: tuple[tuple[str, ua.VariantType, bool], ...] = (
    (Signal.VIBRATION, ua.VariantType.Double, False),
    (Signal.BEARING_TEMP, ua.VariantType.Double, False),
    (Signal.MOTOR_CURRENT, ua.VariantType.Double, False),
    (Signal.FLOW, ua.VariantType.Double, False),
    (Signal.DISCHARGE_PRESSURE, ua.VariantType.Double, False),
    (Signal.RUNNING, ua.VariantType.Boolean, False),
    (Signal.SPEED_SETPOINT, ua.VariantType.Double, True),
    (Signal.TRIP, ua.VariantType.Boolean, True),
)

# Loggers of asyncua's server side; its client side is left to whoever configures logging.
_SERVER_LOGGERS = (
    "asyncua.server",
    "asyncua.common.manage_nodes",
    "asyncua.common.instantiate_util",
)

ClientWriteHandler = Callable[[SimWrite, str], None]
FaultHandler = Callable[[str, str, float], None]
ClearHandler = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class _Variable:
    signal: str
    nodeid: ua.NodeId
    vtype: ua.VariantType


def quiet_asyncua_server_logs() -> None:
    """Set asyncua's server loggers to WARNING unless someone chose a level for them already."""
    for name in _SERVER_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


class OpcUaSimServer:
    """asyncua Server holding the plant's tags; client writes and method calls go to the plant.

    Going offline closes the listening socket and every client connection but keeps the
    address space, so coming back online is instant and serves on the same port.
    """

    def __init__(
        self,
        host: str,
        port: int,
        synth_signals: tuple[str, ...],
        on_write: ClientWriteHandler,
        on_inject: FaultHandler,
        on_clear: ClearHandler,
        standard_nodes: StandardNodes | None = None,
    ) -> None:
        self._host = host
        self._standard_nodes = standard_nodes
        self._requested_port = port
        self._port: int | None = None
        self._synth_signals = synth_signals
        self._on_write = on_write
        self._on_inject = on_inject
        self._on_clear = on_clear
        self._server: Server | None = None
        self._variables: dict[str, _Variable] = {}
        self._writable: dict[ua.NodeId, _Variable] = {}
        self._online = False
        self._last_clock = 0.0

    @property
    def port(self) -> int:
        """The port listened on (the real one once started, even when 0 was asked for)."""
        return self._port if self._port is not None else self._requested_port

    @property
    def url(self) -> str:
        """Endpoint URL clients connect to."""
        return f"opc.tcp://{self._host}:{self.port}{ENDPOINT_PATH}"

    @property
    def online(self) -> bool:
        """True while clients can connect."""
        return self._online

    async def start(self, initial: Mapping[str, Reading]) -> None:
        """Build the address space with the initial readings and listen.

        Takes ~0.6 s, mostly asyncua building its standard nodes; ~0.15 s with StandardNodes.
        """
        quiet_asyncua_server_logs()
        if self._standard_nodes is None:
            server = Server()
        else:
            server = Server(iserver=PrebuiltInternalServer(self._standard_nodes))
        server.set_server_name("Lineside simulated plant")
        # asyncua's clock task makes stop() wait up to 1 s; publish() keeps the time instead.
        server.disable_clock()
        with gc_paused():  # asyncua makes ~80 000 long-lived objects here; see gc_paused
            await server.init()
            server.set_endpoint(f"opc.tcp://{self._host}:{self._requested_port}{ENDPOINT_PATH}")
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
            server.set_identity_tokens([ua.AnonymousIdentityToken])
            idx = await server.register_namespace(NAMESPACE_URI)
            await self._build_address_space(server, idx, initial)
        server.subscribe_server_callback(CallbackType.PostWrite, self._post_write)
        await server.start()  # on failure (port taken) asyncua stops what it started and raises
        self._server = server
        assert server.bserver is not None
        # asyncua's BinaryServer reads the bound socket when asked for port 0; GetEndpoints
        # answers are rewritten to the URL the client used, so the 0 in set_endpoint never shows.
        self._port = server.bserver.port
        server.set_endpoint(self.url)
        self._online = True
        _log.info("sim.opcua.started url=%s namespace_index=%d", self.url, idx)

    async def stop(self) -> None:
        """Stop listening and release everything asyncua started; safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        self._online = False
        server.unsubscribe_server_callback(CallbackType.PostWrite, self._post_write)
        # asyncua keeps sessions of lost clients for reactivation and Server.stop() leaves
        # their timeout and subscription tasks running: close them first.
        for session in list(server.iserver._external_sessions.values()):
            await session.close_session(True)
        await server.stop()
        _log.info("sim.opcua.stopped url=%s", self.url)

    async def go_offline(self) -> None:
        """Drop every client connection and stop listening; the address space stays."""
        if self._server is None or self._server.bserver is None or not self._online:
            return
        self._online = False
        await self._server.bserver.stop()
        _log.info("sim.opcua.offline url=%s", self.url)

    async def go_online(self) -> None:
        """Listen again on the same port."""
        if self._server is None or self._server.bserver is None or self._online:
            return
        await self._server.bserver.start()
        self._online = True
        _log.info("sim.opcua.online url=%s", self.url)

    async def publish(self, readings: Mapping[str, Reading]) -> None:
        """Write readings into the address space (subscribers are notified of changes)."""
        server = self._server
        if server is None:
            return
        now = datetime.now(UTC)
        for signal, reading in readings.items():
            var = self._variables.get(signal)
            if var is not None:
                await server.write_attribute_value(var.nodeid, _data_value(var, reading, now))
        mono = time.monotonic()
        if mono - self._last_clock >= _CLOCK_PERIOD_S:
            self._last_clock = mono
            await self._publish_clock(server, now)

    async def _publish_clock(self, server: Server, now: datetime) -> None:
        status_id = ua.NodeId(ua.ObjectIds.Server_ServerStatus)  # type: ignore[arg-type]  # asyncua hints ua.Int32, takes int
        current = server.read_attribute_value(status_id).Value
        status = copy(current.Value) if current is not None else None
        if status is not None:
            status.CurrentTime = now
            variant = ua.Variant(status, ua.VariantType.ExtensionObject)
            await server.write_attribute_value(status_id, ua.DataValue(variant))
        time_id = ua.NodeId(ua.ObjectIds.Server_ServerStatus_CurrentTime)  # type: ignore[arg-type]  # asyncua hints ua.Int32, takes int
        variant = ua.Variant(now, ua.VariantType.DateTime)
        await server.write_attribute_value(time_id, ua.DataValue(variant))

    async def _build_address_space(
        self, server: Server, idx: int, initial: Mapping[str, Reading]
    ) -> None:
        objects = server.nodes.objects
        line = await objects.add_folder(ua.NodeId("PumpLine", idx), _name("PumpLine", idx))  # type: ignore[arg-type]  # asyncua hints ua.String, ua.Int16
        p101 = await line.add_folder(ua.NodeId("P101", idx), _name("P101", idx))  # type: ignore[arg-type]  # asyncua hints ua.String, ua.Int16
        for signal, vtype, writable in _P101_VARIABLES:
            await self._add_variable(p101, idx, signal, vtype, writable, initial[signal])
        if self._synth_signals:
            synth = await objects.add_folder(ua.NodeId("Synth", idx), _name("Synth", idx))  # type: ignore[arg-type]  # asyncua hints ua.String, ua.Int16
            for signal in self._synth_signals:
                double = ua.VariantType.Double
                await self._add_variable(synth, idx, signal, double, False, initial[signal])
        sim = await objects.add_object(ua.NodeId("Simulation", idx), _name("Simulation", idx))  # type: ignore[arg-type]  # asyncua hints ua.String, ua.Int16
        await sim.add_method(
            ua.NodeId("Simulation.InjectFault", idx),  # type: ignore[arg-type]  # asyncua hints ua.String, ua.Int16
            ua.QualifiedName("InjectFault", idx),
            _method(self._inject_fault),
            [
                _argument(
                    "kind", ua.VariantType.String, "bearing_wear, cavitation, sensor_stuck..."
                ),
                _argument("target", ua.VariantType.String, "signal for sensor faults, else empty"),
                _argument("value", ua.VariantType.Double, "rate, severity, or seconds offline"),
            ],
            [],
        )
        await sim.add_method(
            ua.NodeId("Simulation.ClearFault", idx),  # type: ignore[arg-type]  # asyncua hints ua.String, ua.Int16
            ua.QualifiedName("ClearFault", idx),
            _method(self._clear_fault),
            [_argument("kind", ua.VariantType.String, "the fault kind to clear")],
            [],
        )

    async def _add_variable(
        self,
        parent: Node,
        idx: int,
        signal: str,
        vtype: ua.VariantType,
        writable: bool,
        reading: Reading,
    ) -> None:
        short = signal.split(".", 1)[1]
        node = await parent.add_variable(
            ua.NodeId(signal, idx), _name(short, idx), _initial_value(vtype, reading), vtype  # type: ignore[arg-type]  # asyncua hints ua.String, ua.Int16
        )
        var = _Variable(signal, node.nodeid, vtype)
        self._variables[signal] = var
        if writable:
            await node.set_writable()
            self._writable[node.nodeid] = var

    async def _post_write(self, event: ServerItemCallback, _dispatcher: Any) -> None:
        """Report each accepted client write of a command tag to the plant, stamped now."""
        ts = time.monotonic()
        if not event.is_external:
            return
        results = event.response_params or []
        for item, status in zip(event.request_params.NodesToWrite, results, strict=False):
            var = self._writable.get(item.NodeId)
            if var is None or item.AttributeId != ua.AttributeIds.Value or not status.is_good():
                continue
            variant = item.Value.Value if item.Value is not None else None
            if variant is None or variant.Value is None:
                continue
            raw = variant.Value
            value = bool(raw) if var.vtype == ua.VariantType.Boolean else float(raw)
            self._on_write(SimWrite("opcua", var.nodeid.to_string(), value, ts), var.signal)

    async def _inject_fault(self, kind: str, target: str, value: float) -> ua.StatusCode:
        self._on_inject(kind, target, value)
        return ua.StatusCode(ua.StatusCodes.Good)  # type: ignore[arg-type]  # asyncua hints ua.UInt32, takes int

    async def _clear_fault(self, kind: str) -> ua.StatusCode:
        self._on_clear(kind)
        return ua.StatusCode(ua.StatusCodes.Good)  # type: ignore[arg-type]  # asyncua hints ua.UInt32, takes int


MethodCallback = Callable[..., Awaitable[ua.StatusCode]]


def _name(name: str, idx: int) -> ua.QualifiedName:
    return ua.QualifiedName(name, idx)


def _method(handler: MethodCallback) -> MethodCallback:
    """An asyncua method callback (async, so asyncua runs it on the loop, not in a thread pool)."""

    async def call(_parent: ua.NodeId, *args: ua.Variant) -> ua.StatusCode:
        values = [arg.Value for arg in args]
        try:
            return await handler(*values)
        except SimError as exc:
            _log.warning("sim.opcua.method_refused method=%s error=%s", handler.__name__, exc)
            return ua.StatusCode(ua.StatusCodes.BadInvalidArgument)  # type: ignore[arg-type]  # asyncua hints ua.UInt32, takes int
        except TypeError as exc:
            _log.warning("sim.opcua.method_refused method=%s error=%s", handler.__name__, exc)
            return ua.StatusCode(ua.StatusCodes.BadArgumentsMissing)  # type: ignore[arg-type]  # asyncua hints ua.UInt32, takes int

    return call


def _argument(name: str, vtype: ua.VariantType, description: str) -> ua.Argument:
    arg = ua.Argument()
    arg.Name = name
    arg.DataType = ua.NodeId(vtype.value)  # type: ignore[arg-type]  # asyncua hints ua.Int32, takes int
    arg.ValueRank = -1
    arg.Description = ua.LocalizedText(description)
    return arg


def _initial_value(vtype: ua.VariantType, reading: Reading) -> Any:
    if vtype == ua.VariantType.Boolean:
        return bool(reading.value)
    return float(reading.value)


def _data_value(var: _Variable, reading: Reading, now: datetime) -> ua.DataValue:
    if not reading.good:
        return ua.DataValue(
            ua.Variant(None, ua.VariantType.Null),
            StatusCode=ua.StatusCode(ua.StatusCodes.BadSensorFailure),  # type: ignore[arg-type]  # asyncua hints ua.UInt32, takes int
            SourceTimestamp=now,  # type: ignore[arg-type]  # asyncua hints ua.DateTime, takes datetime
            ServerTimestamp=now,  # type: ignore[arg-type]  # asyncua hints ua.DateTime, takes datetime
        )
    value = bool(reading.value) if var.vtype == ua.VariantType.Boolean else float(reading.value)
    return ua.DataValue(ua.Variant(value, var.vtype), SourceTimestamp=now, ServerTimestamp=now)  # type: ignore[arg-type]  # asyncua hints ua.DateTime, takes datetime
