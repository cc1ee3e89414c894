"""What the store's unit tests share: a clock they set by hand, and stores closed after."""

from __future__ import annotations

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
