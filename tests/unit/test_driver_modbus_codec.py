"""Modbus register codec: known vectors for every byte/word order and round-trips."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.contracts.modbus_address import REGISTER_COUNTS, register_count
from runtime.drivers.modbus_codec import decode, encode

ORDERS = st.sampled_from(["big", "little"])
INT_RANGES = {
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
}


@pytest.mark.parametrize(
    ("value", "kind", "byte_order", "word_order", "registers"),
    [
        (1.0, "float32", "big", "big", [0x3F80, 0x0000]),
        (1.0, "float32", "big", "little", [0x0000, 0x3F80]),
        (1.0, "float32", "little", "big", [0x803F, 0x0000]),
        (1.0, "float32", "little", "little", [0x0000, 0x803F]),
        (-1, "int16", "big", "big", [0xFFFF]),
        (0x1234, "uint16", "little", "big", [0x3412]),
        (0x12345678, "uint32", "big", "big", [0x1234, 0x5678]),
        (0x12345678, "uint32", "big", "little", [0x5678, 0x1234]),
        (0x12345678, "uint32", "little", "little", [0x7856, 0x3412]),
        (-2, "int32", "big", "big", [0xFFFF, 0xFFFE]),
        (1.0, "float64", "big", "big", [0x3FF0, 0, 0, 0]),
        (1.0, "float64", "big", "little", [0, 0, 0, 0x3FF0]),
        (1.0, "float64", "little", "big", [0xF03F, 0, 0, 0]),
    ],
)
def test_known_vectors(value, kind, byte_order, word_order, registers):
    assert encode(value, kind, byte_order, word_order) == registers
    assert decode(registers, kind, byte_order, word_order) == value


@pytest.mark.parametrize("kind", sorted(INT_RANGES))
@given(data=st.data(), byte_order=ORDERS, word_order=ORDERS)
def test_integers_round_trip(kind, data, byte_order, word_order):
    low, high = INT_RANGES[kind]
    value = data.draw(st.integers(low, high))
    registers = encode(value, kind, byte_order, word_order)
    assert len(registers) == REGISTER_COUNTS[kind]
    assert all(0 <= r <= 0xFFFF for r in registers)
    assert decode(registers, kind, byte_order, word_order) == value


@given(value=st.floats(width=32), byte_order=ORDERS, word_order=ORDERS)
def test_float32_round_trip(value, byte_order, word_order):
    decoded = decode(
        encode(value, "float32", byte_order, word_order), "float32", byte_order, word_order
    )
    assert decoded == value or (math.isnan(value) and math.isnan(decoded))


@given(value=st.floats(), byte_order=ORDERS, word_order=ORDERS)
def test_float64_round_trip(value, byte_order, word_order):
    decoded = decode(
        encode(value, "float64", byte_order, word_order), "float64", byte_order, word_order
    )
    assert decoded == value or (math.isnan(value) and math.isnan(decoded))


@given(
    registers=st.lists(st.integers(0, 0xFFFF), min_size=2, max_size=2),
    byte_order=ORDERS,
    word_order=ORDERS,
)
def test_registers_round_trip_through_int32(registers, byte_order, word_order):
    value = decode(registers, "int32", byte_order, word_order)
    assert encode(value, "int32", byte_order, word_order) == registers


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (40000, "int16"),
        (-1, "uint16"),
        (2**32, "uint32"),
        (-(2**31) - 1, "int32"),
        (1e39, "float32"),
        (1.5, "int16"),
    ],
)
def test_out_of_range_values_are_refused(value, kind):
    with pytest.raises(ValueError, match=kind):
        encode(value, kind)


def test_wrong_register_count_and_unknown_type_are_refused():
    with pytest.raises(ValueError, match="float32 needs 2 register"):
        decode([1], "float32")
    with pytest.raises(ValueError, match="can't be stored in registers"):
        register_count("bool")
    with pytest.raises(ValueError, match="word_order"):
        encode(1, "int32", word_order="middle")
    with pytest.raises(ValueError, match="16-bit"):
        decode([0x10000], "uint16")
