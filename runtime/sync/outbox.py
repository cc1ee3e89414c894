"""What the forwarder needs from the store's outbox, as protocols (runtime.store implements them).

The forwarder only reads chunks oldest first, deletes them once the broker acknowledged them
and reads the outbox's size; it never writes records itself.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Sequence
from typing import Any, Protocol


class Chunk(Protocol):
    """One outbox chunk: consecutive records of one kind, stored as a compact JSON array."""

    @property
    def id(self) -> int: ...

    @property
    def kind(self) -> str: ...

    @property
    def seq_first(self) -> int: ...

    @property
    def seq_last(self) -> int: ...

    @property
    def count(self) -> int: ...

    @property
    def created_ts(self) -> float: ...

    @property
    def payload(self) -> bytes: ...


class Stats(Protocol):
    """The outbox's size, its oldest record and how many records the capacity policy dropped."""

    @property
    def records(self) -> int: ...

    @property
    def bytes(self) -> int: ...

    @property
    def chunks(self) -> int: ...

    @property
    def oldest_ts(self) -> float | None: ...

    @property
    def dropped_records(self) -> int: ...

    @property
    def next_seq(self) -> int: ...


class Outbox(Protocol):
    """The store's outbox API the forwarder codes against."""

    @property
    def incarnation(self) -> str:
        """The store's life the sequence numbers belong to; a store created afresh starts
        again at 0 under a new incarnation."""
        ...

    def outbox_peek(self, max_records: int) -> Sequence[Chunk]:
        """Chunks oldest first, up to `max_records` records (at least one chunk if any).

        The forwarder calls it from a worker thread, beside the event loop.
        """
        ...

    def outbox_ack(self, chunk_ids: Sequence[int]) -> concurrent.futures.Future[Any]:
        """Delete these chunks; the future completes once the delete is committed.

        Deletes are applied in the order they were asked for (the forwarder does not wait
        for one to commit before asking for the next).
        """
        ...

    def outbox_stats(self) -> Stats:
        """The outbox's current size."""
        ...
