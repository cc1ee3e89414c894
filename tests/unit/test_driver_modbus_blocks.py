"""Modbus read-block planning, and the driver's up-front check of tags."""

from __future__ import annotations

from runtime.contracts.project import Tag
from runtime.drivers.modbus_blocks import check_tags, plan_blocks


def tag(tag_id: str, address: str, kind: str = "float32") -> Tag:
    return Tag(id=tag_id, connection="vfd", address=address, type=kind)


def test_type_and_area_must_match():
    problems = check_tags(
        [
            tag("a", "coil:0", "float32"),
            tag("b", "hr:0", "bool"),
            tag("c", "hr:65535", "float32"),
            tag("d", "ir:1", "string"),
        ]
    )
    assert len(problems) == 4
    assert problems[0].startswith("tag a (coil:0): coils hold bools")
    assert "coil or a discrete input" in problems[1]
    assert "runs past" in problems[2]
    assert "can't be stored in registers" in problems[3]


def test_neighbours_and_small_gaps_merge_large_gaps_split():
    blocks = plan_blocks(
        [
            tag("speed", "ir:0"),
            tag("current", "ir:2"),
            tag("energy", "ir:4", "float64"),
            tag("temp", "ir:9", "int16"),
            tag("far", "ir:30", "uint16"),
            tag("sp", "hr:0"),
            tag("run", "coil:0", "bool"),
            tag("running", "di:0", "bool"),
            tag("fault", "di:1", "bool"),
        ]
    )
    summary = [(b.area, b.start, b.count, [s.tag.id for s in b.slots]) for b in blocks]
    assert summary == [
        ("hr", 0, 2, ["sp"]),
        ("ir", 0, 10, ["speed", "current", "energy", "temp"]),
        ("ir", 30, 1, ["far"]),
        ("coil", 0, 1, ["run"]),
        ("di", 0, 2, ["running", "fault"]),
    ]
    ir = blocks[1]
    assert [(s.offset, s.width) for s in ir.slots] == [(0, 2), (2, 2), (4, 4), (9, 1)]
    assert ir.has_gaps


def test_blocks_respect_the_request_limits():
    tags = [tag(f"s{i}", f"ir:{1000 + 2 * i}") for i in range(500)]
    blocks = plan_blocks(tags)
    assert all(b.count <= 125 for b in blocks)
    assert sum(len(b.slots) for b in blocks) == 500
    assert len(blocks) == 9  # 1000 registers in blocks of at most 62 float32s
    bits = plan_blocks([tag(f"b{i}", f"coil:{i}", "bool") for i in range(4500)])
    assert [b.count for b in bits] == [2000, 2000, 500]


def test_a_block_with_gaps_splits_into_contiguous_runs():
    (block,) = plan_blocks(
        [tag("a", "hr:0"), tag("b", "hr:5", "uint16"), tag("c", "hr:6", "uint16")]
    )
    assert (block.start, block.count) == (0, 7)
    parts = block.split()
    assert [(p.start, p.count, [s.offset for s in p.slots]) for p in parts] == [
        (0, 2, [0]),
        (5, 2, [0, 1]),
    ]
    assert not any(p.has_gaps for p in parts)
