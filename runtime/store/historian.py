"""The historian: every tag's samples, compact on disk, with a per-tag deadband at ingest.

On disk a tag is a small integer key (table tags) and a sample one row of the WITHOUT ROWID
table samples keyed (tag_key, ts), ts in integer microseconds. Values keep their type: floats
REAL, ints INTEGER, bools 0/1 (read back as bools from the tag's kind), strings TEXT.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from itertools import repeat
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np

from runtime.contracts.messages import Sample, moved
from runtime.store.errors import StoreError
from runtime.store.records import Buckets

US = 1_000_000
INSERT_SQL = "INSERT OR REPLACE INTO samples (tag_key, ts, value, quality) VALUES (?, ?, ?, ?)"

_PLAIN = frozenset({float, int, bool, str, type(None)})
_REJECT = object()


_US_LIMIT = 2**62


def to_us(ts: float) -> int:
    """Epoch seconds to integer microseconds, as stored (infinite bounds clamp)."""
    if math.isinf(ts):
        return _US_LIMIT if ts > 0 else -_US_LIMIT
    return round(ts * US)


def kind_of(value: Any) -> str:
    """How a tag's values read back: "bool", "string" or "number"."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    return "number"


def plain(value: Any) -> Any:
    """A value SQLite stores as is (numpy scalars become Python numbers), or _REJECT."""
    if value.__class__ in _PLAIN:
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bool | int | float | str):
        return value
    return _REJECT


class TagRegistry:
    """Tag id to small integer key (and back); tags first seen since the last commit are
    saved with it."""

    def __init__(self, rows: Iterable[tuple[int, str, str]]) -> None:
        self.keys: dict[str, int] = {}
        self.kinds: dict[str, str] = {}
        self.tags: dict[int, str] = {}
        self._next = 1
        for key, tag, kind in rows:
            self._remember(key, tag, kind)
        self.unsaved: list[tuple[int, str, str]] = []

    def _remember(self, key: int, tag: str, kind: str) -> None:
        self.keys[tag] = key
        self.kinds[tag] = kind
        self.tags[key] = tag
        self._next = max(self._next, key + 1)

    def add(self, tag: str, value: Any) -> int:
        """A key for a new tag, whose kind follows its first value."""
        key = self._next
        kind = kind_of(value)
        self._remember(key, tag, kind)
        self.unsaved.append((key, tag, kind))
        return key

    def save(self, conn: sqlite3.Connection) -> None:
        """Insert the new tags (inside the caller's transaction)."""
        if self.unsaved:
            conn.executemany("INSERT OR IGNORE INTO tags (key, tag, kind) VALUES (?, ?, ?)",
                             self.unsaved)

    def saved(self) -> None:
        """The transaction that saved the new tags committed."""
        self.unsaved.clear()


class SampleBuffer:
    """Samples waiting for the next commit, as columns (no per-sample objects kept): tag key,
    timestamp (epoch seconds, as given), value, quality. The registry names the keys."""

    __slots__ = ("interleaved", "keys", "quals", "registry", "ts", "values")

    def __init__(self, registry: TagRegistry) -> None:
        self.registry = registry
        self.keys: list[int] = []
        self.ts: list[float] = []
        self.values: list[Any] = []
        self.quals: list[int] = []
        self.interleaved = False

    def __len__(self) -> int:
        return len(self.keys)

    def add_samples(self, samples: Iterable[Sample], deadbands: Mapping[str, float],
                    last: dict[str, tuple[Any, int]]) -> tuple[int, int]:
        """Append samples that pass their tag's deadband; returns (filtered, rejected).

        Rejected: values SQLite can't store as they are, timestamps that can't be a key.
        """
        registry = self.registry
        tag_keys = registry.keys
        start = len(self.keys)
        k_add, s_add = self.keys.append, self.ts.append
        v_add, q_add = self.values.append, self.quals.append
        filtered = rejected = 0
        for s in samples:
            tag, value, quality, ts = s.tag, s.value, s.quality, s.ts
            if value.__class__ not in _PLAIN:
                value = plain(value)
                if value is _REJECT:
                    rejected += 1
                    continue
            if deadbands:
                band = deadbands.get(tag)
                if band is not None:
                    prev = last.get(tag)
                    if prev is not None and prev[1] == quality and not moved(prev[0], value, band):
                        filtered += 1
                        continue
                    last[tag] = (value, quality)
            key = tag_keys.get(tag)
            if key is None:
                key = registry.add(tag, value)
            k_add(key)
            s_add(ts)
            v_add(value)
            q_add(quality)
        if not _all_finite(self.ts[start:]):
            keep = [i for i in range(start, len(self.ts)) if math.isfinite(self.ts[i])]
            rejected += len(self.ts) - start - len(keep)
            for column in (self.keys, self.ts, self.values, self.quals):
                column[start:] = _pick(column, keep)
        self.interleaved = True
        return filtered, rejected

    def add_columns(self, tag: str, ts: Sequence[float], values: Sequence[Any],
                    qualities: Sequence[int] | int, deadbands: Mapping[str, float],
                    last: dict[str, tuple[Any, int]]) -> tuple[int, int]:
        """Append one tag's samples given as columns; returns (filtered, rejected)."""
        n = len(ts)
        if n == 0:
            return 0, 0
        if len(values) != n:
            raise ValueError(f"append_columns {tag}: {n} timestamps but {len(values)} values")
        ts_list = ts.tolist() if isinstance(ts, np.ndarray) else list(ts)
        vals = values.tolist() if isinstance(values, np.ndarray) else list(values)
        if isinstance(qualities, int | np.integer):
            quals = [int(qualities)] * n
        else:
            quals = qualities.tolist() if isinstance(qualities, np.ndarray) else list(qualities)
            if len(quals) != n:
                raise ValueError(f"append_columns {tag}: {n} timestamps but {len(quals)} qualities")
        rejected = 0
        if not _all_finite(ts_list):
            keep = [i for i, t in enumerate(ts_list) if math.isfinite(t)]
            rejected = n - len(keep)
            ts_list, vals, quals = _pick(ts_list, keep), _pick(vals, keep), _pick(quals, keep)
        if not set(map(type, vals)) <= _PLAIN:
            cleaned = [plain(v) for v in vals]
            keep = [i for i, v in enumerate(cleaned) if v is not _REJECT]
            rejected += len(vals) - len(keep)
            ts_list, vals, quals = _pick(ts_list, keep), _pick(cleaned, keep), _pick(quals, keep)
        filtered = 0
        band = deadbands.get(tag) if deadbands else None
        if band is not None and vals:
            prev = last.get(tag)
            keep = []
            for i, (value, quality) in enumerate(zip(vals, quals, strict=True)):
                if prev is None or prev[1] != quality or moved(prev[0], value, band):
                    keep.append(i)
                    prev = (value, quality)
            assert prev is not None  # vals is not empty and the first sample always sets it
            last[tag] = prev
            filtered = len(vals) - len(keep)
            if filtered:
                ts_list, vals, quals = _pick(ts_list, keep), _pick(vals, keep), _pick(quals, keep)
        m = len(vals)
        if m == 0:
            return filtered, rejected
        key = self.registry.keys.get(tag)
        if key is None:
            key = self.registry.add(tag, vals[0])
        self.keys.extend(repeat(key, m))
        self.ts.extend(ts_list)
        self.values.extend(vals)
        self.quals.extend(quals)
        return filtered, rejected

    def rows(self) -> Iterable[tuple[int, int, Any, int]]:
        """Rows for INSERT_SQL, grouped by tag so each B-tree page is touched once (a stable
        sort: of two samples with the same key and timestamp the later one wins)."""
        ts_us = _to_us_all(self.ts)
        n = len(self.keys)
        if not self.interleaved or n < 2:
            return zip(self.keys, ts_us, self.values, self.quals, strict=True)
        keys = np.fromiter(self.keys, np.int64, n)
        order = np.argsort(keys, kind="stable")
        pick = itemgetter(*order.tolist())
        return zip(keys[order].tolist(), pick(ts_us), pick(self.values), pick(self.quals),
                   strict=True)

    def outbox_records(self, start: int, stop: int, first_seq: int) -> list[tuple]:
        """Sample records [seq, tag, ts, value, quality] for positions start..stop-1."""
        return list(zip(range(first_seq, first_seq + stop - start),
                        map(self.registry.tags.__getitem__, self.keys[start:stop]),
                        self.ts[start:stop], self.values[start:stop], self.quals[start:stop],
                        strict=True))


def _all_finite(numbers: list[Any]) -> bool:
    """True when every number is finite (False may also mean the sum overflowed)."""
    try:
        return math.isfinite(sum(numbers))
    except (OverflowError, TypeError):
        return False


def _to_us_all(ts: list[float]) -> list[int]:
    """to_us of every timestamp (finite ones; numpy rounds half to even, as round() does)."""
    if len(ts) <= 64:
        return [round(t * US) for t in ts]
    return np.rint(np.asarray(ts, dtype=np.float64) * US).astype(np.int64).tolist()


def _pick(seq: list[Any], keep: list[int]) -> list[Any]:
    return [seq[i] for i in keep]


def _tag(conn: sqlite3.Connection, tag: str) -> tuple[int, str] | None:
    return conn.execute("SELECT key, kind FROM tags WHERE tag = ?", (tag,)).fetchone()


def _as_bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _reader(kind: str):
    return _as_bool if kind == "bool" else None


def history(conn: sqlite3.Connection, tag: str, start: float, end: float,
            limit: int | None = None) -> list[Sample]:
    """The tag's samples with start <= ts < end, oldest first, at most `limit`."""
    found = _tag(conn, tag)
    if found is None:
        return []
    key, kind = found
    rows = conn.execute(
        "SELECT ts, value, quality FROM samples WHERE tag_key = ? AND ts >= ? AND ts < ?"
        " ORDER BY ts LIMIT ?",
        (key, to_us(start), to_us(end), -1 if limit is None else limit),
    ).fetchall()
    conv = _reader(kind)
    if conv is None:
        return [Sample(tag, ts / US, v, q) for ts, v, q in rows]
    return [Sample(tag, ts / US, conv(v), q) for ts, v, q in rows]


class Columns(NamedTuple):
    """One tag's samples as columns: ts (float64 epoch seconds), values, quality (int64)."""

    ts: np.ndarray
    values: list[Any]
    quality: np.ndarray


_RANGE = "FROM samples WHERE tag_key = ? AND ts >= ? AND ts < ?"
_first = itemgetter(0)


def history_columns(conn: sqlite3.Connection, tag: str, start: float, end: float) -> Columns:
    """The tag's samples with start <= ts < end, oldest first, as columns.

    Made for replays of whole days: timestamps and qualities are aggregated in SQL (integers
    convert exactly) and only values cross into Python one by one, about three times faster
    than history(). All three reads see one snapshot.
    """
    found = _tag(conn, tag)
    if found is None:
        return _empty_columns()
    key, kind = found
    bounds = (key, to_us(start), to_us(end))
    conn.execute("BEGIN")
    try:
        ts_text = conn.execute(f"SELECT group_concat(ts) FROM (SELECT ts {_RANGE} ORDER BY ts)",
                               bounds).fetchone()[0]
        values = list(map(_first, conn.execute(f"SELECT value {_RANGE} ORDER BY ts", bounds)))
        not_good = conn.execute(f"SELECT ts, quality {_RANGE} AND quality != 0 ORDER BY ts",
                                bounds).fetchall()
    finally:
        conn.execute("COMMIT")
    if not values:
        return _empty_columns()
    ts_us = np.fromstring(ts_text, sep=",", dtype=np.int64)
    if len(ts_us) != len(values) or np.any(ts_us[1:] <= ts_us[:-1]):
        raise StoreError(f"history of {tag}: timestamps and values did not line up")
    quality = np.zeros(len(values), dtype=np.int64)
    if not_good:
        bad_ts, bad_q = np.array(not_good, dtype=np.int64).T
        quality[np.searchsorted(ts_us, bad_ts)] = bad_q
    if kind == "bool":
        values = [_as_bool(v) for v in values]
    return Columns(ts_us / US, values, quality)


def _empty_columns() -> Columns:
    return Columns(np.empty(0, dtype=np.float64), [], np.empty(0, dtype=np.int64))


_DOWNSAMPLE_SQL = """
WITH b AS (
    SELECT ((ts - :a) * :w) / (:b - :a) AS bucket, min(ts) AS first_ts, max(ts) AS last_ts,
           min(value) AS vmin, max(value) AS vmax, max(quality) AS worst, count(*) AS n
    FROM samples WHERE tag_key = :k AND ts >= :a AND ts < :b GROUP BY bucket
)
SELECT b.first_ts, b.last_ts, b.vmin, b.vmax, s.value, b.worst, b.n
FROM b JOIN samples s ON s.tag_key = :k AND s.ts = b.last_ts ORDER BY b.bucket
"""


def history_downsampled(conn: sqlite3.Connection, tag: str, start: float, end: float,
                        width: int) -> Buckets:
    """Up to `width` equal time buckets over [start, end), as columns: first and last
    timestamp, min, max, last value, worst quality and count; empty buckets are left out.
    Made with as little Python per bucket as can be: a 24 h plot's worth of buckets is
    built while the runtime's event loop waits for the interpreter."""
    if width <= 0:
        raise ValueError(f"width must be > 0, got {width}")
    found = _tag(conn, tag)
    a, b = to_us(start), to_us(end)
    if found is None or b <= a:
        return Buckets()
    key, kind = found
    rows = conn.execute(_DOWNSAMPLE_SQL, {"a": a, "b": b, "w": width, "k": key}).fetchall()
    if not rows:
        return Buckets()
    first, last_ts, vmin, vmax, last, worst, n = zip(*rows, strict=True)
    conv = _reader(kind)

    def values(column: tuple[Any, ...]) -> list[Any]:
        return list(column) if conv is None else list(map(conv, column))
    return Buckets([t / US for t in first], [t / US for t in last_ts], values(vmin),
                   values(vmax), values(last), list(worst), list(n))


def tags(conn: sqlite3.Connection) -> list[str]:
    """Every tag the historian has seen."""
    return [r[0] for r in conn.execute("SELECT tag FROM tags ORDER BY tag")]
