"""Modbus TCP hub: polls one device on a fixed cadence in planned blocks and writes tags.

One socket per connection (pymodbus AsyncModbusTcpClient with its own retries and reconnects
turned off: the hub owns reconnecting). Each poll cycle reads every block and delivers the
changed values in one on_samples call. A Modbus exception for a block (the device answered
"no") marks that block's tags BAD; a timeout, a closed socket or a gateway exception marks
every tag BAD and reconnects.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from runtime.contracts.errors import AddressError, DriverError
from runtime.contracts.messages import Quality, Sample
from runtime.contracts.modbus_address import ModbusAddress, parse_address
from runtime.contracts.project import ModbusConnection, Tag
from runtime.drivers.base import Clock, OnSamples, OnStatus, SupervisedHub, describe, to_eng
from runtime.drivers.modbus_blocks import Block, check_tags, plan_blocks
from runtime.drivers.modbus_codec import decode, encode
from runtime.supervision import Supervisor

log = logging.getLogger(__name__)

EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    5: "acknowledge",
    6: "device busy",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target failed to respond",
}
GATEWAY_EXCEPTIONS = (10, 11)
ILLEGAL_DATA_ADDRESS = 2


class DeviceUnreachable(Exception):
    """The device (or the gateway in front of it) does not answer."""


def new_client(conn: ModbusConnection,
               trace_connect: Callable[[bool], None] | None = None) -> AsyncModbusTcpClient:
    """A pymodbus client for a connection with its own retries and reconnects turned off
    (the caller owns reconnecting); not yet connected."""
    return AsyncModbusTcpClient(
        conn.host,
        port=conn.port,
        name=conn.id,
        timeout=conn.timeout_ms / 1000,
        retries=0,
        reconnect_delay=0,
        trace_connect=trace_connect,
    )


class ModbusHub(SupervisedHub):
    """One Modbus TCP device: fixed-cadence polling of planned blocks, writes to hr and coils."""

    kind = "modbus"

    def __init__(
        self,
        connection: ModbusConnection,
        tags: Sequence[Tag],
        on_samples: OnSamples,
        on_status: OnStatus | None = None,
        clock: Clock = time.time,
        supervisor: Supervisor | None = None,
    ) -> None:
        super().__init__(connection, tags, on_samples, on_status, clock, supervisor)
        problems = check_tags(self._tags.values())
        if problems:
            raise DriverError(f"connection {connection.id}: " + "; ".join(problems))
        self._addresses: dict[str, ModbusAddress] = {
            t.id: parse_address(t.address) for t in self._tags.values()
        }
        self._blocks: list[Block] = plan_blocks(list(self._tags.values()))
        self._client: AsyncModbusTcpClient | None = None
        self._refused: set[tuple[str, int, int]] = set()

    @property
    def target(self) -> str:
        """host:port of the device."""
        return f"{self._connection.host}:{self._connection.port}"

    @property
    def blocks(self) -> list[Block]:
        """The read blocks one poll cycle reads."""
        return list(self._blocks)

    async def read(self, tag_ids: Sequence[str]) -> list[Sample]:
        """Read these tags now (one request per block), in the order asked."""
        tags = [self._tag(tag_id) for tag_id in tag_ids]
        client = self._require_connected("read", ", ".join(tag_ids), self._client)
        try:
            by_id = {s.tag: s for s in await self._read_blocks(client, plan_blocks(tags))}
        except (ModbusException, DeviceUnreachable, OSError, TimeoutError) as exc:
            raise DriverError(
                f"cannot read {', '.join(tag_ids)} from {self.target}: {describe(exc)}"
            ) from None
        return [by_id[tag.id] for tag in tags]

    async def write(self, tag_id: str, value: Any) -> None:
        """Write an engineering value to a holding register or coil tag."""
        tag = self._tag(tag_id)
        address = self._addresses[tag_id]
        try:
            address.check_writable()
        except AddressError as exc:
            raise DriverError(f"cannot write {tag_id}: {exc}") from None
        raw = self._raw_for_write(tag, value)
        client = self._require_connected("write", tag_id, self._client)
        unit = self._connection.unit_id
        try:
            if address.area == "coil":
                response = await client.write_coil(address.index, bool(raw), device_id=unit)
            else:
                registers = encode(raw, tag.type, tag.byte_order, tag.word_order)  # type: ignore[arg-type]
                response = await client.write_registers(address.index, registers, device_id=unit)
        except ValueError as exc:
            raise DriverError(f"cannot write {tag_id} ({tag.type}): {exc}") from None
        except (ModbusException, OSError, TimeoutError) as exc:
            raise DriverError(f"write to {tag_id} failed: {describe(exc)}") from None
        if response.isError():
            raise DriverError(
                f"write to {tag_id} refused by the device: {exception_text(response)}"
            )
        log.debug(
            "modbus.write connection=%s tag=%s address=%s", self.connection_id, tag_id, address
        )

    async def _run_session(self) -> None:
        conn: ModbusConnection = self._connection
        closed = asyncio.Event()

        def on_connect_change(connected: bool) -> None:
            if not connected:
                closed.set()

        client = new_client(conn, on_connect_change)
        try:
            if not await client.connect():
                raise ConnectionError(f"cannot connect to {self.target}")
            period = conn.poll_ms / 1000
            loop = asyncio.get_running_loop()
            due = loop.time()
            self._deliver(await self._read_blocks(client, self._blocks))
            self._client = client
            self._on_connected()
            while True:
                due += period
                now = loop.time()
                if due < now:
                    skipped = math.ceil((now - due) / period)
                    log.debug("modbus.poll_overrun connection=%s skipped=%d", conn.id, skipped)
                    due += skipped * period
                try:
                    await asyncio.wait_for(closed.wait(), due - now)
                except TimeoutError:
                    pass
                else:
                    raise ConnectionError("the device closed the connection")
                self._deliver(await self._read_blocks(client, self._blocks))
        finally:
            self._client = None
            client.close()

    async def _read_blocks(self, client: AsyncModbusTcpClient, blocks: list[Block]) -> list[Sample]:
        """Samples for every tag in the blocks; raises when the device is unreachable."""
        samples: list[Sample] = []
        for block in list(blocks):
            response = await self._request(client, block)
            ts = self._clock()
            if response.isError():
                code = getattr(response, "exception_code", 0)
                if code in GATEWAY_EXCEPTIONS:
                    raise DeviceUnreachable(exception_text(response))
                self._block_refused(block, response, blocks)
                samples.extend(Sample(s.tag.id, ts, None, Quality.BAD) for s in block.slots)
                continue
            if block.area in ("coil", "di"):
                self._refused.discard((block.area, block.start, block.count))
                bits = response.bits
                samples.extend(
                    Sample(s.tag.id, ts, bool(bits[s.offset]), Quality.GOOD) for s in block.slots
                )
                continue
            self._refused.discard((block.area, block.start, block.count))
            registers = response.registers
            for slot in block.slots:
                tag = slot.tag
                raw = decode(
                    registers[slot.offset : slot.offset + slot.width],
                    tag.type,
                    tag.byte_order,
                    tag.word_order,
                )
                samples.append(Sample(tag.id, ts, to_eng(tag, raw), Quality.GOOD))
        return samples

    async def _request(self, client: AsyncModbusTcpClient, block: Block) -> Any:
        unit = self._connection.unit_id
        if block.area == "hr":
            return await client.read_holding_registers(
                block.start, count=block.count, device_id=unit
            )
        if block.area == "ir":
            return await client.read_input_registers(block.start, count=block.count, device_id=unit)
        if block.area == "coil":
            return await client.read_coils(block.start, count=block.count, device_id=unit)
        return await client.read_discrete_inputs(block.start, count=block.count, device_id=unit)

    def _block_refused(self, block: Block, response: Any, blocks: list[Block]) -> None:
        """A device exception for one block: its tags go BAD (logged once until it reads again);
        a merged block with gaps the device refuses is split for the following cycles."""
        key = (block.area, block.start, block.count)
        if key in self._refused:
            return
        self._refused.add(key)
        log.warning(
            "modbus.block_refused connection=%s area=%s start=%d count=%d error=%r",
            self.connection_id,
            block.area,
            block.start,
            block.count,
            exception_text(response),
        )
        code = getattr(response, "exception_code", 0)
        if code == ILLEGAL_DATA_ADDRESS and block.has_gaps and blocks is self._blocks:
            index = self._blocks.index(block)
            self._blocks[index : index + 1] = block.split()


def exception_text(response: Any) -> str:
    """A Modbus exception response in words: "exception 2 (illegal data address)"."""
    code = getattr(response, "exception_code", None)
    if code is None:
        return str(response)
    return f"exception {code} ({EXCEPTION_NAMES.get(code, 'unknown')})"
