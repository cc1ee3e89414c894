"""The role matrix: every operation by every role (and nobody logged in), against a real
runtime process, allowed or refused exactly as docs/api.md says."""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import connect

from runtime.api.operations import OPERATIONS
from runtime.contracts.api import ErrorCode
from runtime.contracts.roles import ROLES, role_at_least
from tests.fixtures.api import PASSWORD, RuntimeProcess, user_of

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
MODEL = Path(__file__).resolve().parents[2] / "resources" / "models" / "pump_health-1.onnx"


def documented_roles() -> dict[str, str | None]:
    """Each operation's least role as docs/api.md's table states it."""
    rows = re.findall(r"^\| \[`([a-z._]+)`\]\(#[a-z_]+\) \| ([a-z]+) \|", DOC.read_text(),
                      re.MULTILINE)
    return {name: (None if role == "anyone" else role) for name, role in rows}


def sample_data(project: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Valid data for every operation (harmless on the test plant)."""
    now = time.time()
    window = {"start": now - 60, "end": now + 1}
    return {
        "auth.login": {"user": user_of("viewer"), "password": PASSWORD},
        "auth.logout": {}, "auth.whoami": {}, "runtime.status": {},
        "subscribe": {"pattern": "line"}, "unsubscribe": {"pattern": "line"},
        "registry.list": {}, "project.get": {}, "project.validate": {"document": project},
        "project.deploy": {"document": project}, "project.versions": {},
        "project.diff": {"from": 1, "to": 1}, "project.rollback": {"version": 1},
        "tags.list": {}, "tags.read": {"tags": ["P101.vibration"]},
        "tags.write": {"tag": "VFD.speed_sp", "value": 45},
        "tags.browse": {"connection": "vfd"},
        "history.query": {"tags": ["P101.vibration"], "width": 10, **window},
        "events.query": window, "audit.query": window, "alarms.list": {},
        "alarms.ack": {"alarm": "P101.NONE"}, "alarms.shelve": {"alarm": "P101.NONE",
                                                               "duration_s": 60},
        "alarms.unshelve": {"alarm": "P101.NONE"},
        "line.set_mode": {"mode": "automatic"}, "line.stop_ai_writes": {"confirm": True},
        "backtest.run": {"flow": "temp_high", **window}, "backtest.cancel": {"run": "none"},
        "shadow.start": {"flow": "temp_high"}, "shadow.compare": {"flow": "temp_high"},
        "shadow.promote": {"flow": "temp_high"}, "shadow.stop": {"flow": "temp_high"},
        "connections.test": {"connection": project["connections"][1], "timeout_s": 2},
        "models.list": {}, "models.add": {
            "file_name": MODEL.name, "onnx_base64": base64.b64encode(MODEL.read_bytes()).decode(),
            "sidecar": json.loads(MODEL.with_suffix(".json").read_text())},  # registered: a no-op
        "models.remove": {"model": "absent@1"}, "sync.status": {}, "sync.backlog": {"hours": 1},
    }


async def test_every_operation_allows_exactly_the_documented_roles(api_runtime: RuntimeProcess):
    documented = documented_roles()
    assert documented == {op.name: op.role for op in OPERATIONS}  # the doc is the table
    data = sample_data(json.loads(api_runtime.project.read_text()))
    assert set(data) == set(documented)
    # logout ends a session, login starts one: both last
    order = sorted(OPERATIONS, key=lambda op: op.name in ("auth.logout", "auth.login"))
    order.sort(key=lambda op: op.name == "auth.login")
    outcomes: dict[tuple[str, str], str] = {}
    for role in ("nobody", *ROLES):
        async with connect(api_runtime.url) as ws:
            await ws.recv()  # hello
            if role != "nobody":
                reply = await _call(ws, "auth.login", {"user": user_of(role),
                                                       "password": PASSWORD})
                assert reply["ok"], reply
            for op in order:
                reply = await _call(ws, op.name, data[op.name])
                outcomes[(op.name, role)] = "ok" if reply["ok"] else reply["error"]["code"]
    wrong = []
    for op in OPERATIONS:
        for role in ("nobody", *ROLES):
            got = outcomes[(op.name, role)]
            if op.role is None or (role != "nobody" and role_at_least(role, op.role)):
                if got in (ErrorCode.UNAUTHENTICATED, ErrorCode.FORBIDDEN):
                    wrong.append(f"{op.name} as {role}: {got}, but the role may")
            elif got != (ErrorCode.UNAUTHENTICATED if role == "nobody"
                         else ErrorCode.FORBIDDEN):
                wrong.append(f"{op.name} as {role}: {got}, but the role may not")
    assert wrong == []
    # and the allowed calls really ran (the sample data is valid)
    assert outcomes[("tags.write", "operator")] == "ok"
    assert outcomes[("project.deploy", "engineer")] == "ok"
    assert outcomes[("alarms.ack", "operator")] == ErrorCode.NOT_FOUND
    assert outcomes[("connections.test", "engineer")] == "ok"
    assert outcomes[("models.add", "admin")] == "ok"
    assert outcomes[("models.remove", "engineer")] == ErrorCode.NOT_FOUND


async def _call(ws: Any, op: str, data: dict[str, Any]) -> dict[str, Any]:
    await ws.send(orjson.dumps({"id": op, "op": op, "data": data}).decode())
    while True:
        message = orjson.loads(await ws.recv())
        for envelope in message if isinstance(message, list) else [message]:
            if envelope.get("id") == op:
                return envelope
