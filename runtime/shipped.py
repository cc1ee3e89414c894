"""The files Lineside ships in its `resources` package (demo project, demo models, example
configuration), found with importlib.resources: the same in a checkout and a wheel install."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from runtime.contracts import LinesideError

PACKAGE = "resources"


class ShippedFileMissing(LinesideError):
    """A file that ships with Lineside is not where the installed package keeps it."""


def shipped(*parts: str) -> Path:
    """The path of resources/<parts> as installed; ShippedFileMissing when it is not there."""
    try:
        root = files(PACKAGE)
    except ModuleNotFoundError:
        raise ShippedFileMissing(f"the '{PACKAGE}' package is not installed beside 'runtime'; "
                                 "reinstall lineside") from None
    if not isinstance(root, Path):
        raise ShippedFileMissing(f"the '{PACKAGE}' package at {root} is not a folder on disk; "
                                 "install lineside unzipped (pip does)")
    path = root.joinpath(*parts)
    if not path.exists():
        raise ShippedFileMissing(f"{path}: not found in the installed '{PACKAGE}' package; "
                                 "reinstall lineside")
    return path
