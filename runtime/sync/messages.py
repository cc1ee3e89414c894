"""MQTT messages built from outbox chunks: topics, grouping and the JSON payload.

A message carries consecutive records of one kind from one node:

    {"node": "n1", "incarnation": "3f0c...", "seq_first": 1, "seq_last": 5000,
     "count": 5000, "historical": false, "kind": "samples",
     "records": [[1, "P101.flow", 1700000000.1, 12.5, 0], ...]}

`incarnation` names the store's life the sequence numbers belong to: a store created afresh
starts again at 0 under a new one, so consumers de-duplicate by (node, incarnation, seq).

The store keeps each chunk's records as a compact JSON array, so a payload is spliced from
those bytes (outer brackets dropped, arrays joined with commas) instead of parsing and
re-serialising every record.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from runtime.sync.outbox import Chunk

KINDS = ("samples", "events")
_HEADER_BYTES = 160


class ChunkFormatError(ValueError):
    """An outbox chunk's payload is not a JSON array; it cannot be spliced into a message."""


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One MQTT publish and the outbox chunks it carries (deleted once the broker acks it)."""

    topic: str
    payload: bytes
    kind: str
    chunk_ids: tuple[int, ...]
    seq_first: int
    seq_last: int
    count: int
    historical: bool


def topic_for(prefix: str, node_id: str, kind: str) -> str:
    """The topic a node's records of one kind go to: {prefix}/{node_id}/{kind}."""
    return f"{prefix}/{node_id}/{kind}"


def check_node_id(node_id: str) -> None:
    """ValueError unless node_id can be one topic level (no '/', '+', '#', not empty)."""
    if not node_id or any(c in node_id for c in "/+#\x00"):
        raise ValueError(
            f"node id {node_id!r} cannot be used in an MQTT topic (it must be non-empty "
            "and contain no '/', '+' or '#')"
        )


def is_historical(chunk: Chunk, now: float, historical_after_s: float) -> bool:
    """True when the chunk is older than historical_after_s at `now` (backlog, not live)."""
    return now - chunk.created_ts > historical_after_s


def group_chunks(
    chunks: Sequence[Chunk],
    *,
    now: float,
    historical_after_s: float,
    max_records: int,
    max_bytes: int,
) -> list[tuple[list[Chunk], bool]]:
    """Split chunks (oldest first) into messages, keeping their order.

    Adjacent chunks share a message while they have the same kind and historical flag,
    their sequence numbers continue without a gap, and the message stays within max_records
    and about max_bytes. A chunk larger than either limit is sent alone.
    """
    groups: list[tuple[list[Chunk], bool]] = []
    current: list[Chunk] = []
    current_flag = False
    records = size = 0
    for chunk in chunks:
        flag = is_historical(chunk, now, historical_after_s)
        if current:
            last = current[-1]
            if (
                chunk.kind != last.kind
                or flag != current_flag
                or chunk.seq_first != last.seq_last + 1
                or records + chunk.count > max_records
                or size + len(chunk.payload) + _HEADER_BYTES > max_bytes
            ):
                groups.append((current, current_flag))
                current = []
        if not current:
            current_flag = flag
            records = size = 0
        current.append(chunk)
        records += chunk.count
        size += len(chunk.payload)
    if current:
        groups.append((current, current_flag))
    return groups


def records_body(payload: bytes) -> bytes:
    """The records inside a chunk's JSON array, without the brackets (b'' when empty)."""
    body = payload.strip()
    if body[:1] != b"[" or body[-1:] != b"]":
        raise ChunkFormatError(f"chunk payload is not a JSON array: {payload[:40]!r}")
    return body[1:-1].strip()


def encode_payload(
    node_id: str, incarnation: str, chunks: Sequence[Chunk], historical: bool
) -> bytes:
    """The JSON payload for consecutive chunks of one kind, spliced from their stored arrays."""
    first, last = chunks[0], chunks[-1]
    count = sum(c.count for c in chunks)
    flag = "true" if historical else "false"
    head = (
        f'{{"node":{json.dumps(node_id)},"incarnation":{json.dumps(incarnation)},'
        f'"seq_first":{first.seq_first:d},'
        f'"seq_last":{last.seq_last:d},"count":{count:d},"historical":{flag},'
        f'"kind":{json.dumps(first.kind)},"records":['
    ).encode()
    bodies = [body for body in (records_body(c.payload) for c in chunks) if body]
    return b"".join((head, b",".join(bodies), b"]}"))


def build_messages(
    chunks: Sequence[Chunk],
    *,
    node_id: str,
    incarnation: str,
    topic_prefix: str,
    now: float,
    historical_after_s: float,
    max_records: int,
    max_bytes: int,
) -> list[OutboundMessage]:
    """The messages that carry these chunks (oldest first), in order."""
    messages = []
    for group, historical in group_chunks(
        chunks,
        now=now,
        historical_after_s=historical_after_s,
        max_records=max_records,
        max_bytes=max_bytes,
    ):
        kind = group[0].kind
        messages.append(
            OutboundMessage(
                topic=topic_for(topic_prefix, node_id, kind),
                payload=encode_payload(node_id, incarnation, group, historical),
                kind=kind,
                chunk_ids=tuple(c.id for c in group),
                seq_first=group[0].seq_first,
                seq_last=group[-1].seq_last,
                count=sum(c.count for c in group),
                historical=historical,
            )
        )
    return messages
