"""`lineside-sim`: run the simulated plant, or inject and clear faults in a running one.

  lineside-sim [--host H] [--opcua-port P] [--modbus-port P] [--seed N] [--tick S]
               [--extra-tags N] [--fault KIND[:TARGET][=VALUE]]...
  lineside-sim fault --url OPCUA_URL KIND [--target T] [--value V]
  lineside-sim clear --url OPCUA_URL KIND

When the servers are up, the first form prints one JSON line on stdout
({"opcua_url": ..., "modbus_host": ..., "modbus_port": ...}), logs to stderr and runs until
SIGINT or SIGTERM. The other forms call the Simulation methods over OPC UA.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from asyncua import Client, ua

from runtime.sim.errors import SimError
from runtime.sim.opcua_server import NAMESPACE_URI
from runtime.sim.plant import SimPlant

_log = logging.getLogger("runtime.sim.cli")

_CLIENT_COMMANDS = ("fault", "clear")


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """A fault from the command line: KIND[:TARGET][=VALUE]."""

    kind: str
    target: str = ""
    value: float = math.nan

    @classmethod
    def parse(cls, text: str) -> FaultSpec:
        """Parse "bearing_wear=0.01", "sensor_stuck:P101.Vibration", "plc_offline=5"."""
        head, has_value, raw_value = text.partition("=")
        kind, _, target = head.partition(":")
        if not kind:
            raise argparse.ArgumentTypeError(f"{text!r}: expected KIND[:TARGET][=VALUE]")
        try:
            value = float(raw_value) if has_value else math.nan
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: VALUE must be a number") from None
        return cls(kind.strip(), target.strip(), value)


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lineside-sim",
        description="Simulated pump line P-101: OPC UA (PLC) and Modbus TCP (VFD) servers.",
        epilog="Other forms: 'lineside-sim fault --url URL KIND ...', 'lineside-sim clear ...'.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--opcua-port", type=int, default=4840, help="0 picks a free port")
    parser.add_argument("--modbus-port", type=int, default=5020, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=1, help="noise seed")
    parser.add_argument("--tick", type=float, default=0.1, help="seconds between updates")
    parser.add_argument("--extra-tags", type=int, default=0, help="synthetic Synth.NNNN tags")
    parser.add_argument(
        "--fault",
        type=FaultSpec.parse,
        action="append",
        default=[],
        metavar="KIND[:TARGET][=VALUE]",
        help="fault injected at start, e.g. bearing_wear=0.002 or sensor_stuck:P101.Flow",
    )
    parser.add_argument("--log-level", default="INFO", help="stderr log level")
    parser.add_argument("--exit-with-parent", action="store_true",
                        help="stop when standard input closes: the process that started the "
                             "plant holds it open, and it closes when that process ends, even "
                             "when it was killed (the demo runtime starts the plant so)")
    return parser


def _client_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lineside-sim", description="Inject or clear a fault in a running simulated plant."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    fault = commands.add_parser("fault", help="call Simulation.InjectFault")
    fault.add_argument("--url", required=True, help="OPC UA endpoint of the running sim")
    fault.add_argument("kind", help="bearing_wear, cavitation, sensor_stuck, plc_offline, ...")
    fault.add_argument("--target", default="", help="signal, for sensor faults")
    fault.add_argument("--value", type=float, default=math.nan, help="rate, severity or seconds")
    clear = commands.add_parser("clear", help="call Simulation.ClearFault")
    clear.add_argument("--url", required=True, help="OPC UA endpoint of the running sim")
    clear.add_argument("kind", help="the fault kind to clear")
    return parser


async def serve(args: argparse.Namespace) -> int:
    """Run the plant until SIGINT or SIGTERM; print the ready line once it serves."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    plant = SimPlant(
        seed=args.seed,
        opcua_port=args.opcua_port,
        modbus_port=args.modbus_port,
        host=args.host,
        tick_s=args.tick,
        extra_tags=args.extra_tags,
    )
    try:
        await plant.start()
    except OSError as exc:
        _log.error("sim.cli.start_failed error=%s", exc)
        return 1
    try:
        for spec in args.fault:
            plant.inject_spec(spec.kind, spec.target, spec.value)
        ready = {
            "opcua_url": plant.opcua_url,
            "modbus_host": plant.modbus_host,
            "modbus_port": plant.modbus_port,
        }
        sys.stdout.write(json.dumps(ready) + "\n")
        sys.stdout.flush()
        orphaned = (asyncio.create_task(_stdin_closed(), name="sim-parent-watch")
                    if args.exit_with_parent else None)
        waits = {asyncio.create_task(stop.wait(), name="sim-stop"), *filter(None, [orphaned])}
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        reason = "parent_gone" if orphaned in done else "signal"
        _log.info("sim.cli.stopping reason=%s", reason)
    except SimError as exc:
        _log.error("sim.cli.bad_fault error=%s", exc)
        return 2
    finally:
        await plant.stop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    return 0


async def _stdin_closed() -> None:
    """Return once standard input reaches its end (the parent closed it, or ended)."""
    reader = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await reader.read()


async def call_simulation(args: argparse.Namespace) -> int:
    """Call InjectFault or ClearFault on a running sim; 0 when it accepted the call."""
    client = Client(args.url, timeout=5)
    client.session_timeout = 60_000  # ms; the server caps longer requests with a warning
    async with client:
        idx = await client.get_namespace_index(NAMESPACE_URI)
        sim = client.get_node(ua.NodeId("Simulation", idx))  # type: ignore[arg-type]  # asyncua hints ua.String, ua.Int16
        try:
            if args.command == "fault":
                await sim.call_method(
                    ua.NodeId("Simulation.InjectFault", idx),  # type: ignore[arg-type]  # asyncua hints ua.String, ua.Int16
                    ua.Variant(args.kind, ua.VariantType.String),
                    ua.Variant(args.target, ua.VariantType.String),
                    ua.Variant(args.value, ua.VariantType.Double),
                )
            else:
                await sim.call_method(
                    ua.NodeId("Simulation.ClearFault", idx),  # type: ignore[arg-type]  # asyncua hints ua.String, ua.Int16
                    ua.Variant(args.kind, ua.VariantType.String),
                )
        except ua.UaStatusCodeError as exc:
            _log.error("sim.cli.refused command=%s kind=%s status=%s", args.command, args.kind, exc)
            return 2
    _log.info("sim.cli.done command=%s kind=%s", args.command, args.kind)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `lineside-sim` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    client_form = bool(argv) and argv[0] in _CLIENT_COMMANDS
    args = (_client_parser() if client_form else _serve_parser()).parse_args(argv)
    level = getattr(args, "log_level", "INFO")
    logging.basicConfig(
        stream=sys.stderr,
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    for noisy in ("asyncua", "pymodbus"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return asyncio.run(call_simulation(args) if client_form else serve(args))
    except (OSError, TimeoutError) as exc:
        _log.error("sim.cli.failed error=%s", exc)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
