"""The Audit page against a real runtime process: an acknowledgement made on the Alarms
page shows with its user and note when the page is shown; the action, user and time
range filters and the refresh button work."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt

from tests.runtime_process import user_of
from tests.ui.support import eventually, inject_fault, logged_in
from ui.audit_model import RANGES_S, AuditTableModel
from ui.pages.audit import AuditPage

ALARM = "P101.VIB_HIGH"


def rows(page: AuditPage) -> list[dict[str, str]]:
    """The rows shown, as {column header: text}."""
    view = page.log.filtered
    headers = [view.headerData(c, Qt.Orientation.Horizontal) for c in range(view.columnCount())]
    return [{headers[c]: view.index(r, c).data() for c in range(view.columnCount())}
            for r in range(view.rowCount())]


async def test_an_ack_shows_in_the_audit_log_with_its_user(qtbot, runtime_process, sim_plant):
    runtime = await runtime_process(users=True)
    async with logged_in(runtime, "operator") as window:
        alarms = window.page("alarms")
        window.show_page(alarms)
        await inject_fault(sim_plant.opcua_url, "bearing_wear", 1.0)
        await eventually(lambda: alarms.select(ALARM), 60, f"{ALARM} on the alarms page")
        await alarms.acknowledge("checked the bearing")

        page = window.page("audit")
        window.show_page(page)  # refreshes on show
        await eventually(lambda: any(r["Action"] == "alarm.ack" for r in rows(page)), 10,
                         "the ack in the audit log")
        ack = next(r for r in rows(page) if r["Action"] == "alarm.ack")
        assert (ack["User"], ack["Role"], ack["Target"], ack["Result"], ack["Note / cause"]) == (
            user_of("operator"), "operator", ALARM, "ok", "checked the bearing")
        assert "from=active-unacked" in ack["Details"] and "to=active-acked" in ack["Details"]
        # Newest first: the ack came after the operator's login.
        actions = [r["Action"] for r in rows(page)]
        assert actions.index("alarm.ack") < actions.index("auth.login")
        assert page.status.text().startswith(f"{len(actions)} records · read at ")

        # The action filter is asked of the runtime; its choices are the actions seen.
        assert page.action_box.findData("alarm.ack") >= 0
        page.action_box.setCurrentIndex(page.action_box.findData("auth.login"))
        page.action_box.activated.emit(page.action_box.currentIndex())
        await eventually(lambda: rows(page) and all(r["Action"] == "auth.login"
                                                    for r in rows(page)), 10, "only logins")
        # The user filter: the token's logins are not the operator's.
        users = {r["User"] for r in rows(page)}
        assert user_of("operator") in users
        page.user_box.setCurrentIndex(page.user_box.findData(user_of("operator")))
        page.user_box.activated.emit(page.user_box.currentIndex())
        assert rows(page) and {r["User"] for r in rows(page)} == {user_of("operator")}
        page.user_box.setCurrentIndex(0)
        page.user_box.activated.emit(0)
        page.action_box.setCurrentIndex(0)
        page.action_box.activated.emit(0)
        await eventually(lambda: any(r["Action"] == "alarm.ack" for r in rows(page)), 10,
                         "every action again")

        # A shelve made elsewhere shows after a refresh (the button).
        operator = await runtime.client("operator")
        await operator.shelve(ALARM, 60, "from a script")
        page.refresh_button.click()
        await eventually(lambda: any(r["Action"] == "alarm.shelve" for r in rows(page)), 10,
                         "the shelve after a refresh")
        # The range buttons: the last hour holds it all; so does the last week.
        page.range_buttons["1h"].click()
        assert page.log.range_s == RANGES_S["1h"]
        await eventually(lambda: any(r["Action"] == "alarm.shelve" for r in rows(page)), 10,
                         "the last hour")
        page.range_buttons["7d"].click()
        assert page.log.range_s == RANGES_S["7d"]
        assert page.view.model().sortColumn() == AuditTableModel.TIME

        folder = Path(os.environ.get("LINESIDE_SCREENSHOTS") or runtime.data_dir.parent)
        folder.mkdir(parents=True, exist_ok=True)
        await eventually(lambda: page.log.loaded_at > 0 and rows(page), 10, "a page to show")
        image = window.grab().toImage()
        assert image.save(str(folder / "audit-light.png"))
