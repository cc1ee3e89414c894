"""`lineside-runtime`: run the edge runtime headless, validate a project document, or manage
the AI models and the user accounts of a data folder.

    lineside-runtime run --demo [--console]
    lineside-runtime run --project FILE [--config FILE] [--data-dir DIR]
    lineside-runtime validate FILE [--config FILE] [--data-dir DIR]
    lineside-runtime models list|add|remove [TARGET] [--data-dir DIR]
    lineside-runtime user add NAME --role ROLE | passwd NAME | role NAME ROLE | remove NAME
                          | list [--data-dir DIR]
    lineside-runtime --version
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import json
import logging
import math
import signal
import sys
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from runtime.ai.errors import ModelError
from runtime.ai.registry import ModelRegistry, builtin_models
from runtime.ai.sessions import ModelSessions
from runtime.api.server import ApiServer
from runtime.api.users import ROLES, Users, check_name, check_password_rules
from runtime.config import DEFAULT_PATH, ConfigError, RuntimeConfig, load_config
from runtime.contracts import LinesideError, ValidationFailed
from runtime.contracts.models import ModelInfo, models_in_use
from runtime.contracts.project import Project
from runtime.contracts.validation import validate_project
from runtime.demo import DEMO_FAULT, SimProcess, demo_config, demo_project, point_at_sim
from runtime.logs import setup_logging
from runtime.registry import NodeRegistry
from runtime.service import Runtime
from runtime.store import Store
from runtime.supervision import Supervisor
from runtime.sync.forwarder import Forwarder

log = logging.getLogger("lineside.runtime")

DISTRIBUTION = "lineside"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class CliError(LinesideError):
    """A problem with the command line or its files, reported without a traceback."""


def package_version() -> str:
    """The installed version of Lineside, from the package metadata (set in pyproject.toml)."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown (not installed: pip install -e .)"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    setup_logging(args.log_level)
    try:
        if args.command == "validate":
            return _validate(args)
        if args.command == "models":
            return _models(args)
        if args.command == "user":
            return _user(args)
        config = _runtime_config(args)
        doc = None
        if args.demo or args.project:
            doc = demo_project() if args.demo else _read_document(Path(args.project))
        return asyncio.run(_run(args, doc, config))
    except LinesideError as exc:
        print(f"lineside-runtime: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lineside-runtime", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {package_version()}",
                        help="print the installed version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run the runtime until stopped",
                              description="Run the runtime: deploy a project (or resume the "
                                          "last deployed one) and run until a signal.")
    source = run.add_mutually_exclusive_group()
    source.add_argument("--demo", action="store_true",
                        help="start the simulated pump line and the demo project")
    source.add_argument("--project", metavar="FILE",
                        help="project document (JSON) to deploy (default: the last deployed "
                             "version in the data folder)")
    run.add_argument("--log-commits", action="store_true",
                     help="log a line after every store commit (for fault tests)")
    run.add_argument("--console", action="store_true",
                     help="show live values and alarms in the terminal")
    run.add_argument("--demo-fault", default=DEMO_FAULT, metavar="KIND[:TARGET][=VALUE]",
                     help="fault the demo plant starts with (default: %(default)s; 'none' for "
                          "a healthy plant)")
    run.add_argument("--duration", type=_seconds(allow_zero=True), default=0.0,
                     metavar="SECONDS",
                     help="stop after this many seconds (default 0: run until a signal)")
    run.add_argument("--stats-interval", type=_seconds(allow_zero=False), default=60.0,
                     metavar="SECONDS",
                     help="seconds between runtime.stats log lines (default: %(default)s)")
    validate = commands.add_parser(
        "validate", help="check a project document; deploys nothing",
        description="Check a project document against this runtime's node types and models "
                    "(the shipped ones and those registered in the data folder); print every "
                    "problem with its JSON path.")
    validate.add_argument("file", metavar="FILE", help="the project document (JSON)")
    models = commands.add_parser(
        "models", help="list, add or remove AI models in the data folder (runtime stopped)",
        description="List, add or remove the AI models registered in a data folder; stop the "
                    "runtime using that folder first.")
    models.add_argument("action", choices=("list", "add", "remove"),
                        help="list the registered models, add one, or remove one")
    models.add_argument("target", nargs="?", help="add: the .onnx file (its NAME.json "
                                                  "sidecar beside it); remove: id@version")
    models.add_argument("--sidecar", type=Path, metavar="FILE",
                        help="the model's metadata (JSON), if not NAME.json beside the model")
    models.add_argument("--user", default=getpass.getuser(),
                        help="who is named in the audit log (default: %(default)s)")
    users = _user_parsers(commands)
    for sub, level in ((run, "INFO"), (validate, "ERROR"), (models, "ERROR"),
                       *((user, "ERROR") for user in users)):
        sub.add_argument("--log-level", type=str.upper, choices=LOG_LEVELS, default=level,
                         help="least severe log events written to stderr (default: "
                              "%(default)s)")
        sub.add_argument("--config", type=Path, default=None, metavar="FILE",
                         help=f"runtime configuration file (TOML; default: {DEFAULT_PATH} if "
                              "it exists, else built-in defaults)")
        sub.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                         help="where the runtime keeps its data (overrides the configuration)")
    return parser


def _user_parsers(
        commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> list[argparse.ArgumentParser]:
    """`user add|passwd|role|remove|list`; returns the parsers of the actions."""
    user = commands.add_parser(
        "user", help="add, change, remove or list the users of the control API",
        description="Manage the accounts that log in to the runtime's control API. A new "
                    "password is asked twice on a terminal, else read from the first line of "
                    "standard input. There is no default account: make the first admin with "
                    "`user add NAME --role admin`.")
    actions = user.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add a user (asks for the password)",
                             description="Add a user with a role; asks for the password.")
    add.add_argument("name", metavar="NAME", help="1-64 letters, digits, '.', '_' or '-'")
    add.add_argument("--role", required=True, choices=ROLES, help="what the user may do")
    passwd = actions.add_parser("passwd", help="give a user a new password (also unlocks)",
                                description="Give a user a new password; this also clears "
                                            "their failed logins and any lock.")
    passwd.add_argument("name", metavar="NAME", help="the user")
    role = actions.add_parser("role", help="give a user another role",
                              description="Give a user another role (the last admin stays "
                                          "admin).")
    role.add_argument("name", metavar="NAME", help="the user")
    role.add_argument("role", choices=ROLES, metavar="ROLE",
                      help=f"the new role: {', '.join(ROLES)}")
    remove = actions.add_parser("remove", help="remove a user",
                                description="Remove a user (not the last admin).")
    remove.add_argument("name", metavar="NAME", help="the user")
    listing = actions.add_parser("list", help="list the users",
                                 description="List the users: role, lock, failed logins in a "
                                             "row, and when and by whom each was made.")
    for sub in (add, passwd, role, remove):
        sub.add_argument("--by", default=getpass.getuser(),
                         help="who is named in the audit log (default: %(default)s)")
    return [add, passwd, role, remove, listing]


def _seconds(*, allow_zero: bool) -> Callable[[str], float]:
    """An argparse type: a finite number of seconds, above 0 (or 0 and above)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
            least = "0 or more" if allow_zero else "more than 0"
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds ({least})")
        return value
    return parse


def _read_document(path: Path) -> dict[str, Any]:
    """A project document from a JSON file (UTF-8, with or without a byte order mark)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise CliError(f"{path} is not UTF-8 text (byte {exc.start} is "
                       f"{exc.object[exc.start]:#04x}); save it as UTF-8") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"{path} is not valid JSON: line {exc.lineno} column {exc.colno}: "
                       f"{exc.msg}") from None


def _models(args: argparse.Namespace) -> int:
    """The model registry of a data folder, from the command line."""
    config = _runtime_config(args)
    with Store(config.database, config.store) as store:
        registry = ModelRegistry(store, config.data_dir / "models")
        try:
            if args.action == "add":
                if not args.target:
                    raise CliError("models add needs the .onnx file")
                info = registry.add(Path(args.target), args.sidecar, user=args.user)
                print(f"registered {info.key} ({info.hash[:12]}): {', '.join(info.features)}")
            elif args.action == "remove":
                if not args.target:
                    raise CliError("models remove needs id@version")
                registry.remove(args.target, _models_in_use(store), user=args.user)
                print(f"removed {args.target}")
            for info in registry.list():
                print(f"{info.key:24s} {info.hash[:12]}  {len(info.features)} features -> "
                      f"{', '.join(info.outputs)}")
        except ModelError as exc:
            raise CliError(str(exc)) from None
    return 0


def _user(args: argparse.Namespace) -> int:
    """The user accounts of a data folder, from the command line."""
    if args.action != "list":
        check_name(args.name)  # before asking for a password
    password = _new_password() if args.action in ("add", "passwd") else ""
    config = _runtime_config(args)
    with Store(config.database, config.store) as store:
        users = Users(store)
        if args.action == "add":
            users.add(args.name, args.role, password, by=args.by)
            print(f"added {args.name} ({args.role})")
        elif args.action == "passwd":
            users.set_password(args.name, password, by=args.by)
            print(f"changed the password of {args.name}")
        elif args.action == "role":
            users.set_role(args.name, args.role, by=args.by)
            print(f"{args.name} is now {args.role}")
        elif args.action == "remove":
            users.remove(args.name, by=args.by)
            print(f"removed {args.name}")
        else:
            _print_users(users)
    return 0


def _new_password() -> str:
    """A new password: asked twice on a terminal, else the first line of standard input;
    checked against the rules before anything is opened."""
    if sys.stdin is not None and sys.stdin.isatty():
        password = getpass.getpass("new password: ")
        if getpass.getpass("the same again: ") != password:
            raise CliError("the two passwords differ; nothing was changed")
    else:
        line = sys.stdin.readline() if sys.stdin is not None else ""
        if not line:
            raise CliError("no password: type it on a terminal, or give it on the first line "
                           "of standard input")
        password = line.removesuffix("\n").removesuffix("\r")
    check_password_rules(password)
    return password


def _print_users(users: Users) -> None:
    """One line a user: name, role, locked or not, failed logins in a row, created."""
    records = users.list()
    if not records:
        print("no users yet; make the first admin with: lineside-runtime user add NAME "
              "--role admin")
        return
    now = time.time()
    print(f"{'NAME':20s} {'ROLE':9s} {'LOCKED':22s} {'FAILED':>6s}  CREATED")
    for user in records:
        locked = (f"until {_local_time(user.locked_until)}"
                  if user.locked_until is not None and user.locked_at(now) else "no")
        print(f"{user.name:20s} {user.role:9s} {locked:22s} {user.failed_logins:6d}  "
              f"{_local_time(user.created_ts)} by {user.created_by}")


def _local_time(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _models_in_use(store: Store) -> dict[str, list[str]]:
    """The models the last deployed project references, with the flows and nodes that do."""
    latest = store.latest_version()
    if latest is None:
        return {}
    project = Project.from_dict(store.version(latest.number))
    return models_in_use(project, NodeRegistry.with_builtins().catalogue())


def _validate(args: argparse.Namespace) -> int:
    path = Path(args.file)
    doc = _read_document(path)
    problems = validate_project(doc, NodeRegistry.with_builtins().catalogue(),
                                _known_models(args))
    for problem in problems:
        print(f"{path}: {problem.path}: {problem.message}")
    if problems:
        print(f"{len(problems)} problem(s); nothing would be deployed", file=sys.stderr)
        return 1
    print(f"{path}: ok")
    return 0


def _known_models(args: argparse.Namespace) -> dict[str, ModelInfo]:
    """The models `run` would offer a project: the shipped ones and those registered in the
    data folder's store; only the shipped ones when there is no store yet (nothing created)."""
    models = {model.info.key: model.info for model in builtin_models()}
    config = _runtime_config(args, create=False)
    if config.database.exists():
        with Store(config.database, config.store) as store:
            registry = ModelRegistry(store, config.data_dir / "models")
            models.update((info.key, info) for info in registry.list())
    return models


def _runtime_config(args: argparse.Namespace, create: bool = True) -> RuntimeConfig:
    """The configuration file's settings, with the command line's overrides and the demo's;
    the data folder is created unless `create` is False."""
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        raise CliError(f"the configuration has problems:\n{exc}") from None
    if getattr(args, "demo", False):
        config = demo_config(config)
    if args.data_dir:
        config = replace(config, data_dir=args.data_dir)
    if not create:
        return config
    try:
        config.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create the data folder {config.data_dir}: "
                       f"{exc.strerror}") from None
    return config


async def _run(args: argparse.Namespace, doc: dict[str, Any] | None,
               config: RuntimeConfig) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with AsyncExitStack() as stack:
        if args.demo:
            endpoints = await stack.enter_async_context(
                SimProcess(args.demo_fault, config.data_dir / "sim.log"))
            assert doc is not None  # main reads the demo project with --demo
            point_at_sim(doc, endpoints)
        store = Store(config.database, config.store, log_commits=args.log_commits)
        stack.push_async_callback(store.aclose)
        if store.recovered_from:
            log.error("store.recovered moved_aside=%s fresh=%s", store.recovered_from,
                      config.database)
        supervisor = Supervisor()
        forwarder = None
        if config.broker is not None and config.broker.enabled:
            forwarder = Forwarder(store, config.broker, config.node_id, supervisor=supervisor)
        sessions = ModelSessions()
        stack.callback(sessions.close)
        models = ModelRegistry(store, config.data_dir / "models")
        await _load_models(models, sessions)
        runtime = Runtime(NodeRegistry.with_builtins(), store, forwarder, models=sessions,
                          supervisor=supervisor, node_id=config.node_id)
        stack.push_async_callback(runtime.stop)
        try:
            await runtime.start(doc)
        except ValidationFailed as exc:
            raise CliError(str(exc)) from None
        if runtime.project is None:
            raise CliError(f"no project: give --project FILE (nothing was deployed before "
                           f"in {config.data_dir})")
        if config.api.enabled:
            api = ApiServer(runtime, config.api, config.data_dir, models=models)
            try:
                await api.start()
            except OSError as exc:
                raise CliError(f"the API cannot listen on {config.api.host}:{config.api.port}: "
                               f"{exc.strerror or exc} (set [api] port in the configuration, "
                               "0 for a free one)") from None
            stack.push_async_callback(api.stop)
        # What start-up built lives for the whole run: keep the collector off it so a full
        # collection never pauses dispatch for long (measured: 150 ms pauses without this).
        gc.collect()
        gc.freeze()
        log.info("runtime.started node=%s data_dir=%s flows=%d tags=%d broker=%s",
                 config.node_id, config.data_dir, len(runtime.engine.flows),
                 len(runtime.project.tags),
                 f"{config.broker.host}:{config.broker.port}" if forwarder and config.broker
                 else "none")
        if args.duration:
            loop.call_later(args.duration, stop.set)
        stats = asyncio.create_task(_log_stats(runtime, args.stats_interval, stop))
        stack.push_async_callback(_cancel, stats)
        if args.console:
            from runtime.console import run_console
            await run_console(runtime, stop)
        else:
            await stop.wait()
        log.info("runtime.stopping")
    return 0


async def _load_models(registry: ModelRegistry, sessions: ModelSessions) -> None:
    """Register the shipped models and load every registered one; a model that no longer
    loads is logged and left out (a project using it is then refused at deploy)."""
    await asyncio.to_thread(registry.add_builtins)
    failures = await asyncio.to_thread(registry.load_all, sessions)
    for key, error in failures.items():
        log.error("models.load_failed model=%s error=%s", key, error)
    log.info("models.loaded models=%s", ",".join(sorted(sessions.catalogue())) or "none")


async def _log_stats(runtime: Runtime, interval: float, stop: asyncio.Event) -> None:
    """Log throughput and state every `interval` seconds."""
    last_count, last_time = runtime.samples_in, time.monotonic()
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except TimeoutError:
            pass
        now, count = time.monotonic(), runtime.samples_in
        status, outbox = runtime.status(), runtime.store.outbox_stats()
        log.info("runtime.stats samples_in=%d rate=%.1f writes=%d write_failures=%d "
                 "active_alarms=%d line_mode=%s failed_flows=%s task_crashes=%d "
                 "outbox_records=%d outbox_dropped=%d store_degraded=%s", count,
                 (count - last_count) / (now - last_time), status.writes_done,
                 status.writes_failed, len(runtime.store.active_alarms()), status.line_mode,
                 ",".join(f.id for f in status.failed_flows) or "none",
                 sum(t.crashes for t in status.tasks), outbox.records,
                 outbox.dropped_records, status.store["degraded"] or "no")
        last_count, last_time = count, now


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


if __name__ == "__main__":
    sys.exit(main())
