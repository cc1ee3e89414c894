"""The VFD's Modbus TCP server over pymodbus 3.x (SimDevice API), device id 1, big-endian words.

Fixed register map:
  holding 0-1 speed setpoint float32 Hz (writable, 0..60)
  input 0-1 actual speed float32 Hz; 2-3 motor current float32 A; 4-7 energy float64 kWh;
  8 DC bus voltage uint16 V; 9 drive temperature int16 0.1 °C; 10-11 run seconds uint32;
  12-13 torque int32 0.1 % (signed); 1000+2i synthetic tag i float32
  coil 0 run command (writable); discrete input 0 running, 1 fault (trip latched)
Modbus has no quality: a signal with bad quality keeps its last value (frozen).
A write to either setpoint register is checked as the float32 it makes (0..60 Hz, else
ILLEGAL_VALUE) and logged as address "hr:0"; a write to coil 0 is logged as "coil:0".
"""

from __future__ import annotations

import logging
import math
import struct
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice
from pymodbus.simulator.simutils import SimUtils

from runtime.sim.model import MAX_SETPOINT_HZ, Reading, Signal
from runtime.sim.writes import SimWrite

DEVICE_ID = 1
SYNTH_BASE = 1000

_log = logging.getLogger(__name__)

ClientWriteHandler = Callable[[SimWrite, str], None]

# struct format and register count of each encoding (all big-endian).
_ENCODINGS: dict[str, tuple[str, int]] = {
    "float32": (">f", 2),
    "float64": (">d", 4),
    "uint16": (">H", 1),
    "int16": (">h", 1),
    "uint32": (">I", 2),
    "int32": (">i", 2),
}
_FC_AREA = {
    **dict.fromkeys((1, 5, 15), "coil"),
    2: "di",
    **dict.fromkeys((3, 6, 16, 22, 23), "hr"),
    4: "ir",
}


@dataclass(frozen=True, slots=True)
class Field:
    """One value in the register map: area, first address, encoding, signal and scale to raw."""

    area: str
    address: int
    encoding: str
    signal: str
    scale: float = 1.0

    @property
    def end(self) -> int:
        """The address after the field's last register."""
        return self.address + _ENCODINGS[self.encoding][1]


REGISTER_MAP: tuple[Field, ...] = (
    Field("hr", 0, "float32", Signal.VFD_SETPOINT),
    Field("ir", 0, "float32", Signal.VFD_SPEED),
    Field("ir", 2, "float32", Signal.VFD_CURRENT),
    Field("ir", 4, "float64", Signal.VFD_ENERGY),
    Field("ir", 8, "uint16", Signal.VFD_DC_BUS),
    Field("ir", 9, "int16", Signal.VFD_DRIVE_TEMP, 10.0),
    Field("ir", 10, "uint32", Signal.VFD_RUN_SECONDS),
    Field("ir", 12, "int32", Signal.VFD_TORQUE, 10.0),
)
BIT_MAP: tuple[tuple[str, int, str], ...] = (
    ("coil", 0, Signal.VFD_RUN_COMMAND),
    ("di", 0, Signal.VFD_RUNNING),
    ("di", 1, Signal.VFD_FAULT),
)


def encode(value: float | int | bool, encoding: str, scale: float = 1.0) -> list[int]:
    """Registers of a value, scaled, rounded and clamped to the integer types' range."""
    fmt, _count = _ENCODINGS[encoding]
    raw = float(value) * scale
    if encoding.startswith("float"):
        return _registers(struct.pack(fmt, raw))
    bits = struct.calcsize(fmt) * 8
    if encoding.startswith("u"):
        lo, hi = 0, 2**bits - 1
    else:
        lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    number = 0 if not math.isfinite(raw) else min(max(round(raw), lo), hi)
    return _registers(struct.pack(fmt, number))


def decode(registers: list[int], encoding: str, scale: float = 1.0) -> float:
    """Value of registers in an encoding, divided by the scale."""
    fmt, count = _ENCODINGS[encoding]
    data = b"".join(r.to_bytes(2, "big") for r in registers[:count])
    return struct.unpack(fmt, data)[0] / scale


def _registers(data: bytes) -> list[int]:
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


class ModbusSimServer:
    """pymodbus TCP server whose registers mirror the plant; client writes go to the plant.

    The plant writes its readings into a register image; the SimDevice action copies the image
    into pymodbus' registers on every read and vets every write before pymodbus stores it.
    """

    def __init__(
        self, host: str, port: int, synth_signals: tuple[str, ...], on_write: ClientWriteHandler
    ) -> None:
        self._host = host
        self._port = port
        self._on_write = on_write
        self._fields = REGISTER_MAP + tuple(
            Field("ir", SYNTH_BASE + 2 * i, "float32", name) for i, name in enumerate(synth_signals)
        )
        self._by_signal = {f.signal: f for f in self._fields}
        self._bits_by_signal = {signal: (area, addr) for area, addr, signal in BIT_MAP}
        ir_size = max(f.end for f in self._fields if f.area == "ir")
        self._image: dict[str, list[int]] = {"hr": [0, 0], "ir": [0] * ir_size}
        self._bits: dict[str, list[bool]] = {"coil": [False] * 16, "di": [False] * 16}
        self._server: ModbusTcpServer | None = None

    @property
    def host(self) -> str:
        """Host the server listens on."""
        return self._host

    @property
    def port(self) -> int:
        """The port listened on (the real one once started, even when 0 was asked for)."""
        return self._port

    @property
    def online(self) -> bool:
        """True while clients can connect."""
        return self._server is not None

    async def start(self) -> None:
        """Listen on host:port; with port 0 the port picked is read from the listening socket."""
        if self._server is not None:
            return
        server = ModbusTcpServer(self._device(), address=(self._host, self._port))
        try:
            await server.serve_forever(background=True)
        except RuntimeError as exc:
            await server.shutdown()
            raise OSError(f"Modbus server cannot listen on {self._host}:{self._port}") from exc
        sockets = getattr(server.transport, "sockets", None) or ()
        if sockets:
            self._port = sockets[0].getsockname()[1]
        self._server = server
        _log.info(
            "sim.modbus.started host=%s port=%d device_id=%d", self._host, self._port, DEVICE_ID
        )

    async def stop(self) -> None:
        """Close the listening socket and every client connection; safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        await server.shutdown()
        _log.info("sim.modbus.stopped host=%s port=%d", self._host, self._port)

    def publish(self, readings: Mapping[str, Reading]) -> None:
        """Encode readings into the register image (a bad reading carries its frozen value)."""
        for signal, reading in readings.items():
            field = self._by_signal.get(signal)
            if field is not None:
                regs = encode(reading.value, field.encoding, field.scale)
                self._image[field.area][field.address : field.end] = regs
                continue
            bit = self._bits_by_signal.get(signal)
            if bit is not None:
                self._bits[bit[0]][bit[1]] = bool(reading.value)

    def _device(self) -> SimDevice:
        def block(area: str) -> list[SimData]:
            image = self._image[area]
            return [
                SimData(f.address, values=image[f.address : f.end], datatype=DataType.REGISTERS)
                for f in self._fields
                if f.area == area
            ]

        return SimDevice(
            id=DEVICE_ID,
            simdata=(
                [SimData(0, values=list(self._bits["coil"]), datatype=DataType.BITS)],
                [SimData(0, values=list(self._bits["di"]), datatype=DataType.BITS)],
                block("hr"),
                block("ir"),
            ),
            action=self._action,
        )

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        _count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """pymodbus hook run on every access, before pymodbus reads or stores registers."""
        area = _FC_AREA.get(function_code)
        if area is None:
            return ExcCodes.ILLEGAL_FUNCTION
        if set_values is not None:
            return self._write(area, address, set_values)
        if area in self._bits:
            packed = SimUtils.bitsToRegisters(self._bits[area])
            registers[: len(packed)] = packed
        else:
            image = self._image[area]
            registers[: len(image) - start_address] = image[start_address:]
        return None

    def _write(self, area: str, address: int, values: list[int] | list[bool]) -> ExcCodes | None:
        ts = time.monotonic()
        if area == "hr":
            regs = list(self._image["hr"])
            regs[address : address + len(values)] = [int(v) for v in values]
            hz = decode(regs, "float32")
            if not math.isfinite(hz) or not 0.0 <= hz <= MAX_SETPOINT_HZ:
                _log.warning(
                    "sim.modbus.write_refused address=hr:%d value=%r reason=outside_0_60",
                    address,
                    hz,
                )
                return ExcCodes.ILLEGAL_VALUE
            self._image["hr"] = regs
            self._on_write(SimWrite("modbus", "hr:0", hz, ts), Signal.VFD_SETPOINT)
            return None
        if area == "coil":
            if address != 0 or len(values) != 1:
                return ExcCodes.ILLEGAL_ADDRESS
            run = bool(values[0])
            self._bits["coil"][0] = run
            self._on_write(SimWrite("modbus", "coil:0", run, ts), Signal.VFD_RUN_COMMAND)
            return None
        return ExcCodes.ILLEGAL_FUNCTION
