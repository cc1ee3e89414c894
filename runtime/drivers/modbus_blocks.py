"""Modbus read planning: which contiguous blocks to read for a set of tags.

Pure functions, no I/O; the address grammar is runtime.contracts.modbus_address. Tags are
grouped per area into blocks of at most 125 registers or 2000 bits; neighbours separated by
a small gap are merged so one request reads both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from runtime.contracts.errors import AddressError
from runtime.contracts.modbus_address import AREAS, BIT_AREAS, parse_address
from runtime.contracts.project import Tag

MAX_REGISTERS = 125
MAX_BITS = 2000
MAX_GAP_REGISTERS = 8
MAX_GAP_BITS = 128


@dataclass(frozen=True, slots=True)
class Slot:
    """One tag inside a block: where its value starts and how many units it takes."""

    tag: Tag
    offset: int
    width: int


@dataclass(frozen=True, slots=True)
class Block:
    """One read request: an area, a start address, a count and the tags it serves."""

    area: str
    start: int
    count: int
    slots: tuple[Slot, ...]

    @property
    def has_gaps(self) -> bool:
        """True when the block reads addresses no tag uses."""
        covered: set[int] = set()
        for slot in self.slots:
            covered.update(range(slot.offset, slot.offset + slot.width))
        return len(covered) < self.count

    def split(self) -> list[Block]:
        """The same tags in blocks without gaps (when a device refuses unused addresses)."""
        return _merge(self.area, [(self.start + s.offset, s) for s in self.slots], max_gap=0)


def check_tags(tags: Iterable[Tag]) -> list[str]:
    """Every problem with the tags' addresses and types, one plain message each."""
    problems = []
    for tag in tags:
        try:
            parse_address(tag.address).width(tag.type)
        except AddressError as exc:
            problems.append(f"tag {tag.id} ({tag.address}): {exc}")
    return problems


def plan_blocks(tags: Sequence[Tag]) -> list[Block]:
    """Contiguous read blocks for the tags (tags must pass `check_tags`)."""
    by_area: dict[str, list[tuple[int, Slot]]] = {}
    for tag in tags:
        address = parse_address(tag.address)
        width = address.width(tag.type)
        by_area.setdefault(address.area, []).append((address.index, Slot(tag, 0, width)))
    blocks = []
    for area in AREAS:
        if area in by_area:
            gap = MAX_GAP_BITS if area in BIT_AREAS else MAX_GAP_REGISTERS
            blocks.extend(_merge(area, by_area[area], max_gap=gap))
    return blocks


def _merge(area: str, items: list[tuple[int, Slot]], max_gap: int) -> list[Block]:
    limit = MAX_BITS if area in BIT_AREAS else MAX_REGISTERS
    items = sorted(items, key=lambda item: (item[0], item[1].width))
    blocks: list[Block] = []
    start = end = 0
    members: list[tuple[int, Slot]] = []
    for index, slot in items:
        if members and index <= end + max_gap and max(end, index + slot.width) - start <= limit:
            members.append((index, slot))
            end = max(end, index + slot.width)
            continue
        if members:
            blocks.append(_block(area, start, end, members))
        start, end, members = index, index + slot.width, [(index, slot)]
    if members:
        blocks.append(_block(area, start, end, members))
    return blocks


def _block(area: str, start: int, end: int, members: list[tuple[int, Slot]]) -> Block:
    slots = tuple(Slot(slot.tag, index - start, slot.width) for index, slot in members)
    return Block(area, start, end - start, slots)
