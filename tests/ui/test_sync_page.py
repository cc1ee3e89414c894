"""The "Sync" page against a real runtime process with no broker: the outbox keeps growing,
the page says so in words, and the backlog plot is drawn from sync.backlog."""

from __future__ import annotations

import pytest

from tests.ui.support import attached_window, eventually


@pytest.fixture
async def window(runtime_process):
    runtime = await runtime_process(users=False)
    async with attached_window(runtime) as window:
        yield window


def records_waiting(page) -> int:
    text = page.text("queue")
    return int(text.split(" ")[0].replace(",", "")) if text[0].isdigit() else -1


async def test_the_outbox_grows_without_a_broker_and_the_backlog_is_plotted(window, tmp_path):
    page = window.page("sync")
    window.show_page(page)
    await eventually(lambda: records_waiting(page) > 0, 15, "records waiting in the outbox")
    assert page.text("broker").startswith("○ No broker configured")
    first = records_waiting(page)
    await eventually(lambda: records_waiting(page) > first, 10, "the outbox growing")

    def plotted() -> int:
        ys = page.curve.getData()[1]
        return int(ys[-1]) if ys is not None and len(ys) else 0

    page.fetch_backlog()  # as its 30 s timer does
    await eventually(lambda: plotted() > 0, 10, "the backlog plotted with records waiting")
    assert "Peak" in page.plot_note.text()
    assert window.grab().toImage().save(str(tmp_path / "sync.png"))
