"""What the store's tests share: a clock they set by hand, stores closed after, and another
process holding a lock on the database file."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from runtime.store import Store, StoreConfig

T0 = 1_700_000_000.0


class Clock:
    """A clock that reads `now`, which the test sets."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@contextmanager
def opened_stores(tmp_path: Path, config: StoreConfig,
                  **defaults: Any) -> Iterator[Callable[..., Store]]:
    """make(config=..., **kwargs) opens the test's store file; all are closed at the end."""
    stores: list[Store] = []

    def make(config: StoreConfig = config, **kwargs: Any) -> Store:
        store = Store(tmp_path / "store.db", config, **{**defaults, **kwargs})
        stores.append(store)
        return store

    try:
        yield make
    finally:
        for store in stores:
            store.close()


_HOLDER = r"""
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
if sys.argv[2] == "exclusive":  # readers are locked out too, not only writers
    conn.execute("PRAGMA locking_mode = EXCLUSIVE")
    conn.execute("BEGIN EXCLUSIVE")
else:
    conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
conn.close()
"""


class LockHolder:
    """Another process (python and sqlite3) holding a write lock on `path` until release().

    mode "immediate" takes the write lock (BEGIN IMMEDIATE; WAL readers carry on); mode
    "exclusive" takes it in exclusive locking mode, which keeps readers out as well.
    """

    def __init__(self, path: Path, mode: str = "immediate") -> None:
        self.process = subprocess.Popen([sys.executable, "-c", _HOLDER, str(path), mode],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        line = self.process.stdout.readline() if self.process.stdout else ""
        if line.strip() != "locked":
            self.process.kill()
            self.release()
            raise RuntimeError(f"the lock holder did not take the lock on {path}")

    @property
    def pid(self) -> int:
        """The holder's process id."""
        return self.process.pid

    def release(self) -> None:
        """Let go of the lock and wait until the holder has exited."""
        if self.process.poll() is None and self.process.stdin:
            self.process.stdin.write("\n")
            self.process.stdin.flush()
        self.process.wait(10)
        for stream in (self.process.stdin, self.process.stdout):
            if stream:
                stream.close()

    def __enter__(self) -> LockHolder:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None and exc[0] is not None:
            self.process.kill()
        self.release()
