"""`lineside`: the HMI's entry point, the composition root.

    lineside [--config FILE] [--data-dir DIR] [--kiosk] [--theme light|dark]
    lineside --connect ws(s)://HOST:PORT --user NAME [--fingerprint SHA256] [--kiosk]

Without --connect it attaches to the local runtime: the data folder is the runtime's own
(its configuration file and --data-dir, read by runtime.config), where the runtime writes
its endpoint (api-endpoint.json) and the local token (api-token.json). When no runtime is
running there it says so, naming the folder; starting one from here comes in a later slice.
With --connect it logs in as --user, asking the password in a dialog.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

from runtime.api.token import TOKEN_FILE, TokenError, read_token
from runtime.client import Credentials
from runtime.config import ConfigError, load_config
from runtime.contracts.errors import LinesideError

ENDPOINT_FILE = "api-endpoint.json"
"""Written by the runtime's API server into its data folder while it listens."""


class NoRuntime(LinesideError):
    """No runtime to attach to; the message says where we looked and what to do."""


def local_target(config_file: Path | None, data_dir: Path | None) -> tuple[str, str | None,
                                                                           Credentials, Path]:
    """(url, fingerprint, credentials, data folder) of the runtime running on this machine;
    NoRuntime when none is."""
    try:
        config = load_config(config_file)
    except ConfigError as exc:
        raise NoRuntime(f"the runtime's configuration has problems:\n{exc}") from None
    if data_dir is not None:
        config = replace(config, data_dir=data_dir)
    folder = config.data_dir
    endpoint_path = folder / ENDPOINT_FILE
    try:
        endpoint = json.loads(endpoint_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise NoRuntime(_not_running(folder)) from None
    if not _alive(endpoint.get("pid")):
        raise NoRuntime(_not_running(folder))
    try:
        token = read_token(folder / TOKEN_FILE)
    except TokenError as exc:
        raise NoRuntime(f"a runtime is running on {folder}, but its token cannot be used: "
                        f"{exc}") from None
    return (endpoint["url"], endpoint.get("fingerprint") or None,
            Credentials(token=token.token), folder)


def _not_running(folder: Path) -> str:
    return (f"No Lineside runtime is running with the data folder {folder} (no current "
            f"{ENDPOINT_FILE} there).\nStart one with `lineside-runtime run --project FILE` "
            "(or `make demo`), or give --data-dir / --config to point at another one.")


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lineside", description="The Lineside HMI.")
    parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help="the runtime's configuration file (to find its data folder)")
    parser.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                        help="the runtime's data folder (overrides the configuration)")
    parser.add_argument("--connect", metavar="URL",
                        help="attach to a runtime at ws(s)://host:port instead of the local one")
    parser.add_argument("--user", metavar="NAME", help="the user to log in as with --connect")
    parser.add_argument("--fingerprint", metavar="SHA256",
                        help="the pinned certificate fingerprint of a wss:// runtime")
    parser.add_argument("--kiosk", action="store_true", help="full screen, no window controls")
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, build the Qt application and run it on a qasync loop."""
    args = _parser().parse_args(argv)
    if args.connect and not args.user:
        _parser().error("--connect needs --user (the local token works only on this machine)")

    import qasync
    from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit, QMessageBox

    from ui.link import Link, Target
    from ui.theme import THEMES
    from ui.window import MainWindow, apply_font

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Lineside")
    apply_font(app)

    if args.connect:
        password, ok = QInputDialog.getText(
            None, app.translate("lineside", "Log in"),
            app.translate("lineside", "Password of {user} on {url}").format(
                user=args.user, url=args.connect), QLineEdit.EchoMode.Password)
        if not ok or not password:
            return 1
        target = Target(args.connect, Credentials(user=args.user, password=password),
                        args.fingerprint)
        title = args.connect
    else:
        try:
            url, fingerprint, credentials, _folder = local_target(args.config, args.data_dir)
        except NoRuntime as exc:
            print(f"lineside: {exc}", file=sys.stderr)
            QMessageBox.critical(None, app.translate("lineside", "No runtime"), str(exc))
            return 2
        target = Target(url, credentials, fingerprint)
        title = app.translate("lineside", "Lineside")

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    link = Link()
    window = MainWindow(link, THEMES[args.theme], title)

    async def run() -> None:
        closed = asyncio.Event()
        window.closed.connect(closed.set)
        link.attach(target)
        if args.kiosk:
            window.enter_kiosk()
        else:
            window.resize(1280, 800)
            window.show()
        await closed.wait()
        await link.close()

    with loop:
        loop.run_until_complete(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
