"""Logging in and out on a shared panel: a person logs in over the panel's own login (the
local token), is shown with their role, is logged out after the administrator's idle period
without a touch, and a refused login says why and leaves the panel's login in place."""

from __future__ import annotations

from tests.runtime_process import PASSWORD, user_of
from tests.ui.support import attached_window, eventually


async def test_a_person_logs_in_is_logged_out_when_idle_and_a_bad_password_is_refused(
        runtime_process):
    runtime = await runtime_process(users=True, api={"panel_idle_logout_s": 3})
    async with attached_window(runtime) as window:
        link, session, frame = window.link, window.session, window.frame
        await eventually(lambda: link.role == "admin", 20, "the panel's own login (token)")
        assert frame.user.text() == "Panel · admin"
        assert not frame.log_out_action.isEnabled()
        assert session.idle_logout_s == 3

        operator = user_of("operator")
        session.log_in(operator, PASSWORD)
        await eventually(lambda: link.role == "operator" and not link.stale, 10,
                         "logged in as the operator")
        assert frame.user.text() == f"{operator} · operator"
        assert frame.log_out_action.isEnabled()

        # No touch for the idle period: back to the panel's login, and the frame says why.
        await eventually(lambda: link.role == "admin" and not link.stale, 10,
                         "logged out after 3 s without a touch")
        assert session.person == ""
        assert "without a touch" in frame.notice_text()

        session.log_in(operator, "not the password")
        await eventually(lambda: "refused" in frame.notice_text(), 10, "the refusal")
        assert operator in frame.notice_text()
        await eventually(lambda: link.role == "admin" and not link.stale, 10,
                         "the panel's login back after the refusal")
        assert frame.user.text() == "Panel · admin"
