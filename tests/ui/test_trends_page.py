"""The Trends page against a real runtime process on the simulated plant: a picked tag's
live values arrive on its pen, history fills the past, a range change refetches at the
plot's pixel width, the cursor reads every pen, and CSV export writes what is drawn."""

from __future__ import annotations

import csv
import time
from datetime import datetime

import numpy as np
import pytest

from tests.fixtures.api import until
from tests.ui.support import attached_window, eventually
from ui.pages.trends import TrendsPage
from ui.theme import DARK, LIGHT

VIBRATION, TEMP, SPEED = "P101.vibration", "P101.bearing_temp", "VFD.speed"


@pytest.fixture
async def trends(runtime_process):
    """A runtime process, the main window attached as `lineside` attaches, at 1280x800
    showing the Trends page."""
    runtime = await runtime_process(users=False)
    async with attached_window(runtime) as window:
        link, page = window.link, window.page("trends")
        window.show_page(page)
        await eventually(lambda: not link.stale and len(link.tags) > 5, 20,
                         "the link connected")
        try:
            yield runtime, link, window, page
        finally:
            await page.trend.close()


def drawn_after(page: TrendsPage, tag: str, after: float) -> int:
    """How many drawn points of `tag`'s curve lie after `after`."""
    curve = page.plot.curves.get(tag)
    if curve is None:
        return 0
    return sum(int(np.sum(_xs(poly) > after)) for poly in curve.polylines)


def _xs(poly) -> np.ndarray:
    return np.array([poly.at(i).x() for i in range(poly.size())])


async def test_a_picked_tag_shows_live_values_on_its_pen(trends):
    _runtime, _link, _window, page = trends
    picked = time.time()
    page.pick(VIBRATION)
    assert VIBRATION in page.trend.pens
    await eventually(lambda: len(page.trend.pens[VIBRATION].series.live) >= 10, 20,
                     "ten live samples of P101.vibration")
    await eventually(lambda: drawn_after(page, VIBRATION, picked) >= 4, 20,
                     "live values drawn on the pen")
    ts, values, _q = page.trend.pens[VIBRATION].series.live.arrays()
    assert ts[-1] > picked and np.all(np.isfinite(values[-5:]))
    # The axis of the pen's unit is shown and the picker shows it checked.
    assert page.plot.units[0].unit == "mm/s"
    assert page.picker.item_of(VIBRATION).checkState().name == "Checked"
    page.pick(VIBRATION, on=False)
    assert VIBRATION not in page.trend.pens and not page.plot.curves


async def test_history_fills_the_past_after_a_range_change(trends):
    runtime, link, _window, page = trends
    client = await runtime.client("token")

    async def recorded() -> bool:
        now = time.time()
        series = (await client.history([VIBRATION], now - 60, now, 60))["series"][VIBRATION]
        return sum(series["count"]) >= 20 and now - series["first_ts"][0] >= 4.0

    await until(recorded, 30, "four seconds of P101.vibration recorded")
    picked = time.time()
    page.pick(VIBRATION)
    page.range_buttons.button(60).click()
    await eventually(lambda: page.trend.fetches >= 1
                     and len(page.trend.pens[VIBRATION].series.history.get("first_ts", ())), 20,
                     "history of P101.vibration fetched")
    await eventually(lambda: drawn_after(page, VIBRATION, 0)
                     - drawn_after(page, VIBRATION, picked - 1) >= 4, 20,
                     "points drawn from before the pen was picked")
    drawn = page.trend.pens[VIBRATION].drawn
    assert drawn is not None and drawn.grid.end - drawn.grid.start == pytest.approx(60, abs=1)
    assert link.values[VIBRATION][0] > picked - 1


async def test_a_range_change_refetches_at_the_pixel_width(trends):
    _runtime, _link, _window, page = trends
    page.pick(VIBRATION)
    await eventually(lambda: page.trend.last_fetch is not None, 20, "the first fetch")
    width = int(page.plot.view.sceneBoundingRect().width())
    assert page.trend.last_fetch[2] == width > 300
    before = page.trend.fetches
    page.range_buttons.button(3_600).click()
    await eventually(lambda: page.trend.fetches > before and page.trend.last_fetch is not None
                     and page.trend.last_fetch[1] - page.trend.last_fetch[0] > 3_000, 20,
                     "a fetch of the hour")
    start, end, fetched_width = page.trend.last_fetch
    assert fetched_width == width
    assert end == pytest.approx(time.time(), abs=5)
    assert end - start == pytest.approx(3_600, abs=5)
    assert page.range_buttons.button(3_600).isChecked() and page.follow_button.isChecked()
    # Paused, a zoom (a pinch) keeps its centre and fetches the new span.
    page.follow_button.click()
    assert not page.trend.follow and page.follow_button.text().endswith("Paused")
    before = page.trend.fetches
    page.plot.zoom(8.0, centre=end - 600)
    assert (page.trend.start + page.trend.end) / 2 < end - 600
    await eventually(lambda: page.trend.fetches > before, 20, "a fetch after the zoom")
    assert page.trend.last_fetch[1] - page.trend.last_fetch[0] == pytest.approx(450, abs=5)


async def test_the_cursor_lists_every_pen_at_its_time(trends):
    _runtime, _link, _window, page = trends
    tags = (VIBRATION, TEMP, SPEED)
    for tag in tags:
        page.pick(tag)
    await eventually(lambda: all(drawn_after(page, t, time.time() - 30) >= 2 for t in tags),
                     20, "every pen drawn")
    at = time.time() - 0.5
    page.plot.place_cursor(at)
    assert page.plot.cursor.isVisible()
    assert page.cursor_label.text().startswith("Cursor ")
    rows = {page.readout.index(r, 1).data(): page.readout.value_text(r)
            for r in range(page.readout.rowCount())}
    assert set(rows) == set(tags)
    assert rows[VIBRATION].endswith("mm/s") and rows[TEMP].endswith("°C")
    assert rows[SPEED].endswith("Hz")
    for tag, pen_value in page.trend.values_at(at):
        assert pen_value is not None, tag
        assert rows[tag.tag].startswith(f"{pen_value:.4g}")
    page.hide_cursor()
    assert not page.plot.cursor.isVisible() and page.readout.cursor is None


async def test_csv_export_writes_the_visible_range_with_the_pens_as_columns(trends, tmp_path):
    _runtime, _link, window, page = trends
    for tag in (VIBRATION, TEMP):
        page.pick(tag)
    await eventually(lambda: all(drawn_after(page, t, 0) >= 12 for t in (VIBRATION, TEMP)),
                     30, "both pens drawn over six columns")
    path = tmp_path / "trend.csv"
    rows = page.export_csv(path)
    with path.open() as f:
        table = list(csv.reader(f))
    assert table[0] == ["time", f"{VIBRATION} min [mm/s]", f"{VIBRATION} max [mm/s]",
                        f"{TEMP} min [°C]", f"{TEMP} max [°C]"]
    assert rows == len(table) - 1 >= 5
    grid = page.trend.pens[VIBRATION].drawn.grid
    stamps = [datetime.fromisoformat(r[0]).timestamp() for r in table[1:]]
    assert grid.start - 1e-3 <= min(stamps) and max(stamps) < grid.end
    for row in table[1:]:
        if row[1]:
            assert float(row[1]) <= float(row[2])
    assert "rows written" in window.frame.notice.text()
    png = tmp_path / "trend.png"
    page.export_png(png)
    assert png.stat().st_size > 5_000


@pytest.mark.parametrize("palette", [LIGHT, DARK], ids=["light", "dark"])
async def test_the_page_renders_six_live_pens_at_1280x800(runtime_process, tmp_path,
                                                         palette):
    runtime = await runtime_process(users=False)
    async with attached_window(runtime, palette=palette) as window:
        await _render_six_pens(window, tmp_path, palette)


async def _render_six_pens(window, tmp_path, palette) -> None:
    link, page = window.link, window.page("trends")
    window.show_page(page)
    try:
        await eventually(lambda: len(link.tags) >= 6, 20, "the tags listed")
        tags = [t["id"] for t in link.tags][:6]
        for tag in tags:
            page.pick(tag)
        page.range_buttons.button(60).click()
        await eventually(lambda: len(page.trend.pens[VIBRATION].series.live) >= 50
                         and all(drawn_after(page, t, time.time() - 20) >= 2 for t in tags),
                         20, "five seconds of live values drawn")
        page.plot.place_cursor(time.time() - 3)
        image = window.grab().toImage()
        path = tmp_path / f"trends-{palette.name}.png"
        assert image.save(str(path))
        assert (image.width(), image.height()) == (1280, 800)
        print(f"screenshot: {path}")
    finally:
        await page.trend.close()
