"""The Overview page against a real runtime process on the simulated plant, with the demo
project (its pump and drive as assets) and a rule that keeps writing the drive's speed
setpoint: live values arrive on the bars; a lost runtime turns every bar stale at once; the
line goes to manual from the page (confirmed) and the rule's writes stop reaching the plant;
"Stop AI writes" likewise; a viewer sees the controls disabled and cannot change the mode."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from runtime.client import Credentials
from runtime.demo import demo_project, point_at_sim
from tests.fixtures.api import until
from tests.runtime_process import PASSWORD, user_of
from tests.ui.support import attached_window, eventually
from ui.indicators import BAR, LAMP, ValueRow
from ui.theme import DARK, LIGHT

SETPOINT = "VFD.speed_sp"
SHOTS = os.environ.get("LINESIDE_SHOTS")
"""A folder to keep the screenshots in (they go to the test's temporary folder otherwise)."""


def project(plant) -> dict:
    """The demo project on the test's plant, plus a rule that writes a new speed setpoint on
    every vibration sample (so writes reaching the plant show at once, and their stopping)."""
    doc = demo_project()
    point_at_sim(doc, {"opcua_url": plant.opcua_url, "modbus_host": plant.modbus_host,
                       "modbus_port": plant.modbus_port})
    setpoint = next(t for t in doc["tags"] if t["id"] == SETPOINT)
    setpoint["envelope"] = {"min": 35, "max": 50, "max_step": 20, "min_interval_s": 0}
    doc["flows"].append({
        "id": "follow_vibration", "label": "Test: setpoint follows the vibration's noise",
        "nodes": [
            {"id": "vib", "type": "source.tag", "params": {"tag": "P101.vibration"}},
            {"id": "sp", "type": "math.expression",
             "params": {"expression": "40 + (a * 100) % 10"}},
            {"id": "write", "type": "action.write",
             "params": {"tag": SETPOINT, "min_change": 0.05}},
        ],
        "wires": [{"from": "vib:out", "to": "sp:a"}, {"from": "sp:out", "to": "write:in"}],
    })
    return doc


def login(role: str) -> Credentials:
    return Credentials(user=user_of(role), password=PASSWORD)


@pytest.fixture
async def plant_runtime(runtime_process, sim_plant):
    return await runtime_process(project=project(sim_plant), users=True)


@pytest.fixture
async def hmi(plant_runtime):
    """The main window logged in as an operator."""
    async with attached_window(plant_runtime, login("operator")) as window:
        yield plant_runtime, window.link, window


def live(row: ValueRow) -> bool:
    return not row.reading.missing


async def writes_since(client, since: float) -> list[dict]:
    found = await client.events(since, time.time() + 60, ["write"])
    return [e for e in found["events"] if e["data"].get("tag") == SETPOINT]


async def test_the_overview_is_built_from_the_assets_and_live_values_arrive(hmi):
    _runtime, _link, window = hmi
    page = window.page("overview")
    assert window.pages.currentWidget() is page  # the page shown at start
    await eventually(lambda: len(page.panels) == 2, 20, "the two assets' panels")
    assert [p.asset.name for p in page.panels] == ["P-101 centrifugal pump",
                                                   "P-101 variable frequency drive"]
    vibration = page.row("P101.vibration")
    assert (vibration.kind, vibration.unit, vibration.label) == (BAR, "mm/s", "Vibration")
    assert page.row("P101.running").kind == LAMP
    await eventually(lambda: all(live(r) for r in page.rows), 30,
                     "live values on every bar, the health score included")
    assert vibration.value_text().endswith(" mm/s")
    assert float(vibration.value_text().split()[0]) > 0
    assert page.row("P101.running").value_text() == "ON"
    assert page.row("p101_health/model:score").state() in ("normal", "hi", "hi_hi")
    # Values keep coming: the vibration's reading changes.
    first = vibration.reading
    await eventually(lambda: vibration.reading != first, 5, "a new vibration value")


async def test_a_lost_runtime_turns_every_bar_stale_at_once(hmi):
    runtime, _link, window = hmi
    page = window.page("overview")
    await eventually(lambda: page.rows and all(live(r) for r in page.rows), 30,
                     "live values on every bar")
    await runtime.stop()
    await eventually(lambda: "Runtime lost" in window.frame.banner_text(), 5, "the banner")
    # At the moment the banner shows, no bar shows a number.
    assert all(r.reading.missing == "STALE" for r in page.rows)
    assert all(r.value_text() == "⌀ STALE" for r in page.rows)
    assert not page.mode_button.isEnabled() and not page.stop_button.isEnabled()
    assert page.why_not.text() == "The runtime is not connected."


async def test_manual_mode_from_the_page_stops_rule_writes_reaching_the_plant(hmi):
    runtime, link, window = hmi
    page = window.page("overview")
    operator = await runtime.client("operator")
    started = time.time()
    await eventually(lambda: link.line_mode == "automatic" and page.mode_button.isEnabled()
                     and len(page.panels) == 2, 20, "the line in automatic, the switch enabled")
    setpoint = page.row(SETPOINT)
    # In automatic, the rule's writes reach the plant: the setpoint read back keeps changing.
    await eventually(lambda: live(setpoint), 20, "the setpoint read back")
    seen = {setpoint.value_text()}
    await eventually(lambda: seen.add(setpoint.value_text()) or len(seen) >= 3, 20,
                     "the plant's setpoint changed by the rule")

    page.mode_button.click()
    dialog = page.confirmation
    assert dialog is not None and dialog.isVisible()
    assert "Rules stop writing to the plant" in dialog.informativeText()
    assert link.line_mode == "automatic"  # nothing happens before the confirmation
    dialog.confirm.click()
    await eventually(lambda: link.line_mode == "manual", 5, "the line in manual")
    switched = time.time()
    assert "MANUAL" in page.mode_label.text()
    assert "the line is in manual" in window.frame.notice_text()

    # The rule keeps asking and is refused; the plant's setpoint no longer moves.
    async def refused() -> bool:
        found = await operator.events(switched - 1, time.time() + 60, ["write.refused"])
        return any(e["data"].get("tag") == SETPOINT for e in found["events"])
    await until(refused, 10, "the rule's write refused in manual")
    # A write made just before the switch shows in a read-back up to one poll (0.5 s)
    # later: hold from after that.
    await eventually(lambda: link.values["P101.vibration"][0] > switched + 1.5, 10,
                     "samples from 1.5 s after the switch")
    held = setpoint.value_text()
    samples = link.values["P101.vibration"][0]
    await eventually(lambda: link.values["P101.vibration"][0] > samples + 2, 10,
                     "two more seconds of vibration samples for the rule")
    assert setpoint.value_text() == held
    assert await writes_since(operator, switched + 0.5) == []
    assert await writes_since(operator, started)  # the rule did write before the switch

    # Back to automatic, confirmed too; the rule writes again.
    page.mode_button.click()
    assert "Rules may write to the plant again" in page.confirmation.informativeText()
    page.confirmation.confirm.click()
    await eventually(lambda: link.line_mode == "automatic", 5, "the line in automatic")
    back = time.time()
    await until(lambda: _any(writes_since(operator, back)), 10,
                           "rule writes again in automatic")


async def test_stop_ai_writes_is_one_touch_and_stops_them(hmi):
    runtime, link, window = hmi
    page = window.page("overview")
    operator = await runtime.client("operator")
    await eventually(lambda: link.line_mode == "automatic" and page.stop_button.isEnabled(),
                     20, "the line in automatic, the button enabled")
    started = time.time()
    await until(lambda: _any(writes_since(operator, started)), 10,
                           "the rule writing")
    page.stop_button.click()
    await eventually(lambda: link.line_mode == "manual", 5, "the line in manual")
    stopped = time.time()
    assert "Stop AI writes" in window.frame.notice_text()
    assert not page.stop_button.isEnabled()  # nothing left to stop
    samples = link.values["P101.vibration"][0]
    await eventually(lambda: link.values["P101.vibration"][0] > samples + 2, 10,
                     "two more seconds of vibration samples for the rule")
    assert await writes_since(operator, stopped + 0.5) == []


async def test_a_viewer_sees_the_controls_disabled_and_cannot_change_the_mode(plant_runtime):
    async with attached_window(plant_runtime, login("viewer")) as window:
        link = window.link
        page = window.page("overview")
        await eventually(lambda: link.role == "viewer" and link.line_mode == "automatic", 20,
                         "logged in as a viewer, the line in automatic")
        await eventually(lambda: page.rows and live(page.row("P101.vibration")), 20,
                         "live values for the viewer")
        assert not page.mode_button.isEnabled() and not page.stop_button.isEnabled()
        assert page.why_not.isVisible()
        assert "needs an operator" in page.why_not.text()
        # Even asked directly (as a stale button might), the runtime refuses a viewer.
        page.model.set_mode("manual")
        await eventually(lambda: "refused" in window.frame.notice_text(), 5, "the refusal")
        assert link.line_mode == "automatic"


@pytest.mark.parametrize("palette", [LIGHT, DARK], ids=["light", "dark"])
async def test_the_overview_renders_at_1280x800(plant_runtime, palette, tmp_path):
    async with attached_window(plant_runtime, login("operator"), palette) as window:
        page = window.page("overview")
        await eventually(lambda: page.rows and all(live(r) for r in page.rows), 30,
                         "live values on every bar")
        await eventually(lambda: "rule" in page.recent.text(), 10, "recent rule writes")
        image = window.grab().toImage()
        assert (image.width(), image.height()) == (1280, 800)
        path = Path(SHOTS or tmp_path) / f"overview-{palette.name}.png"
        assert image.save(str(path))
        assert path.stat().st_size > 20_000
        for button in (page.mode_button, page.stop_button):
            assert button.height() >= window.target_px


async def _any(found) -> bool:
    return bool(await found)
