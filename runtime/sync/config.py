"""The forwarder's settings: which broker, how to log in, how fast and how much to send."""

from __future__ import annotations

from dataclasses import dataclass, field

from runtime.contracts.errors import LinesideError

_TOPIC_FORBIDDEN = ("+", "#", "\x00")


class SyncConfigError(LinesideError, ValueError):
    """A sync setting is invalid; the message names the setting and what is wrong."""


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    """Where and how the forwarder publishes the outbox.

    `password` never appears in repr() or logs. With `tls`, `ca_file` is the CA that signed
    the broker's certificate (None: the system's CAs); `cert_file`/`key_file` are the client
    certificate for brokers that require one; `insecure` skips certificate and host name checks
    (test benches only).
    """

    host: str
    port: int = 1883
    client_id: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure: bool = False
    enabled: bool = True
    topic_prefix: str = "lineside"
    keepalive_s: int = 30
    timeout_s: float = 10.0
    """How long to wait for the broker's CONNACK or a PUBACK before giving the connection up."""
    max_inflight: int = 20
    """Publishes sent but not yet acknowledged by the broker (PUBACK) at any time."""
    max_records_per_message: int = 5_000
    max_message_bytes: int = 1_000_000
    """Chunks are combined up to this size; a single larger chunk is sent alone."""
    rate_limit_records_per_s: float = 0.0
    """Average records per second sent to the broker; 0 sends as fast as the broker acks."""
    historical_after_s: float = 10.0
    """A chunk older than this when it is sent is marked historical (backlog)."""
    backoff_initial_s: float = 0.5
    backoff_cap_s: float = 30.0
    poll_interval_s: float = 0.15
    """How often an idle forwarder looks at the outbox when nobody calls notify()."""
    status_log_interval_s: float = 30.0

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.enabled and not self.host:
            problems.append("host: is empty (set the broker's host name or address)")
        if not 1 <= self.port <= 65535:
            problems.append(f"port: {self.port} is not a TCP port (1-65535)")
        prefix = self.topic_prefix
        if (
            not prefix
            or prefix.startswith("/")
            or prefix.endswith("/")
            or any(c in prefix for c in _TOPIC_FORBIDDEN)
        ):
            problems.append(
                f"topic_prefix: {prefix!r} must be a topic without wildcards (+, #) "
                "and without a leading or trailing '/'"
            )
        if self.client_id is not None and not self.client_id:
            problems.append("client_id: is empty (leave it unset for lineside-<node>)")
        if self.password is not None and self.username is None:
            problems.append("password: is set without a username")
        if self.key_file and not self.cert_file:
            problems.append("key_file: is set without cert_file")
        for name in ("max_inflight", "max_records_per_message", "max_message_bytes"):
            if getattr(self, name) < 1:
                problems.append(f"{name}: {getattr(self, name)} must be at least 1")
        if self.keepalive_s < 1:
            problems.append(f"keepalive_s: {self.keepalive_s} must be at least 1")
        for name in ("timeout_s", "backoff_initial_s", "poll_interval_s", "status_log_interval_s"):
            if not getattr(self, name) > 0:
                problems.append(f"{name}: {getattr(self, name)} must be more than 0")
        if self.backoff_cap_s < self.backoff_initial_s:
            problems.append(
                f"backoff_cap_s: {self.backoff_cap_s} is below backoff_initial_s "
                f"{self.backoff_initial_s}"
            )
        if self.rate_limit_records_per_s < 0:
            problems.append(
                f"rate_limit_records_per_s: {self.rate_limit_records_per_s} must be 0 "
                "(unlimited) or more"
            )
        if self.historical_after_s < 0:
            problems.append(f"historical_after_s: {self.historical_after_s} must be 0 or more")
        if problems:
            raise SyncConfigError("sync settings: " + "; ".join(problems))

    @property
    def address(self) -> str:
        """host:port, for logs and errors."""
        return f"{self.host}:{self.port}"
