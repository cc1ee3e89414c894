"""Messages from outbox chunks: grouping rules and byte-spliced JSON equal to json.loads."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.sync.messages import (
    ChunkFormatError,
    build_messages,
    check_node_id,
    encode_payload,
    group_chunks,
    records_body,
    topic_for,
)


@dataclass(frozen=True, slots=True)
class Chunk:
    id: int
    kind: str
    seq_first: int
    seq_last: int
    count: int
    created_ts: float
    payload: bytes


def make_chunks(spec: list[tuple[str, int]], start_seq: int = 1, ts: float = 100.0) -> list[Chunk]:
    """Chunks of (kind, count) with consecutive sequence numbers and compact JSON payloads."""
    chunks, seq = [], start_seq
    for i, (kind, count) in enumerate(spec, start=1):
        if kind == "samples":
            records = [[seq + k, f"T{k % 3}", ts + k, k * 0.5, "good"] for k in range(count)]
        else:
            records = [
                [seq + k, "alarm", ts + k, "f1", "n1", {"p": k, "txt": "é\"x"}, False]
                for k in range(count)
            ]
        payload = json.dumps(records, separators=(",", ":")).encode()
        chunks.append(Chunk(i, kind, seq, seq + count - 1, count, ts, payload))
        seq += count
    return chunks


def records_of(chunks: list[Chunk]) -> list:
    return [r for c in chunks for r in json.loads(c.payload)]


def test_payload_is_spliced_from_the_stored_arrays_and_parses_to_the_documented_shape():
    chunks = make_chunks([("samples", 3), ("samples", 2)])
    payload = encode_payload("line-1", "9f3c0aa1", chunks, historical=True)
    assert json.loads(payload) == {
        "node": "line-1",
        "incarnation": "9f3c0aa1",
        "seq_first": 1,
        "seq_last": 5,
        "count": 5,
        "historical": True,
        "kind": "samples",
        "records": records_of(chunks),
    }


def test_empty_and_spaced_arrays_splice_cleanly():
    chunks = [
        Chunk(1, "events", 1, 1, 1, 0.0, b' [ [1,"x",0,"f","n",{},false] ] '),
        Chunk(2, "events", 2, 1, 0, 0.0, b"[]"),
        Chunk(3, "events", 2, 2, 1, 0.0, b'[\n[2,"y",0,"f","n",null,true]\n]'),
    ]
    decoded = json.loads(encode_payload('node "7"', "i1", chunks, historical=False))
    assert decoded["node"] == 'node "7"'
    assert decoded["records"] == [
        [1, "x", 0, "f", "n", {}, False],
        [2, "y", 0, "f", "n", None, True],
    ]
    assert decoded["historical"] is False


def test_a_payload_that_is_not_an_array_is_refused():
    with pytest.raises(ChunkFormatError):
        records_body(b'{"a": 1}')


record = st.one_of(
    st.tuples(st.integers(0, 10**12), st.text(max_size=12), st.floats(allow_nan=False),
              st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                        st.text(max_size=8)),
              st.sampled_from(["good", "bad", "uncertain", "stale"])),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(record, max_size=6), min_size=1, max_size=6), st.text(min_size=1,
       max_size=10), st.booleans(), st.sampled_from([True, False]))
def test_splicing_equals_parsing_and_reserialising(groups, node, historical, pretty):
    chunks, seq = [], 0
    for i, records in enumerate(groups):
        rows = [list(r) for r in records]
        text = json.dumps(rows, indent=1 if pretty else None, ensure_ascii=not pretty)
        chunks.append(Chunk(i, "samples", seq + 1, seq + len(rows), len(rows), 0.0,
                            text.encode()))
        seq += len(rows)
    spliced = json.loads(encode_payload(node, "i1", chunks, historical))
    expected = [r for c in chunks for r in json.loads(c.payload)]
    assert spliced["records"] == expected
    assert spliced["count"] == seq and spliced["node"] == node


def test_chunks_combine_up_to_max_records_and_split_on_kind_changes():
    chunks = make_chunks([("samples", 2), ("samples", 2), ("samples", 2), ("events", 1),
                          ("samples", 1)])
    groups = group_chunks(chunks, now=100.0, historical_after_s=10, max_records=4,
                          max_bytes=10**6)
    assert [[c.id for c in g] for g, _ in groups] == [[1, 2], [3], [4], [5]]
    assert [flag for _, flag in groups] == [False] * 4


def test_a_chunk_larger_than_the_limits_goes_alone():
    chunks = make_chunks([("samples", 1), ("samples", 50), ("samples", 1)])
    groups = group_chunks(chunks, now=100.0, historical_after_s=10, max_records=10,
                          max_bytes=10**6)
    assert [[c.id for c in g] for g, _ in groups] == [[1], [2], [3]]
    by_bytes = group_chunks(chunks, now=100.0, historical_after_s=10, max_records=1000,
                            max_bytes=len(chunks[0].payload) + 200)
    assert [[c.id for c in g] for g, _ in by_bytes] == [[1], [2], [3]]


def test_a_gap_in_sequence_numbers_starts_a_new_message():
    chunks = make_chunks([("samples", 2)]) + make_chunks([("samples", 2)], start_seq=10)
    chunks[1] = replace(chunks[1], id=2)
    groups = group_chunks(chunks, now=100.0, historical_after_s=10, max_records=100,
                          max_bytes=10**6)
    assert len(groups) == 2


def test_backlog_older_than_historical_after_is_marked_and_kept_apart_from_live_data():
    old = make_chunks([("samples", 2), ("samples", 2)], ts=50.0)
    new = make_chunks([("samples", 2)], start_seq=5, ts=95.0)
    new = [replace(new[0], id=3)]
    messages = build_messages(old + new, node_id="n1", incarnation="i1",
                              topic_prefix="plant/a", now=100.0, historical_after_s=10,
                              max_records=100, max_bytes=10**6)
    assert [(m.chunk_ids, m.historical, m.seq_first, m.seq_last, m.count) for m in messages] == [
        ((1, 2), True, 1, 4, 4),
        ((3,), False, 5, 6, 2),
    ]
    assert {m.topic for m in messages} == {"plant/a/n1/samples"}
    assert json.loads(messages[0].payload)["historical"] is True
    assert {json.loads(m.payload)["incarnation"] for m in messages} == {"i1"}


def test_topics_and_node_ids():
    assert topic_for("lineside", "n1", "events") == "lineside/n1/events"
    check_node_id("press-7")
    for bad in ("", "a/b", "a+", "#"):
        with pytest.raises(ValueError, match="MQTT topic"):
            check_node_id(bad)
