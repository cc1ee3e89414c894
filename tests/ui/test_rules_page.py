"""The Rules page against a real runtime process on the simulated plant (the pump project's
threshold rule `temp_high`: bearing temperature above 70 °C): a lowered threshold is
previewed over the recorded history (counts, traces, would-fire markers unlike the fired
ones), applied with a comment (a new version, and the alarm fires live), read back as a
readable diff and rolled back; a shadow copy starts, its comparison accrues and it is
promoted; an operator sees every control disabled, with the reason."""

from __future__ import annotations

import time

import pytest

from runtime.client import Credentials
from tests.fixtures.api import PASSWORD, until, user_of
from tests.ui.support import eventually
from ui.link import Link, Target
from ui.pages.rules import RulesPage
from ui.window import MainWindow

FLOW = "temp_high"
TAG = "P101.bearing_temp"
ALARM = "P101.TEMP_HIGH"
HISTORY_SAMPLES = 20


@pytest.fixture
async def rules_hmi(qapp, runtime_process):
    """A runtime with users of every role; the fixture is `open_as(role)`, which attaches a
    window logged in as that role, on the Rules page at 1280x800."""
    runtime = await runtime_process(users=True)
    opened: list[tuple[Link, MainWindow]] = []

    async def open_as(role: str) -> tuple[Link, MainWindow, RulesPage]:
        link = Link()
        window = MainWindow(link)  # not qtbot.addWidget: it would be deleted before the link
        window.resize(1280, 800)
        window.show()
        window.show_page(window.page("rules"))
        link.attach(Target(runtime.url, Credentials(user=user_of(role), password=PASSWORD),
                           runtime.fingerprint or None))
        opened.append((link, window))
        await eventually(lambda: not link.stale and window.page("rules").model.flow == FLOW, 30,
                         f"the Rules page loaded as {role}")
        return link, window, window.page("rules")

    try:
        yield open_as
    finally:
        for link, window in opened:
            await window.page("rules").model.close()
            await link.close()
            window.close()
            window.deleteLater()


async def recorded(link: Link, since: float, count: int) -> None:
    """Wait until the runtime recorded `count` samples of the bearing temperature."""
    async def enough() -> bool:
        assert link.client is not None
        series = (await link.client.history([TAG], since, time.time() + 1, 1))["series"][TAG]
        return bool(series["count"]) and series["count"][0] >= count
    await until(enough, 30, f"{count} samples of {TAG}")


def lowered(link: Link) -> tuple[float, float]:
    """(on above, off below) well under the bearing temperature now: the alarm must fire."""
    now = float(link.values[TAG][1])
    return round(now - 10.0), round(now - 15.0)


def edit(page: RulesPage, param: str, value: float) -> None:
    """Type a value into a tunable's number box, as a person would."""
    page.entries[("hyst", param)].spin.setValue(value)


async def test_a_lowered_threshold_is_previewed_applied_diffed_and_rolled_back(rules_hmi):
    open_as = rules_hmi
    link, window, page = await open_as("engineer")
    model = page.model
    started = time.time()
    await recorded(link, started - 3600, HISTORY_SAMPLES)
    # The tunables come from the node specs: the hysteresis levels, in the tag's unit.
    assert {t.key for t in model.tunables} == {("hyst", "on_above"), ("hyst", "off_below")}
    on_above = next(t for t in model.tunables if t.param == "on_above")
    assert on_above.unit == "°C" and on_above.deployed == 70 and on_above.maximum > 70
    assert page.entries[("hyst", "on_above")].isEnabled()

    # As deployed: the preview fires nothing, like the plant.
    model.preview_now()
    await eventually(lambda: page.trend.preview is not None and not model.previewing
                     and not model.edits, 60, "the preview as deployed")
    assert model.preview.would_alarms == 0 and model.preview.did_alarms == 0

    high, low = lowered(link)
    edit(page, "off_below", low)
    edit(page, "on_above", high)
    assert model.edited_params() == {"hyst": {"off_below": low, "on_above": high}}
    await eventually(lambda: page.trend.preview is not None
                     and page.trend.preview.params == model.edited_params(), 60,
                     "the preview of the lowered threshold")
    preview = page.trend.preview
    assert preview.would_alarms == 1 and preview.did_alarms == 0
    assert [m.text for m in preview.would if m.kind == "alarm.raised"] == [ALARM]
    assert preview.would != preview.did
    assert page.summary.text() == "Would raise 1 alarm(s) (now 0), 0 write(s) (now 0)"
    # the trace of the temperature is drawn with the edited and the deployed threshold
    assert "src:out" in preview.traces and preview.samples >= HISTORY_SAMPLES
    assert preview.thresholds["src:out"] == [("On above", high, 70.0),
                                             ("Off below", low, 65.0)]
    assert len(page.trend.signals.listDataItems()) == 1
    assert page.apply_button.isEnabled()

    page.ask_apply()
    page.dialog.setTextValue("lower the bearing limit")
    page.dialog.accept()
    await eventually(lambda: model.version == 2, 20, "version 2 deployed and read back")
    assert "version 2 deployed" in window.frame.notice_text()
    assert model.versions[0]["comment"] == "lower the bearing limit"
    assert page.versions.rowCount() == 2
    assert not model.edits and model.value(model.tunables[0]) == high
    # The new threshold runs: the alarm fires live.
    await eventually(lambda: any(a["alarm"] == ALARM and a["active"] for a in link.alarms),
                     20, "the alarm raised live")

    # The versions: a readable diff, and rollback (confirmed).
    page.tabs.setCurrentIndex(1)
    page.version_view.selectRow(0)
    await eventually(lambda: "On above" in page.diff.toPlainText(), 10, "the diff of v2")
    lines = page.diff.toPlainText().splitlines()
    assert f"~ Bearing temperature high ▸ hyst ▸ On above: 70 → {high:g}" in lines
    assert not page.rollback_button.isEnabled()  # the running version
    page.version_view.selectRow(1)
    assert page.rollback_button.isEnabled()
    page.ask_rollback()
    page.dialog.accept()
    await eventually(lambda: model.version == 3, 20, "version 1 deployed again as 3")
    assert model.value(model.tunables[0]) == 70
    assert "version 1 runs again as version 3" in window.frame.notice_text()


async def test_a_shadow_copy_starts_compares_and_is_promoted(rules_hmi):
    open_as = rules_hmi
    link, window, page = await open_as("engineer")
    model = page.model
    await eventually(lambda: TAG in link.values, 20, "a live bearing temperature")
    high, low = lowered(link)
    edit(page, "off_below", low)
    edit(page, "on_above", high)
    assert page.shadow_button.isEnabled() and not page.shadow_box.isVisible()
    page.try_in_shadow()
    await eventually(lambda: model.entry() is not None and bool(model.entry().shadow), 20,
                     "the shadow copy listed")
    shadow = model.entry(model.entry().shadow)
    assert shadow.mode == "shadow" and "hyst.on_above" in shadow.note
    assert "◐ shadow copy" in model.flows.text(shadow)
    assert page.shadow_box.isVisible() and not page.shadow_button.isEnabled()
    # The comparison accrues: the shadow raises its alarm, the live flow does not.
    await eventually(lambda: model.comparison is not None
                     and ALARM in model.comparison["comparison"]["only_shadow"], 30,
                     "the shadow's alarm in the comparison")
    assert "raised only in shadow" in page.shadow_lines.text()
    assert not any(a["alarm"] == ALARM for a in link.alarms)

    page.ask_promote()
    page.dialog.setTextValue("promote the lower limit")
    page.dialog.accept()
    await eventually(lambda: model.version == 3 and not model.entry().shadow, 20,
                     "the shadow promoted")
    assert "its parameters are live" in window.frame.notice_text()
    assert not page.shadow_box.isVisible()
    live = next(f for f in (await link.client.project())["document"]["flows"]
                if f["id"] == FLOW)
    assert live["nodes"][1]["params"] == {"on_above": high, "off_below": low}
    assert {t.param: t.deployed for t in model.tunables} == {"on_above": high,
                                                            "off_below": low}


async def test_an_operator_sees_the_controls_disabled_and_why(rules_hmi):
    open_as = rules_hmi
    _link, _window, page = await open_as("operator")
    await eventually(lambda: bool(page.entries), 10, "the tunables listed")
    assert page.reason.isVisible()
    assert "engineer role" in page.reason.text() and "operator" in page.reason.text()
    assert not any(entry.isEnabled() for entry in page.entries.values())
    for button in (page.apply_button, page.shadow_button, page.discard,
                   page.promote_button, page.rollback_button,
                   *page.window_buttons.buttons()):
        assert not button.isEnabled()
    assert page.trend.preview is None and "engineer" in page.summary.text()
