"""Which processes hold a file open, so a locked store can name who holds it (Linux /proc).

Elsewhere, or when /proc can't be read (another user's processes), nobody is found and the
caller says "another process".
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")
_MAX_COMMAND = 200


@dataclass(frozen=True, slots=True, order=True)
class Holder:
    """A process that has the file open: its pid and command line."""

    pid: int
    command: str

    def __str__(self) -> str:
        own = ", this process" if self.pid == os.getpid() else ""
        return f"pid {self.pid} ({self.command}{own})"


def holders(path: Path, proc: Path = _PROC) -> list[Holder]:
    """Every process whose open files include `path`, by pid; [] when none can be seen."""
    target = os.path.realpath(path)
    found: list[Holder] = []
    try:
        entries = [e for e in os.scandir(proc) if e.name.isdigit()]
    except OSError:
        return []
    for entry in entries:
        fd_dir = os.path.join(entry.path, "fd")
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if link == target:
                found.append(Holder(int(entry.name), _command(Path(entry.path))))
                break
    return sorted(found)


def _command(proc_pid: Path) -> str:
    try:
        raw = (proc_pid / "cmdline").read_bytes()
        text = " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)
        if not text:
            text = f"[{(proc_pid / 'comm').read_text().strip()}]"
    except OSError:
        return "?"
    return text if len(text) <= _MAX_COMMAND else text[:_MAX_COMMAND - 3] + "..."
