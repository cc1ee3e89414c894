"""Structured logging: one event per line with key=value fields, secrets never printed."""

from __future__ import annotations

import logging
import sys

_FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s event=%(message)s"
_QUIET = ("asyncua", "pymodbus")


class _KnownNoise(logging.Filter):
    """Drops asyncua's traceback on every lost connection: the hub logs the loss itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name.startswith("asyncua.client")
                    and str(record.msg).startswith("Publish iteration crashed"))


def setup_logging(level: str = "INFO", stream=None) -> None:
    """Configure the root logger once for the process; protocol libraries log warnings only."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.addFilter(_KnownNoise())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
