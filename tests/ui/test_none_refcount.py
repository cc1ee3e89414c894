"""Painting every page a thousand times must not drop references to None.

PySide6 6.12.0 on Python 3.11 drops one on every QPainter.drawLine(QPointF, QPointF), which
pyqtgraph's axes call on every redraw; a 16-pen trend then died within seconds with "Fatal
Python error: none_dealloc". The pin keeps PySide6 below 6.12; this test catches an upgrade
that brings such a bug back before a panel crashes."""

from __future__ import annotations

import sys

import pytest

from ui.link import Link
from ui.window import MainWindow

PAINTS = 1_000
TAGS = [{"id": f"T{i}", "unit": unit, "connection": "plc", "address": f"ns=2;s=T{i}"}
        for i, unit in enumerate(("mm/s", "°C", "Hz", "bar"))]


@pytest.fixture
def window(qtbot):
    link = Link()
    window = MainWindow(link)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    link.tags = TAGS
    link.tags_defined.emit(TAGS)
    return link, window


def test_painting_every_page_keeps_none_referenced(window):
    link, window = window
    trends = window.page("trends")
    now = [1_800_000_000.0]
    trends.trend.clock = lambda: now[0]
    trends.trend.set_span(60)
    for tag in TAGS:
        trends.pick(tag["id"])
    for k in range(600):
        for i, tag in enumerate(TAGS):
            link.tag_value.emit(tag["id"], now[0] - 60 + k * 0.1, float(i + k % 7), 0)
    painted = {}
    for name, page in window.pages_in_rail():
        window.show_page(page)
        before = sys.getrefcount(None)
        for _ in range(PAINTS):
            now[0] += 0.5  # the trend slides, so its axes draw their ticks anew
            if page is trends:
                assert trends.plot.redraw()
            page.repaint()
        painted[name] = sys.getrefcount(None) - before
    assert set(painted) == set(window.rail_names)
    # None is immortal in no Python we run: a painting bug shows as a steady fall.
    assert all(change > -PAINTS // 2 for change in painted.values()), painted
