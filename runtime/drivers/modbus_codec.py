"""Modbus register encoding: numbers to and from 16-bit registers, any byte and word order.

Pure functions, no I/O. A value is packed big-endian into 2-byte words, most significant word
first ("big"/"big", the Modbus default); word_order "little" puts the least significant word
first (the common "word swap"), byte_order "little" swaps the two bytes inside each word.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence

from runtime.contracts.modbus_address import register_count

_FORMATS = {
    "int16": "h",
    "uint16": "H",
    "int32": "i",
    "uint32": "I",
    "float32": "f",
    "float64": "d",
}
_ORDERS = ("big", "little")


def decode(
    registers: Sequence[int], kind: str, byte_order: str = "big", word_order: str = "big"
) -> int | float:
    """The value held in `registers` (exactly register_count(kind) of them)."""
    count = register_count(kind)
    if len(registers) != count:
        raise ValueError(f"{kind} needs {count} register(s), got {len(registers)}")
    words = list(registers)
    if _order(word_order, "word_order") == "little":
        words.reverse()
    swap = _order(byte_order, "byte_order") == "little"
    data = b"".join(_word_bytes(w, swap) for w in words)
    return struct.unpack(">" + _FORMATS[kind], data)[0]


def encode(
    value: int | float, kind: str, byte_order: str = "big", word_order: str = "big"
) -> list[int]:
    """The registers holding `value`; ValueError when it does not fit the type."""
    count = register_count(kind)
    swap = _order(byte_order, "byte_order") == "little"
    little_words = _order(word_order, "word_order") == "little"
    fmt = _FORMATS[kind]
    if isinstance(value, bool):
        value = int(value)
    if fmt in "hHiI":
        if isinstance(value, float):
            if not math.isfinite(value) or value != int(value):
                raise ValueError(f"{value!r} is not a whole number for {kind}")
            value = int(value)
    else:
        value = float(value)
    try:
        data = struct.pack(">" + fmt, value)
    except (struct.error, OverflowError):
        raise ValueError(f"{value!r} is outside the {kind} range") from None
    words = [_bytes_word(data[i : i + 2], swap) for i in range(0, 2 * count, 2)]
    if little_words:
        words.reverse()
    return words


def _order(order: str, name: str) -> str:
    if order not in _ORDERS:
        raise ValueError(f"{name} must be 'big' or 'little', not {order!r}")
    return order


def _word_bytes(word: int, swap: bool) -> bytes:
    if not 0 <= word <= 0xFFFF:
        raise ValueError(f"register value {word!r} is not a 16-bit word")
    data = word.to_bytes(2, "big")
    return data[::-1] if swap else data


def _bytes_word(data: bytes, swap: bool) -> int:
    return int.from_bytes(data[::-1] if swap else data, "big")
