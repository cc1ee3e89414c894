"""Parts of the simulated plant that need no server: codec, CLI faults, node copies, write log."""

from __future__ import annotations

import asyncio
import itertools
import math

import pytest
from asyncua import ua
from asyncua.server.address_space import AddressSpace

from runtime.sim.cli import FaultSpec
from runtime.sim.modbus_server import REGISTER_MAP, decode, encode
from runtime.sim.standard_nodes import StandardNodes
from runtime.sim.writes import SimWrite, WriteLog


@pytest.mark.parametrize(
    ("value", "encoding", "scale", "registers"),
    [
        (50.0, "float32", 1.0, [0x4248, 0x0000]),
        (15_230.5, "float64", 1.0, [0x40CD, 0xBF40, 0x0000, 0x0000]),
        (540.4, "uint16", 1.0, [540]),
        (-12.34, "int16", 10.0, [0xFF85]),  # -123 in 0.1 units
        (3_600_000, "uint32", 1.0, [0x0036, 0xEE80]),  # high word first
        (-25.0, "int32", 10.0, [0xFFFF, 0xFF06]),  # -250 in 0.1 %
    ],
)
def test_values_encode_big_endian_high_word_first(
    value: float, encoding: str, scale: float, registers: list[int]
) -> None:
    assert encode(value, encoding, scale) == registers
    assert decode(registers, encoding, scale) == pytest.approx(value, abs=0.5 / scale)


def test_integers_clamp_to_their_range_instead_of_wrapping() -> None:
    assert encode(70_000, "uint16") == [0xFFFF]
    assert encode(-5, "uint32") == [0, 0]
    assert encode(math.nan, "int16") == [0]


def test_the_register_map_has_no_overlaps() -> None:
    for area in ("hr", "ir"):
        fields = sorted((f for f in REGISTER_MAP if f.area == area), key=lambda f: f.address)
        assert all(a.end <= b.address for a, b in itertools.pairwise(fields))
    assert [(f.address, f.end) for f in REGISTER_MAP if f.area == "ir"][-1] == (12, 14)


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("bearing_wear=0.01", FaultSpec("bearing_wear", "", 0.01)),
        ("sensor_stuck:P101.Vibration", FaultSpec("sensor_stuck", "P101.Vibration")),
        ("sensor_dropout:VFD.Speed=1", FaultSpec("sensor_dropout", "VFD.Speed", 1.0)),
        ("plc_offline", FaultSpec("plc_offline")),
    ],
)
def test_fault_specs_parse(text: str, spec: FaultSpec) -> None:
    parsed = FaultSpec.parse(text)
    assert (parsed.kind, parsed.target) == (spec.kind, spec.target)
    assert parsed.value == spec.value or (math.isnan(parsed.value) and math.isnan(spec.value))


def test_a_fault_spec_with_a_bad_value_is_refused() -> None:
    with pytest.raises(Exception, match="VALUE must be a number"):
        FaultSpec.parse("cavitation=lots")


def test_standard_node_copies_are_independent(sim_standard_nodes: StandardNodes) -> None:
    nodes = sim_standard_nodes
    first, second = AddressSpace(), AddressSpace()
    nodes.copy_into(first)
    nodes.copy_into(second)
    assert len(first.keys()) == len(second.keys()) == len(nodes) > 6000

    value = ua.AttributeIds.Value

    def payload(aspace: AddressSpace, nodeid: ua.NodeId) -> object:
        attribute = aspace[nodeid].attributes.get(value)
        return None if attribute is None or attribute.value is None else attribute.value.Value.Value

    listed = next(n for n in first.keys() if isinstance(payload(first, n), list))
    payload(first, listed).append("changed")  # asyncua's Server edits read lists in place
    assert payload(second, listed)[-1:] != ["changed"]

    objects = ua.NodeId(ua.ObjectIds.ObjectsFolder)
    first[objects].references.append(first[objects].references[0])
    assert len(second[objects].references) == len(first[objects].references) - 1
    first[listed].attributes[value].datachange_callbacks[1] = print  # a subscription
    assert second[listed].attributes[value].datachange_callbacks == {}


async def test_wait_for_write_wakes_on_the_matching_write() -> None:
    log = WriteLog()
    log.record(SimWrite("modbus", "hr:0", 40.0, 1.0))
    assert (await log.wait_for(None, 1.0, None)).value == 40.0, "earlier writes count"

    waiting = asyncio.ensure_future(log.wait_for(lambda w: w.value == 42.0, 1.0, 1.5))
    loop = asyncio.get_running_loop()  # callbacks run in order, after the waiter is registered
    loop.call_soon(log.record, SimWrite("modbus", "hr:0", 42.0, 1.2))  # before `since`
    loop.call_soon(log.record, SimWrite("opcua", "ns=2;s=P101.Trip", True, 2.0))
    loop.call_soon(log.record, SimWrite("modbus", "hr:0", 42.0, 3.0))
    assert (await waiting).monotonic_ts == 3.0
    with pytest.raises(TimeoutError):
        await log.wait_for(lambda w: w.server == "nope", 0.01, None)
    assert len(log.writes) == 4
