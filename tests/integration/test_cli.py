"""`lineside-runtime` as a real process: validate, run the demo, manage models and users, and
say clearly what is wrong with bad input."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path

import psutil
import pytest

from runtime import cli
from runtime.api.users import Users, check_password
from runtime.demo import demo_project
from runtime.shipped import shipped
from runtime.store import Store, UserRecord
from tests.processes import run_program
from tests.projects import pump_project

ROOT = Path(__file__).resolve().parents[2]


def lineside_runtime(*args: str, timeout: float = 60, home: Path | None = None,
                     input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI; with `home`, its default configuration and data folders are in there;
    with `input`, that is its standard input."""
    env = None
    if home is not None:
        env = {**os.environ, "XDG_CONFIG_HOME": str(home / "config"),
               "XDG_DATA_HOME": str(home / "data")}
    return run_program([sys.executable, "-m", "runtime.cli", *args], cwd=ROOT, env=env,
                       timeout=timeout, input=input)


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line that says what is wrong (after argparse's usage lines, if any)."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    if lines and lines[0].startswith("usage:"):
        lines = [line for line in lines[1:] if not line.startswith(" ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_validate_accepts_the_demo_project():
    result = lineside_runtime("validate", "resources/demo/project.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok" in result.stdout


def test_validate_prints_every_problem_and_fails(tmp_path):
    doc = pump_project()
    doc["tags"][0]["connection"] = "nowhere"
    doc["flows"][0]["nodes"][1]["params"]["on_above"] = "hot"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    result = lineside_runtime("validate", str(path))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{path}: $.tags[0].connection: unknown connection 'nowhere'",
        f"{path}: $.flows[0].nodes[1].params.on_above: must be a number, found 'hot'",
    ]
    assert "2 problem(s); nothing would be deployed" in result.stderr


def test_validate_reports_broken_json_with_its_position(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"schema": "lineside.project/1",\n  "tags": [}')
    result = lineside_runtime("validate", str(path))
    assert result.returncode == 2
    assert "line 2 column" in result.stderr


def test_run_refuses_an_invalid_project_with_its_problems(tmp_path):
    doc = pump_project()
    doc["flows"][0]["nodes"][0]["type"] = "source.nothing"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    result = lineside_runtime("run", "--project", str(path), "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 2
    assert result.stderr.splitlines()[-2:] == [
        "lineside-runtime: project has 1 problem(s):",
        "  $.flows[0].nodes[0].type: unknown node type 'source.nothing'",
    ]


def test_demo_runs_headless_and_stops_cleanly(tmp_path):
    result = lineside_runtime("run", "--demo", "--duration", "6", "--data-dir",
                              str(tmp_path / "data"), timeout=90)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "sim.started" in result.stderr
    assert "engine.deployed" in result.stderr
    assert "opcua.connected" in result.stderr
    assert "runtime.stopping" in result.stderr


def test_the_demo_plant_ends_when_its_runtime_is_killed(tmp_path):
    log = tmp_path / "runtime.log"
    with log.open("wb") as err:
        runtime = subprocess.Popen(
            [sys.executable, "-m", "runtime.cli", "run", "--demo", "--data-dir",
             str(tmp_path / "data")], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 60
        while "sim.started" not in log.read_text(errors="replace"):
            assert runtime.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        (plant,) = psutil.Process(runtime.pid).children()
        runtime.kill()  # SIGKILL: the runtime gets no chance to stop the plant itself
        runtime.wait(10)
        plant.wait(10)  # it noticed and stopped on its own (not our child: no exit code)
        assert not plant.is_running()
        assert "sim.cli.stopping reason=parent_gone" in (tmp_path / "data" / "sim.log"
                                                         ).read_text()
    finally:
        if runtime.poll() is None:
            runtime.kill()
            runtime.wait()


def test_a_corrupt_database_is_kept_aside_and_reported(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "lineside.db").write_bytes(b"this is not a database " * 100)
    project = tmp_path / "project.json"
    project.write_text(json.dumps(pump_project()))
    result = lineside_runtime("run", "--project", str(project), "--data-dir", str(data),
                              "--duration", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "store.recovered" in result.stderr
    aside = [p for p in data.iterdir() if p.name.startswith("lineside.db.corrupt-")]
    assert len(aside) == 1
    assert aside[0].read_bytes() == b"this is not a database " * 100
    assert "engine.deployed" in result.stderr


def test_a_bad_configuration_file_is_reported_and_nothing_starts(tmp_path):
    config = tmp_path / "runtime.toml"
    config.write_text('node_id = "line 1!"\n[store]\ncommit_interval_s = "fast"\n'
                      '[broker]\nport = 1883\n')
    result = lineside_runtime("run", "--project", "resources/demo/project.json", "--config",
                              str(config), "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 2
    assert "store.commit_interval_s: must be of type number, found 'fast'" in result.stderr
    assert "broker: 'host' is required" in result.stderr
    assert "node_id" in result.stderr
    assert not (tmp_path / "d").exists()


def test_models_are_added_listed_and_removed_only_when_unused(tmp_path):
    data = ["--data-dir", str(tmp_path / "data")]
    model = ROOT / "resources" / "models" / "pump_health-1.onnx"
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    (tmp_path / "bad.json").write_text(
        (ROOT / "resources" / "models" / "pump_health-1.json").read_text())
    refused = lineside_runtime("models", "add", str(tmp_path / "bad.onnx"), *data)
    assert refused.returncode == 2
    assert "the metadata is for another file" in refused.stderr

    added = lineside_runtime("models", "add", str(model), *data)
    assert added.returncode == 0, added.stderr
    assert "pump_health@1" in added.stdout

    demo = tmp_path / "demo.json"
    demo.write_text((ROOT / "resources" / "demo" / "project.json").read_text())
    ran = lineside_runtime("run", "--project", str(demo), "--duration", "1", *data)
    assert ran.returncode == 0, ran.stderr[-2000:]  # deploys a project using the model
    in_use = lineside_runtime("models", "remove", "pump_health@1", *data)
    assert in_use.returncode == 2
    assert "is used by the deployed project" in in_use.stderr
    assert "pump_health@1" in lineside_runtime("models", "list", *data).stdout


def test_version_comes_from_the_package_metadata():
    result = lineside_runtime("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"lineside-runtime {version('lineside')}"


def test_every_command_and_option_has_help():
    missing: list[str] = []

    def walk(parser: argparse.ArgumentParser, name: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                missing.extend(f"{name} {c.dest}" for c in action._choices_actions
                               if not c.help)
                for sub_name, sub in action.choices.items():
                    walk(sub, f"{name} {sub_name}")
            elif not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")

    walk(cli._parser(), "lineside-runtime")
    assert missing == []


def test_a_bad_log_level_is_a_one_line_error(tmp_path):
    result = lineside_runtime("run", "--project", "resources/demo/project.json", "--log-level",
                              "loud", "--data-dir", str(tmp_path / "d"))
    assert "argument --log-level: invalid choice: 'LOUD'" in error_line(result)
    assert not (tmp_path / "d").exists()


def test_a_project_saved_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "project.json"
    path.write_text(json.dumps(pump_project()), encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    result = lineside_runtime("validate", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == f"{path}: ok"


def test_validate_checks_the_models_registered_in_the_data_folder(tmp_path):
    meta = json.loads(shipped("models", "pump_health-1.json").read_text(encoding="utf-8"))
    meta["id"] = "line2_health"
    (tmp_path / "line2.json").write_text(json.dumps(meta), encoding="utf-8")
    data = ["--data-dir", str(tmp_path / "data")]
    added = lineside_runtime("models", "add", str(shipped("models", "pump_health-1.onnx")),
                             "--sidecar", str(tmp_path / "line2.json"), *data)
    assert added.returncode == 0, added.stderr
    doc = demo_project()
    for flow in doc["flows"]:
        for node in flow["nodes"]:
            if node["type"] == "ai.onnx":
                node["params"]["model"] = "line2_health@1"
    project = tmp_path / "project.json"
    project.write_text(json.dumps(doc), encoding="utf-8")

    registered = lineside_runtime("validate", str(project), *data)
    assert registered.returncode == 0, registered.stdout + registered.stderr
    shipped_only = lineside_runtime("validate", str(project), home=tmp_path / "home")
    assert shipped_only.returncode == 1
    assert "unknown model 'line2_health@1'; registered: pump_health@1" in shipped_only.stdout
    assert not (tmp_path / "home").exists(), "validate created a data folder"


def test_validate_reads_the_data_folder_from_the_configuration(tmp_path):
    config = tmp_path / "runtime.toml"
    config.write_text(f'data_dir = "{tmp_path / "nowhere"}"\n', encoding="utf-8")
    result = lineside_runtime("validate", "resources/demo/project.json", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (tmp_path / "nowhere").exists()


def _not_utf8(tmp_path: Path) -> list[str]:
    (tmp_path / "latin1.json").write_bytes('{"name": "Pumpe Nr. 1 für Linie 3"}'.encode("latin-1"))
    return ["validate", str(tmp_path / "latin1.json")]


def _data_dir_is_a_file(tmp_path: Path) -> list[str]:
    (tmp_path / "file").write_text("")
    return ["run", "--project", "resources/demo/project.json", "--data-dir",
            str(tmp_path / "file" / "data")]


BAD_INPUT = {
    "project not UTF-8": (_not_utf8, "latin1.json is not UTF-8 text (byte 23 is 0xfc); save "
                                     "it as UTF-8"),
    "project missing": (lambda t: ["validate", str(t / "missing.json")],
                        "cannot read"),
    "project is a folder": (lambda t: ["validate", str(t)], "cannot read"),
    "stats interval zero": (lambda t: ["run", "--demo", "--stats-interval", "0"],
                            "argument --stats-interval: '0' is not a number of seconds "
                            "(more than 0)"),
    "duration negative": (lambda t: ["run", "--demo", "--duration", "-1"],
                          "argument --duration: '-1' is not a number of seconds (0 or more)"),
    "duration not a number": (lambda t: ["run", "--demo", "--duration", "soon"],
                              "argument --duration: 'soon' is not a number of seconds"),
    "unknown demo fault": (lambda t: ["run", "--demo", "--demo-fault", "bogus=1",
                                      "--data-dir", str(t / "d")],
                           "fault 'bogus': unknown fault; known: bearing_wear"),
    "data folder under a file": (_data_dir_is_a_file, "cannot create the data folder"),
    "model file missing": (lambda t: ["models", "add", str(t / "none.onnx"), "--data-dir",
                                      str(t / "d")], "none.onnx: file not found"),
    "model not registered": (lambda t: ["models", "remove", "nothing", "--data-dir",
                                        str(t / "d")], "model nothing: is not registered"),
    "unknown command": (lambda t: ["start"], "invalid choice: 'start'"),
}


@pytest.mark.parametrize("case", BAD_INPUT, ids=list(BAD_INPUT))
def test_bad_input_is_one_clear_line_without_a_traceback(case, tmp_path):
    make_args, expected = BAD_INPUT[case]
    result = lineside_runtime(*make_args(tmp_path), home=tmp_path / "home")
    assert expected in error_line(result)


# --- user accounts ---


def users_in(data: Path) -> list[UserRecord]:
    """The accounts the CLI left in a data folder, read back from its store."""
    with Store(data / "lineside.db") as store:
        return store.users()


def audited(data: Path) -> list[tuple[str, str, str, str]]:
    """(action, user, target, result) of every audit record in a data folder's store."""
    with Store(data / "lineside.db") as store:
        return [(r.action, r.user, r.target, r.result)
                for r in store.audit_records(0, float("inf"))]


def on_a_terminal(*args: str, answers: Sequence[str],
                  timeout: float = 60) -> tuple[int, str]:
    """Run the CLI on a pseudo-terminal, typing each answer once its prompt (`...: `) shows;
    returns the exit code and everything the terminal showed."""
    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "runtime.cli", *args], cwd=ROOT,
                               stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    shown, typed = b"", 0
    deadline = time.monotonic() + timeout
    try:
        while True:
            ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, f"the CLI did not end within {timeout} s; it showed: {shown!r}"
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: every end of the terminal's other side is closed
                break
            if not chunk:
                break
            shown += chunk
            if typed < len(answers) and shown.count(b": ") > typed:
                os.write(master, answers[typed].encode() + b"\n")
                typed += 1
        return process.wait(10), shown.decode()
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
            process.wait()


def test_users_are_added_listed_changed_and_removed(tmp_path):
    data = tmp_path / "data"
    where = ["--data-dir", str(data)]
    empty = lineside_runtime("user", "list", *where)
    assert empty.returncode == 0, empty.stderr
    assert "no users yet; make the first admin with: lineside-runtime user add NAME --role " \
           "admin" in empty.stdout

    added = lineside_runtime("user", "add", "olga", "--role", "admin", "--by", "installer",
                             *where, input="pump-line-3 ok\n")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "added olga (admin)"
    assert lineside_runtime("user", "add", "ivan", "--role", "operator", *where,
                            input="ivan's password\nignored second line\n").returncode == 0
    (ivan, olga) = users_in(data)  # by name
    assert (olga.name, olga.role, olga.created_by) == ("olga", "admin", "installer")
    assert (ivan.name, ivan.role, ivan.created_by) == ("ivan", "operator", getpass.getuser())
    assert check_password("pump-line-3 ok", olga.password)
    assert check_password("ivan's password", ivan.password)

    listed = lineside_runtime("user", "list", *where)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["NAME", "ROLE", "LOCKED", "FAILED", "CREATED"]
    assert [line.split()[:4] for line in lines[1:]] == [["ivan", "operator", "no", "0"],
                                                       ["olga", "admin", "no", "0"]]
    assert lines[2].endswith("by installer")
    assert "scrypt" not in listed.stdout + listed.stderr
    assert olga.password.split("$")[-1] not in listed.stdout

    assert lineside_runtime("user", "role", "ivan", "engineer", "--by", "olga",
                            *where).stdout.strip() == "ivan is now engineer"
    assert lineside_runtime("user", "passwd", "ivan", "--by", "olga", *where,
                            input="a new password\n").returncode == 0
    (ivan, _) = users_in(data)
    assert ivan.role == "engineer"
    assert check_password("a new password", ivan.password)
    assert not check_password("ivan's password", ivan.password)
    assert lineside_runtime("user", "remove", "ivan", "--by", "olga",
                            *where).stdout.strip() == "removed ivan"
    assert [u.name for u in users_in(data)] == ["olga"]
    assert audited(data) == [("user.add", "installer", "olga", "ok"),
                             ("user.add", getpass.getuser(), "ivan", "ok"),
                             ("user.role", "olga", "ivan", "ok"),
                             ("user.passwd", "olga", "ivan", "ok"),
                             ("user.remove", "olga", "ivan", "ok")]


def test_a_locked_user_is_listed_and_a_new_password_unlocks_them(tmp_path):
    data = tmp_path / "data"
    assert lineside_runtime("user", "add", "olga", "--role", "admin", "--data-dir", str(data),
                            input="pump-line-3 ok\n").returncode == 0
    with Store(data / "lineside.db") as store:
        store.record_login("olga", False, time.time() + 3600, "ws:1").result(5)
    listed = lineside_runtime("user", "list", "--data-dir", str(data)).stdout.splitlines()
    assert listed[1].split()[:3] == ["olga", "admin", "until"]
    assert listed[1].split()[5] == "1"  # failed logins in a row
    assert lineside_runtime("user", "passwd", "olga", "--data-dir", str(data),
                            input="a new password\n").returncode == 0
    (olga,) = users_in(data)
    assert (olga.failed_logins, olga.locked_until) == (0, None)
    listed = lineside_runtime("user", "list", "--data-dir", str(data)).stdout.splitlines()
    assert listed[1].split()[:4] == ["olga", "admin", "no", "0"]


def test_on_a_terminal_the_password_is_asked_twice_and_not_shown(tmp_path):
    data = ["--data-dir", str(tmp_path / "data")]
    code, shown = on_a_terminal("user", "add", "olga", "--role", "admin", *data,
                                answers=["pump-line-3 ok", "pump-line-3 ok"])
    assert code == 0, shown
    assert "new password: " in shown and "the same again: " in shown
    assert "added olga (admin)" in shown and "pump-line-3" not in shown
    assert check_password("pump-line-3 ok", users_in(tmp_path / "data")[0].password)

    code, shown = on_a_terminal("user", "passwd", "olga", *data,
                                answers=["a new password", "another password"])
    assert code == 2, shown
    assert "lineside-runtime: the two passwords differ; nothing was changed" in shown
    assert check_password("pump-line-3 ok", users_in(tmp_path / "data")[0].password)


USER_ERRORS = {
    "weak password": (["user", "add", "olga", "--role", "admin"], "short\n",
                      "lineside-runtime: the password is too weak: use at least 8 characters, "
                      "not only spaces"),
    "only spaces": (["user", "add", "olga", "--role", "admin"], "          \n",
                    "the password is too weak"),
    "no password": (["user", "add", "olga", "--role", "admin"], "",
                    "lineside-runtime: no password: type it on a terminal, or give it on the "
                    "first line of standard input"),
    "bad name": (["user", "add", "olga smith", "--role", "admin"], "pump-line-3 ok\n",
                 "lineside-runtime: user name 'olga smith' is not allowed: use 1 to 64 letters "
                 "(a-z, A-Z), digits, '.', '_' or '-'"),
    "unknown role": (["user", "add", "olga", "--role", "boss"], "pump-line-3 ok\n",
                     "argument --role: invalid choice: 'boss'"),
    "name taken": (["user", "add", "admin", "--role", "viewer"], "pump-line-3 ok\n",
                   "lineside-runtime: user 'admin' already exists"),
    "unknown user": (["user", "passwd", "ghost"], "pump-line-3 ok\n",
                     "lineside-runtime: user 'ghost' does not exist"),
    "remove the last admin": (["user", "remove", "admin"], "",
                              "lineside-runtime: user 'admin' is the last admin; make another "
                              "user admin first"),
    "demote the last admin": (["user", "role", "admin", "viewer"], "",
                              "user 'admin' is the last admin"),
    "unknown action": (["user", "rename", "admin"], "", "argument ACTION: invalid choice: "
                                                        "'rename'"),
}


@pytest.mark.parametrize("case", USER_ERRORS, ids=list(USER_ERRORS))
def test_user_errors_are_one_clear_line_and_change_nothing(tmp_path, case):
    args, stdin, expected = USER_ERRORS[case]
    data = tmp_path / "data"
    data.mkdir()
    with Store(data / "lineside.db") as store:
        Users(store).add("admin", "admin", "the admin's password", by="test")
    before = users_in(data)
    result = lineside_runtime(*args, "--data-dir", str(data), input=stdin)
    assert expected in error_line(result)
    assert users_in(data) == before
    assert "scrypt" not in result.stdout + result.stderr
