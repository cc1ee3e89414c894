"""The Rules page's view-model: deployed flows, their tunable parameters, pending edits, and
the operations an engineer tunes with (preview, apply, shadow, versions).

It reads through the link's client and acts through `link.act`, so the frame's notice line
tells what every change did. Tunables come from the runtime's registry (the node types'
parameter schemas); where a schema leaves a range or unit open (a hysteresis threshold has
neither), they are taken from what the parameter acts on: the unit of the tag upstream, a
writable tag's envelope, a range around the deployed value.

Previews are backtests over a window of recorded history: the edited flow's traces and the
alarms and writes it would have made, beside the events that were recorded live in the same
window. A newer edit cancels a running preview; edits coming fast (a slider dragged) start
one preview at once and another once they settle (`DEBOUNCE_MS`).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    QTimer,
    Signal,
)

from runtime.client import ApiError, Disconnected, ErrorCode, RuntimeClient
from runtime.contracts.messages import EventKind
from ui.link import Link
from ui.rule_document import (
    FlowEntry,
    Preview,
    Tunable,
    describe_change,
    flow_entries,
    marker,
    problem_text,
    thresholds_of,
    trace_info,
    tunables_of,
)

DEBOUNCE_MS = 250
"""Slider moves closer together than this make one preview (after the first)."""
COMPARE_MS = 3000
"""How often a running shadow's comparison is refreshed."""
VERSIONS_MS = 5000
"""How often the version list is checked for deploys made elsewhere."""
TRACE_WIDTH = 800
"""Buckets per trace: about the plot's width in pixels."""
CHANGE_ROLES = ("engineer", "admin")
WINDOWS: tuple[tuple[str, float], ...] = (
    ("hour", 3600.0), ("shift", 8 * 3600.0), ("day", 86_400.0), ("week", 7 * 86_400.0))
"""The preview windows (name, seconds), ending now."""
FIRED_KINDS = (EventKind.ALARM_RAISED, EventKind.ALARM_CLEARED, EventKind.WRITE)

AnyIndex = QModelIndex | QPersistentModelIndex


class FlowListModel(QAbstractListModel):
    """The deployed flows, live ones with their shadow copies listed after them."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.entries: list[FlowEntry] = []
        self.row_px = 0
        """The height of a row (a touch target); 0 leaves it to the view."""

    def set_entries(self, entries: list[FlowEntry]) -> None:
        """Replace the list."""
        self.beginResetModel()
        self.entries = list(entries)
        self.endResetModel()

    def row_of(self, flow: str) -> int:
        """The row of a flow (-1 when absent)."""
        return next((i for i, e in enumerate(self.entries) if e.id == flow), -1)

    def text(self, entry: FlowEntry) -> str:
        """How an entry reads in the list."""
        if entry.mode == "shadow":
            return self.tr("    ◐ shadow copy: {note}").format(
                note=entry.note or self.tr("same parameters"))
        mark = self.tr("   ◐ in shadow") if entry.shadow else ""
        return f"{entry.label}{mark}"

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.entries)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        entry = self.entries[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(entry)
        if role == Qt.ItemDataRole.ToolTipRole:
            return entry.id
        if role == Qt.ItemDataRole.UserRole:
            return entry.id
        if role == Qt.ItemDataRole.SizeHintRole and self.row_px:
            return QSize(0, self.row_px)
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if self.entries[index.row()].mode == "shadow":
            return Qt.ItemFlag.ItemIsEnabled  # shown, not tuned on its own
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class RulesModel(QObject):
    """Flows, tunables, edits and rule operations over a Link (see the module docstring)."""

    loaded = Signal()
    """The deployed project (flows, tunables) was (re)read."""
    flow_selected = Signal(str)
    edits_changed = Signal()
    preview_started = Signal()
    preview_progress = Signal(float)
    preview_ready = Signal(object)
    """A Preview."""
    preview_failed = Signal(str)
    comparison_changed = Signal(object)
    """The selected flow's shadow comparison (shadow.compare's answer), or None."""
    versions_changed = Signal(list)
    diff_ready = Signal(int, int, list)
    """(from, to, readable lines)."""
    outdated = Signal(int)
    """A newer version was deployed while edits are pending (its number)."""
    role_changed = Signal()

    def __init__(self, link: Link, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.link = link
        self.flows = FlowListModel(self)
        self.specs: dict[str, dict[str, Any]] = {}
        self.document: dict[str, Any] = {}
        self.version = 0
        """The deployed version the document (and so the edits) is from."""
        self.latest_version = 0
        self.versions: list[dict[str, Any]] = []
        self.flow = ""
        self.tunables: list[Tunable] = []
        self.edits: dict[tuple[str, str], float] = {}
        self.window = "hour"
        self.preview: Preview | None = None
        self.previewing = False
        self.comparison: dict[str, Any] | None = None
        self.error = ""
        self.active = False
        """The page is on screen: reads, previews and comparisons run only then."""
        self._wanted = False
        self._reload_wanted = False
        self._run = ""
        self._preview_task: asyncio.Task[None] | None = None
        self._last_preview = 0.0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.preview_now)
        self._compare_timer = QTimer(self)
        self._compare_timer.setInterval(COMPARE_MS)
        self._compare_timer.timeout.connect(self._compare)
        self._versions_timer = QTimer(self)
        self._versions_timer.setInterval(VERSIONS_MS)
        self._versions_timer.timeout.connect(self._check_versions)
        link.connected.connect(self.reload)
        link.lost.connect(lambda _reason: self.role_changed.emit())
        self._reload_wanted = not link.stale

    # -- state ----------------------------------------------------------------------------

    @property
    def can_change(self) -> bool:
        """Whether the logged-in role may preview and change rules."""
        return not self.link.stale and self.link.role in CHANGE_ROLES

    def why_not(self) -> str:
        """Why changes are not possible now ("" when they are)."""
        if self.link.stale:
            return self.tr("The runtime is not connected.")
        if self.link.role not in CHANGE_ROLES:
            return self.tr("Tuning rules needs the engineer role; you are logged in as "
                           "{role}.").format(role=self.link.role or self.tr("nobody"))
        return ""

    def entry(self, flow: str | None = None) -> FlowEntry | None:
        """The listed flow (the selected one by default)."""
        flow = self.flow if flow is None else flow
        return next((e for e in self.flows.entries if e.id == flow), None)

    def value(self, tunable: Tunable) -> float:
        """The tunable's value as edited (its deployed value when not edited)."""
        return self.edits.get(tunable.key, tunable.deployed)

    def edited_params(self) -> dict[str, dict[str, Any]]:
        """The pending edits as backtest/shadow params: {node: {param: value}}."""
        params: dict[str, dict[str, Any]] = {}
        for (node, param), value in self.edits.items():
            tunable = next(t for t in self.tunables if t.key == (node, param))
            params.setdefault(node, {})[param] = int(value) if tunable.integer else value
        return params

    def edited_document(self) -> dict[str, Any]:
        """The deployed document with the pending edits applied to the selected flow."""
        document = copy.deepcopy(self.document)
        params = self.edited_params()
        for flow in document.get("flows", []):
            if flow.get("id") != self.flow:
                continue
            for node in flow.get("nodes", []):
                if node.get("id") in params:
                    node.setdefault("params", {}).update(params[node["id"]])
        return document

    # -- loading --------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the registry, the deployed project and the versions again (when the page is
        next shown, while it is hidden)."""
        self.role_changed.emit()
        if not self.active:
            self._reload_wanted = True
            return
        self._reload_wanted = False
        self._spawn(self._reload(), "rules-reload")

    async def _reload(self) -> None:
        client = self._client()
        if client is None:
            return
        if not self.specs:
            self.specs = {s["type"]: s for s in (await client.node_types())["node_types"]}
        project = await client.project()
        versions = (await client.versions())["versions"]
        self._take_project(project, versions)

    def _take_project(self, project: dict[str, Any], versions: list[dict[str, Any]]) -> None:
        self.document = project["document"]
        self.version = self.latest_version = int(project["number"])
        self.versions = versions
        self.edits.clear()
        entries = flow_entries(self.document)
        self.flows.set_entries(entries)
        self.versions_changed.emit(versions)
        if self.active:
            self._versions_timer.start()
        live = [e.id for e in entries if e.mode == "live"]
        self.loaded.emit()
        self.select(self.flow if self.flow in live else (live[0] if live else ""))

    def select(self, flow: str) -> None:
        """Make `flow` the one tuned: its tunables, a preview, its shadow's comparison."""
        entry = self.entry(flow)
        if entry is not None and entry.mode == "shadow":
            flow = entry.shadow_of
        changed = flow != self.flow
        self.flow = flow
        if changed:
            self.edits.clear()
        self.tunables = tunables_of(self.document, flow, self.specs, self.link.tags)
        self.comparison = None
        self.comparison_changed.emit(None)
        self.flow_selected.emit(flow)
        self.edits_changed.emit()
        entry = self.entry()
        if entry is not None and entry.shadow and self.active:
            self._compare_timer.start()
            self._compare()
        else:
            self._compare_timer.stop()
        self.preview_now()

    def set_window(self, window: str) -> None:
        """Preview over another window ("hour", "shift", "day", "week")."""
        if window not in dict(WINDOWS):
            raise ValueError(f"unknown window {window!r}")
        self.window = window
        self.preview_now()

    # -- edits and previews ---------------------------------------------------------------

    def set_edit(self, node: str, param: str, value: float) -> None:
        """Edit a tunable; a preview follows (at once after a pause, else once the edits
        settle)."""
        tunable = next((t for t in self.tunables if t.key == (node, param)), None)
        if tunable is None:
            raise KeyError(f"flow {self.flow!r} has no tunable {node}.{param}")
        if math.isclose(value, tunable.deployed, rel_tol=0.0, abs_tol=tunable.step / 2):
            self.edits.pop(tunable.key, None)
        else:
            self.edits[tunable.key] = value
        self.edits_changed.emit()
        if time.monotonic() - self._last_preview >= DEBOUNCE_MS / 1000 \
                and not self._debounce.isActive():
            self.preview_now()
        else:
            self._debounce.start()

    def discard_edits(self) -> None:
        """Back to the deployed values (and to the latest version, when one came since)."""
        self.edits.clear()
        if self.latest_version != self.version:
            self.reload()
            return
        self.edits_changed.emit()
        self.preview_now()

    def set_active(self, active: bool) -> None:
        """The page is shown (True) or hidden: previews and comparisons run only while it
        is shown; one that was wanted meanwhile runs on showing."""
        self.active = active
        entry = self.entry()
        if not active:
            self._compare_timer.stop()
            self._versions_timer.stop()
            return
        if self._reload_wanted:
            self.reload()  # previews follow the reload
            return
        if self.version:
            self._versions_timer.start()
        if entry is not None and entry.shadow:
            self._compare_timer.start()
            self._compare()
        if self._wanted:
            self.preview_now()

    def preview_now(self) -> None:
        """Start a preview of the selected flow with the edits; a running one is cancelled."""
        self._debounce.stop()
        self._cancel_preview()
        self._wanted = not self.active
        if self._wanted or not self.flow or not self.can_change:
            self.previewing = False
            return
        client = self._client()
        if client is None:
            return
        self._last_preview = time.monotonic()
        self._run = uuid.uuid4().hex
        self.previewing = True
        self.preview_started.emit()
        self._preview_task = self._spawn(self._preview(client, self._run), "rules-preview")

    def _cancel_preview(self) -> None:
        task, run = self._preview_task, self._run
        self._preview_task = None
        if task is None or task.done():
            return
        task.cancel()
        client = self._client()
        if client is not None:
            async def cancel() -> None:
                with contextlib.suppress(ApiError, Disconnected, TimeoutError):
                    await client.cancel_backtest(run)
            self._spawn(cancel(), "rules-preview-cancel")

    async def _preview(self, client: RuntimeClient, run: str) -> None:
        flow, params = self.flow, self.edited_params()
        end = time.time()
        start = end - dict(WINDOWS)[self.window]
        try:
            result, recorded = await asyncio.gather(
                client.backtest(flow, start, end, params or None, width=TRACE_WIDTH, run=run,
                                progress=self.preview_progress.emit),
                client.events(start, end, kinds=list(FIRED_KINDS), limit=10_000))
        except ApiError as exc:
            if exc.code == ErrorCode.CANCELLED:
                return
            self.previewing = False
            self.preview_failed.emit(problem_text(exc))
            return
        except (Disconnected, TimeoutError) as exc:
            self.previewing = False
            self.preview_failed.emit(str(exc) or self.tr("no answer from the runtime"))
            return
        did = [marker(e) for e in recorded["events"]
               if e.get("flow") == flow and not e.get("shadow")]
        would = [marker(e) for e in result["events"] if e["kind"] in FIRED_KINDS]
        self.previewing = False
        self.preview = Preview(
            flow, start, end, params, result["traces"],
            trace_info(self.document, flow, self.specs, self.link.tags, result["traces"]),
            would, did, int(result["samples"]), float(result["elapsed_s"]),
            int(result["errors"]), thresholds_of(self.document, flow, self.tunables, params))
        self.preview_ready.emit(self.preview)

    def summary(self, preview: Preview) -> str:
        """"Would raise 3 alarms (now 1), 2 writes (now 0)" for a preview."""
        return self.tr("Would raise {a} alarm(s) (now {a0}), {w} write(s) (now {w0})").format(
            a=preview.would_alarms, a0=preview.did_alarms, w=preview.would_writes,
            w0=preview.did_writes)

    # -- changes ----------------------------------------------------------------------------

    def apply(self, comment: str) -> asyncio.Task[Any] | None:
        """Deploy the edits as a new version with `comment`, based on the version they were
        edited from (a deploy made since is a conflict, reported)."""
        label = self._label()
        document, base = self.edited_document(), self.version
        return self._act(self.tr("Apply changes to {flow}").format(flow=label),
                         lambda c: c.deploy(document, base_version=base, comment=comment),
                         lambda r: self.tr("version {v} deployed").format(v=r["version"]))

    def try_in_shadow(self, comment: str | None = None) -> asyncio.Task[Any] | None:
        """Start a shadow copy of the selected flow with the edits."""
        flow, params = self.flow, self.edited_params()
        return self._act(self.tr("Try {flow} in shadow").format(flow=self._label()),
                         lambda c: c.start_shadow(flow, params or None, comment),
                         lambda r: self.tr("shadow copy running (version {v})").format(
                             v=r["version"]))

    def promote(self, comment: str | None = None) -> asyncio.Task[Any] | None:
        """Make the shadow's parameters the live flow's."""
        flow = self.flow
        return self._act(self.tr("Promote the shadow of {flow}").format(flow=self._label()),
                         lambda c: c.promote_shadow(flow, comment),
                         lambda r: self.tr("its parameters are live (version {v})").format(
                             v=r["version"]))

    def stop_shadow(self, comment: str | None = None) -> asyncio.Task[Any] | None:
        """Remove the selected flow's shadow copy."""
        flow = self.flow
        return self._act(self.tr("Stop the shadow of {flow}").format(flow=self._label()),
                         lambda c: c.stop_shadow(flow, comment),
                         lambda r: self.tr("shadow removed (version {v})").format(
                             v=r["version"]))

    def rollback(self, version: int) -> asyncio.Task[Any] | None:
        """Deploy an earlier version again."""
        return self._act(self.tr("Roll back to version {v}").format(v=version),
                         lambda c: c.rollback(version),
                         lambda r: self.tr("version {old} runs again as version {v}").format(
                             old=version, v=r["version"]))

    def load_diff(self, old: int, new: int) -> None:
        """Ask what changed from version `old` to `new` (diff_ready answers, readably)."""
        async def diff() -> None:
            client = self._client()
            if client is None:
                return
            changes = (await client.diff(old, new))["changes"]
            self.diff_ready.emit(old, new, [describe_change(c, self.document, self.specs)
                                            for c in changes])
        self._spawn(diff(), "rules-diff")

    def _act(self, what: str, request: Callable[[RuntimeClient], Awaitable[Any]],
             done: Callable[[Any], str]) -> asyncio.Task[Any] | None:
        task = self.link.act(what, request, done)
        if task is not None:
            task.add_done_callback(self._acted)
        return task

    def _acted(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if isinstance(error, ApiError) and error.code == ErrorCode.CONFLICT:
            self.error = error.message
            self.outdated.emit(self.latest_version)
        if error is None:
            self.error = ""
            self.reload()

    def _label(self) -> str:
        entry = self.entry()
        return entry.label if entry else self.flow

    # -- shadows and versions ---------------------------------------------------------------

    def _compare(self) -> None:
        flow = self.flow
        client = self._client()
        if client is None or not flow:
            return

        async def compare() -> None:
            try:
                answer = await client.compare_shadow(flow)
            except ApiError as exc:
                if exc.code == ErrorCode.NOT_FOUND:
                    self._compare_timer.stop()
                return
            if flow == self.flow:
                self.comparison = answer
                self.comparison_changed.emit(answer)
        self._spawn(compare(), "rules-compare")

    def _check_versions(self) -> None:
        client = self._client()
        if client is None:
            return

        async def check() -> None:
            versions = (await client.versions())["versions"]
            newest = int(versions[0]["number"]) if versions else 0
            if newest == self.latest_version:
                return
            self.latest_version = newest
            if self.edits:
                self.versions = versions
                self.versions_changed.emit(versions)
                self.outdated.emit(newest)
            else:
                self._take_project(await client.project(), versions)
        self._spawn(check(), "rules-versions")

    # -- tasks ------------------------------------------------------------------------------

    def _client(self) -> RuntimeClient | None:
        return None if self.link.stale else self.link.client

    def _spawn(self, coroutine: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        async def guarded() -> Any:
            with contextlib.suppress(Disconnected, TimeoutError):
                return await coroutine
        def done(task: asyncio.Task[Any]) -> None:
            self._tasks.discard(task)
            if isinstance(coroutine, Coroutine):
                coroutine.close()  # cancelled before it started: no "never awaited"
        task = asyncio.get_running_loop().create_task(guarded(), name=name)
        self._tasks.add(task)
        task.add_done_callback(done)
        return task

    async def close(self) -> None:
        """Stop the timers and every task of the model."""
        for timer in (self._debounce, self._compare_timer, self._versions_timer):
            timer.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
