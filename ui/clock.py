"""Times as an operator reads them: the time of day for today, the date too before."""

from __future__ import annotations

import time


def clock_text(ts: float | None, now: float | None = None) -> str:
    """"14:02:11" today, "2026-11-30 14:02" on another day; "—" for no time."""
    if not ts:
        return "—"
    here = time.localtime(ts)
    today = time.localtime(now if now is not None else time.time())
    same_day = here.tm_yday == today.tm_yday and here.tm_year == today.tm_year
    return time.strftime("%H:%M:%S" if same_day else "%Y-%m-%d %H:%M", here)
