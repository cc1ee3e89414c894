"""The Alarms page against a real runtime process on the simulated plant: a fault injected
into the plant raises an alarm that shows, blinking until acknowledged; it is acknowledged
with a note, shelved for a chosen time and unshelved from the page, and the runtime has it
so; a viewer sees the actions disabled, and an ack tried anyway is refused with the reason."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.runtime_process import user_of
from tests.ui.support import eventually, inject_fault, logged_in
from ui.alarms_model import AlarmTableModel
from ui.pages.alarms import AlarmsPage
from ui.theme import DARK, LIGHT, alarm_colours
from ui.widgets.alarm_cells import SOURCE_ROLE
from ui.widgets.keypad import OK

ALARM = "P101.VIB_HIGH"
"""The pump project's vibration alarm (medium): bearing wear raises it within seconds."""


async def raised(runtime, sim_plant, page: AlarmsPage) -> None:
    await inject_fault(sim_plant.opcua_url, "bearing_wear", 1.0)
    await eventually(lambda: page.model.alarm(ALARM) is not None, 60,
                     f"{ALARM} on the alarms page")


def row_of(page: AlarmsPage, alarm: str) -> int:
    for row in range(page.filter.rowCount()):
        if page.filter.index(row, AlarmTableModel.MESSAGE).data(Qt.ItemDataRole.UserRole) == alarm:
            return row
    raise AssertionError(f"{alarm} is not shown")


def shown(page: AlarmsPage, alarm: str, column: int, role=Qt.ItemDataRole.DisplayRole):
    return page.filter.index(row_of(page, alarm), column).data(role)


def state(page: AlarmsPage) -> str:
    alarm = page.model.alarm(ALARM)
    return alarm["state"] if alarm else "normal"


async def test_fault_ack_with_note_shelve_and_unshelve(qtbot, runtime_process, sim_plant):
    runtime = await runtime_process(users=True)
    async with logged_in(runtime, "operator") as window:
        page = window.page("alarms")
        window.show_page(page)
        await raised(runtime, sim_plant, page)
        assert state(page) == "active-unacked"
        assert shown(page, ALARM, AlarmTableModel.PRIORITY) == "▲ MED"
        assert shown(page, ALARM, AlarmTableModel.STATE) == "Active · unacked"
        assert shown(page, ALARM, AlarmTableModel.MESSAGE) == "P-101 vibration high"
        assert ":" in shown(page, ALARM, AlarmTableModel.RAISED)
        # The value of the tag behind the alarm (its flow's one source tag), live.
        await eventually(lambda: re.fullmatch(r"\d+\.\d\d mm/s", shown(
            page, ALARM, AlarmTableModel.VALUE)) is not None, 10,
            "the vibration's live value beside the alarm")
        assert shown(page, ALARM, AlarmTableModel.VALUE, SOURCE_ROLE) == "P101.vibration"

        # Unacknowledged: the priority cell blinks (alarm colour, then outline only).
        medium = alarm_colours(LIGHT, "medium")[0]
        background = AlarmTableModel.PRIORITY, Qt.ItemDataRole.BackgroundRole
        phases = {shown(page, ALARM, *background).color().name().upper()}
        await eventually(lambda: phases.add(shown(page, ALARM, *background).color().name()
                                            .upper()) or len(phases) == 2, 3, "a blink")
        assert phases == {medium, LIGHT.panel.upper()}

        assert page.select(ALARM)
        assert page.ack_button.isEnabled() and page.shelve_button.isEnabled()
        assert not page.unshelve_button.isEnabled() and page.why_not.isHidden()
        page.ack_button.click()
        dialog = page.dialog
        assert dialog is not None and dialog.isVisible() and dialog.alarm == ALARM
        dialog.note_edit.setText("bearing being checked")
        dialog.ok_button.click()
        await eventually(lambda: state(page) == "active-acked", 10, "the ack")
        assert "bearing being checked" in shown(page, ALARM, AlarmTableModel.NOTE)
        assert window.frame.notice_text() == (
            f"✓ Acknowledge {ALARM}: acknowledged by {user_of('operator')}")
        listed = {a["alarm"]: a for a in (await (await runtime.client()).alarms())["alarms"]}
        assert (listed[ALARM]["ack_note"], listed[ALARM]["ack_user"]) == (
            "bearing being checked", user_of("operator"))
        # Acknowledged: steady in both halves of the blink.
        page.model.blink_on = False
        assert shown(page, ALARM, *background).color().name().upper() == medium
        page.model.blink_on = True
        assert not page.ack_button.isEnabled()

        # Shelve for 20 minutes typed on the keypad.
        assert page.select(ALARM)
        page.shelve_button.click()
        dialog = page.dialog
        dialog.preset_buttons["custom"].click()
        keypad = dialog.minutes.keypad
        assert keypad is not None and keypad.isVisible()
        keypad.press("2")
        keypad.press("0")
        keypad.press(OK)
        assert dialog.duration_s() == 1200.0
        dialog.note_edit.setText("during the repair")
        before = time.time()
        dialog.ok_button.click()
        await eventually(lambda: state(page) == "shelved", 10, "the shelve")
        alarm = page.model.alarm(ALARM)
        assert alarm["shelved_by"] == user_of("operator")
        assert 1195 < alarm["shelved_until"] - before < 1210
        assert "∥ 1 shelved" in page.counts.text()
        assert "∥ 1 shelved" in window.frame.counts.text()
        assert shown(page, ALARM, AlarmTableModel.STATE) == "∥ Shelved · active"
        assert "during the repair" in shown(page, ALARM, AlarmTableModel.NOTE)
        assert window.frame.notice_text().startswith(f"✓ Shelve {ALARM}: shelved until ")
        page.filter.set_kind("unacked")
        assert page.filter.rowCount() == 0 and page.empty.isVisible()
        page.kind_buttons["shelved"].click()
        assert page.filter.rowCount() == 1 and page.selected_alarm() is None
        assert page.select(ALARM)  # a row filtered away lost its selection
        assert page.unshelve_button.isEnabled() and not page.shelve_button.isEnabled()

        page.unshelve_button.click()
        await eventually(lambda: state(page) == "active-unacked", 10, "the unshelve")
        assert "∥ 0 shelved" in page.counts.text()
        assert page.filter.rowCount() == 0  # still filtered to shelved ones
        page.kind_buttons["all"].click()
        page.priority_buttons["high"].click()
        assert page.filter.rowCount() == 0
        page.priority_buttons["medium"].click()
        assert page.filter.rowCount() == 1
    await screenshots(runtime)


async def screenshots(runtime) -> None:
    """The page at 1280x800 in both themes with the active alarm, from windows of their own
    (files in $LINESIDE_SCREENSHOTS when set, else beside the runtime's folder)."""
    folder = Path(os.environ.get("LINESIDE_SCREENSHOTS") or runtime.data_dir.parent)
    folder.mkdir(parents=True, exist_ok=True)
    for palette in (LIGHT, DARK):
        async with logged_in(runtime, "operator", palette) as window:
            page = window.page("alarms")
            window.show_page(page)
            await eventually(lambda p=page: p.model.alarm(ALARM) is not None and shown(
                p, ALARM, AlarmTableModel.VALUE) != "—", 10, "the alarm with its value")
            page.select(ALARM)
            page.model.blink_on = True  # the bright half of the blink
            image = window.grab().toImage()
            assert (image.width(), image.height()) == (1280, 800)
            path = folder / f"alarms-{palette.name}.png"
            assert image.save(str(path))
            assert path.stat().st_size > 10_000


async def test_a_viewer_sees_the_actions_disabled_and_is_refused(qtbot, runtime_process,
                                                                  sim_plant):
    runtime = await runtime_process(users=True)
    async with logged_in(runtime, "viewer") as window:
        page = window.page("alarms")
        window.show_page(page)
        await raised(runtime, sim_plant, page)
        assert page.select(ALARM)
        assert not any(b.isEnabled() for b in (page.ack_button, page.shelve_button,
                                               page.unshelve_button))
        assert page.why_not.text() == ("Logged in as viewer: acknowledging and shelving "
                                       "need an operator.")
        assert page.open_ack_dialog() is not None  # the button is off; try it anyway
        page.dialog.note_edit.setText("not allowed")
        page.dialog.accept()
        await eventually(lambda: "refused" in window.frame.notice_text(), 10, "the refusal")
        notice = window.frame.notice_text()
        assert notice.startswith(f"✕ Acknowledge {ALARM} — refused: alarms.ack needs the "
                                 "role operator"), notice
        assert window.frame.notice.property("refused") is True
        listed = {a["alarm"]: a for a in (await (await runtime.client()).alarms())["alarms"]}
        assert listed[ALARM]["state"] == "active-unacked" and not listed[ALARM]["ack_user"]


@pytest.mark.parametrize("palette", [LIGHT, DARK], ids=lambda p: p.name)
def test_priority_cells_pair_colour_with_shape_and_word(qtbot, palette):
    """Every priority reads as a shape and a word, whatever the colour."""
    from ui.link import Link
    link = Link()
    model = AlarmTableModel(link, palette)
    alarms = [{"alarm": f"A.{p}", "state": "active-acked", "active": True, "priority": p,
               "message": p, "flow": "", "node": ""} for p in ("critical", "high", "medium",
                                                                  "low")]
    model.set_alarms(alarms)
    texts = [model.index(r, AlarmTableModel.PRIORITY).data() for r in range(4)]
    assert texts == ["◆ CRIT", "◆ HIGH", "▲ MED", "● LOW"]


def test_the_value_comes_from_the_one_tag_behind_an_alarm():
    """The demo's flows: a threshold on one tag names it; the health alarm, fed by a model
    that reads five tags of its own, names none (its value column stays empty)."""
    import json

    from tests.runtime_process import ROOT
    from ui.alarms_model import source_tags
    flows = {f["id"]: f for f in json.loads(
        (ROOT / "resources/demo/project.json").read_text())["flows"]}
    assert source_tags(flows["p101_bearing_temp_high"], "alarm") == {"P101.bearing_temp"}
    assert source_tags(flows["p101_vibration_slowdown"], "alarm") == {"P101.vibration"}
    assert source_tags(flows["p101_health"], "alarm") is None
    assert source_tags(flows["p101_health"], "nowhere") is None
