"""The Modbus address grammar, written once for validation and the Modbus driver.

An address is `area:N` (N zero-based, 0..65535; case and surrounding blanks do not matter):
hr holding registers and ir input registers hold numbers, coils and di discrete inputs
hold bools; only holding registers and coils can be written. A number takes
REGISTER_COUNTS[type] consecutive registers. Pure data and functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runtime.contracts.errors import AddressError

AREAS = ("hr", "ir", "coil", "di")
BIT_AREAS = ("coil", "di")
WRITABLE_AREAS = ("hr", "coil")
AREA_NAMES = {
    "hr": "holding register",
    "ir": "input register",
    "coil": "coil",
    "di": "discrete input",
}
LAST_ADDRESS = 0xFFFF
REGISTER_COUNTS: dict[str, int] = {
    "int16": 1,
    "uint16": 1,
    "int32": 2,
    "uint32": 2,
    "float32": 2,
    "float64": 4,
}
_GRAMMAR = re.compile(r"\s*([a-z]+):(\d+)\s*", re.ASCII | re.IGNORECASE)
_FORMS = "hr:N, ir:N, coil:N or di:N"


@dataclass(frozen=True, slots=True)
class ModbusAddress:
    """A parsed tag address: area and zero-based index."""

    area: str
    index: int

    @property
    def is_bit(self) -> bool:
        """True for coils and discrete inputs."""
        return self.area in BIT_AREAS

    @property
    def is_writable(self) -> bool:
        """True for holding registers and coils."""
        return self.area in WRITABLE_AREAS

    def width(self, tag_type: str) -> int:
        """Registers (or bits) a tag of this type occupies here; AddressError (field "type"
        or "address") when the type does not fit the area or runs past the last address."""
        if self.is_bit:
            if tag_type != "bool":
                raise AddressError(f"{AREA_NAMES[self.area]}s hold bools, not {tag_type}",
                                   field="type")
            return 1
        if tag_type == "bool":
            raise AddressError("a bool must be a coil or a discrete input, not a register",
                               field="type")
        width = register_count(tag_type)
        if self.index + width > LAST_ADDRESS + 1:
            raise AddressError(f"{tag_type} at {self} runs past the last register "
                               f"{LAST_ADDRESS}")
        return width

    def check_writable(self) -> None:
        """AddressError (field "writable") unless this area can be written."""
        if not self.is_writable:
            raise AddressError(f"{self} is a read-only {AREA_NAMES[self.area]}; only holding "
                               "registers (hr) and coils can be written", field="writable")

    def __str__(self) -> str:
        return f"{self.area}:{self.index}"


def parse_address(text: str) -> ModbusAddress:
    """`hr:N`, `ir:N`, `coil:N` or `di:N` (N zero-based, 0..65535); AddressError otherwise."""
    match = _GRAMMAR.fullmatch(text) if isinstance(text, str) else None
    if not match or match[1].lower() not in AREAS:
        raise AddressError(f"address {text!r} is not a Modbus address: use {_FORMS} "
                           f"(N from 0 to {LAST_ADDRESS})")
    digits = match[2].lstrip("0") or "0"
    if len(digits) > len(str(LAST_ADDRESS)) or int(digits) > LAST_ADDRESS:
        raise AddressError(f"address {text!r} is beyond the last Modbus address "
                           f"{LAST_ADDRESS}")
    return ModbusAddress(match[1].lower(), int(digits))


def register_count(tag_type: str) -> int:
    """How many registers a value of this tag type takes; AddressError (field "type") for
    types that registers cannot hold."""
    try:
        return REGISTER_COUNTS[tag_type]
    except KeyError:
        raise AddressError(f"type {tag_type!r} can't be stored in registers (use one of "
                           f"{', '.join(REGISTER_COUNTS)})", field="type") from None
