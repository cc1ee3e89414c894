"""What the runtime reports about itself: connections, flows, supervised tasks, and the
whole status an operator, the HMI or a script reads. Pure data, JSON-ready via to_dict."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ConnectionState = Literal["connecting", "connected", "disconnected", "stopped"]
TaskState = Literal["running", "restarting", "stopped"]
FlowState = Literal["running", "failed"]


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    """The state of one connection: since when, the last error and how often it reconnected."""

    connection: str
    state: ConnectionState
    since: float
    last_error: str = ""
    reconnects: int = 0

    @property
    def connected(self) -> bool:
        """True while the hub is connected and delivering samples."""
        return self.state == "connected"


@dataclass(frozen=True, slots=True)
class TaskStatus:
    """A supervised long-lived task: its state since when, crashes and the last error."""

    name: str
    state: TaskState
    since: float
    crashes: int = 0
    last_error: str = ""
    last_crash_ts: float | None = None


@dataclass(frozen=True, slots=True)
class FlowStatus:
    """A deployed flow: running, or failed (a node raised) with the error and how often."""

    id: str
    label: str
    mode: str
    state: FlowState
    errors: int = 0
    last_error: str = ""
    last_error_ts: float | None = None
    distinct_errors: int = 0


@dataclass(frozen=True)
class RuntimeStatus:
    """The runtime as a whole, at one moment."""

    version: str
    node_id: str
    started_ts: float
    uptime_s: float
    line_mode: str
    project: str
    project_hash: str
    connections: tuple[ConnectionStatus, ...]
    flows: tuple[FlowStatus, ...]
    tasks: tuple[TaskStatus, ...]
    samples_in: int
    writes_done: int
    writes_failed: int
    store: dict[str, Any] = field(default_factory=dict)
    sync: dict[str, Any] | None = None

    @property
    def failed_flows(self) -> tuple[FlowStatus, ...]:
        """The flows with a failure."""
        return tuple(f for f in self.flows if f.state == "failed")

    @property
    def healthy(self) -> bool:
        """No failed flow, no supervised task restarting, every connection connected."""
        return (not self.failed_flows and all(t.state == "running" for t in self.tasks)
                and all(c.connected for c in self.connections))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)
