"""The main window and the "Connections and tags" page against a real runtime process on
the simulated plant: live values arrive, a lost runtime turns every value stale at once
with a banner, and its return brings live values back within 5 s."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt

from app.main import local_target
from tests.ui.support import eventually, free_port
from ui.link import Link, Target
from ui.tag_table import TagTableModel
from ui.window import MainWindow

TAG = "P101.vibration"


@pytest.fixture
async def hmi(qtbot, runtime_process):
    """A runtime process on a fixed port (so it can come back on it), a link attached to
    it as `lineside` attaches (its data folder's endpoint and token files), and the main
    window at 1280x800."""
    runtime = await runtime_process(api={"port": free_port()}, users=False)
    link = Link()
    window = MainWindow(link)
    # Closed here, not by qtbot.addWidget: pytest-qt deletes its widgets before this
    # teardown runs, and closing the link then signals `lost` to deleted widgets.
    window.resize(1280, 800)
    window.show()
    url, fingerprint, credentials, _folder = local_target(runtime.config, runtime.data_dir)
    assert url == runtime.url
    link.attach(Target(url, credentials, fingerprint))
    try:
        yield runtime, link, window
    finally:
        await link.close()
        window.close()
        window.deleteLater()


def live(model: TagTableModel, tag: str, after: float = 0.0) -> bool:
    row = model.row_of(tag)
    return row is not None and not model.stale(row) and (row.ts or 0.0) > after


def shown(window: MainWindow, tag: str, column: int, role: int = Qt.ItemDataRole.DisplayRole):
    """What the tags view shows for `tag` in `column` (through its sort proxy)."""
    proxy = window.connections_page.tag_view.model()
    for r in range(proxy.rowCount()):
        if proxy.index(r, TagTableModel.TAG).data() == tag:
            return proxy.index(r, column).data(role)
    raise AssertionError(f"{tag} is not in the tags view")


async def test_live_values_then_stale_at_once_then_back_within_5_s(hmi):
    runtime, _link, window = hmi
    tags = window.connections_page.tags
    await eventually(lambda: live(tags, TAG), 20, "a live value of P101.vibration")
    assert window.frame.banner_text() == ""
    assert shown(window, TAG, TagTableModel.VALUE).endswith("mm/s")
    assert shown(window, TAG, TagTableModel.QUALITY) == "✓ Good"
    connections = window.connections_page.connections
    await eventually(lambda: connections.rowCount() == 2 and all(
        connections.state_text(row) == "● Connected" for row in connections._rows), 10,
        "both connections shown connected")

    await runtime.stop()
    await eventually(lambda: "Runtime lost" in window.frame.banner_text(), 5, "the banner")
    # At the moment the banner shows, every value is already stale, hatched and struck out.
    assert tags.rowCount() > 5
    assert all(tags.stale(tags._rows[i]) for i in range(tags.rowCount()))
    assert shown(window, TAG, TagTableModel.QUALITY).startswith("⌀ STALE")
    brush = shown(window, TAG, TagTableModel.VALUE, Qt.ItemDataRole.BackgroundRole)
    assert brush.style() == Qt.BrushStyle.BDiagPattern
    assert shown(window, TAG, TagTableModel.VALUE, Qt.ItemDataRole.FontRole).strikeOut()
    assert connections.state_text(connections._rows[0]).startswith("⌀ UNKNOWN")

    await runtime.start()
    back = time.time()
    took = await eventually(lambda: live(tags, TAG, after=back), 5,
                            "live values again after the runtime's return")
    assert window.frame.banner_text() == ""
    assert shown(window, TAG, TagTableModel.QUALITY) == "✓ Good"
    print(f"back to live {took:.2f} s after the runtime listened again")


async def test_window_renders_at_1280x800(hmi, tmp_path):
    _runtime, _link, window = hmi
    tags = window.connections_page.tags
    await eventually(lambda: all(not tags.stale(r) for r in tags._rows) and tags.rowCount() > 5,
                     20, "every tag live")
    await eventually(lambda: window.connections_page.connections.rowCount() == 2, 10,
                     "both connections listed")
    image = window.grab().toImage()
    path = tmp_path / "connections-and-tags.png"
    assert image.save(str(path))
    assert (image.width(), image.height()) == (1280, 800)
    assert path.stat().st_size > 10_000
    # The rail's button is a touch target of at least 12 mm (44 px at the least).
    button = window.rail_buttons.button(0)
    assert min(button.width(), button.height()) >= window.target_px >= 44
