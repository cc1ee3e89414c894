"""The API server's settings (the [api] section of the runtime configuration)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from runtime.contracts.errors import LinesideError

LOOPBACK = "127.0.0.1"
SIDECAR_ALLOWANCE = 1024 * 1024
"""Room a models.add frame keeps for the sidecar and the envelope beside the model."""


class ApiConfigError(LinesideError, ValueError):
    """An API setting is invalid; the message names it and says what is wrong."""


@dataclass(frozen=True, slots=True)
class ApiConfig:
    """Where the API listens and what it allows.

    It listens on loopback by default. `remote = true` lets it listen on another address,
    and then only over TLS: with the certificate in `tls_cert` / `tls_key`, or one it makes
    itself at first start (self-signed; its SHA-256 fingerprint is logged and written to the
    endpoint file for clients to pin). There is no plaintext remote access.
    """

    enabled: bool = True
    host: str = LOOPBACK
    port: int = 7840
    """0 picks a free port (the endpoint file in the data folder says which)."""
    remote: bool = False
    tls_cert: str | None = None
    tls_key: str | None = None
    max_frame_bytes: int = 24 * 1024 * 1024
    """The largest frame an engineer's or admin's connection may send; bigger ones close the
    connection. It is this large so that models.add can carry a model of max_model_bytes
    (base64: 4/3 of it) with its sidecar in one request."""
    small_frame_bytes: int = 1024 * 1024
    """The largest frame of any other connection (not logged in, viewer, operator)."""
    max_model_bytes: int = 16 * 1024 * 1024
    """The largest model file models.add accepts (less when max_frame_bytes cannot carry it:
    see `model_upload_limit`)."""
    requests_per_s: float = 50.0
    request_burst: int = 100
    max_refused: int = 200
    """Requests refused for the rate limit before the connection is closed."""
    max_events: int = 10_000
    """Events a client may have waiting; beyond that its oldest are dropped (and counted)."""
    login_timeout_s: float = 30.0
    """A connection that has not logged in by then is closed (slow or idle strangers)."""
    session_idle_s: float = 8 * 3600.0
    """A login expires after this long without a request."""
    panel_idle_logout_s: float = 600.0
    """The HMI logs a person out after this long without a touch (panels are shared) and
    returns to the panel's own login; 0 keeps them logged in."""
    handshake_timeout_s: float = 5.0
    max_concurrent_requests: int = 8
    """Requests of one connection being handled at once; more wait their turn."""
    max_backtests: int = 1
    """Backtests running at once (each in a process of its own); more wait their turn."""

    def __post_init__(self) -> None:
        problems = []
        if not 0 <= self.port <= 65535:
            problems.append(f"port: {self.port} is not a TCP port (0 picks a free one)")
        if not self.remote and not _loopback(self.host):
            problems.append(f"host: {self.host!r} is not a loopback address; set remote = true "
                            "to listen beyond this machine (TLS only)")
        if (self.tls_cert is None) != (self.tls_key is None):
            problems.append("tls_cert and tls_key: give both, or neither (a self-signed "
                            "certificate is then made at first start)")
        for name in ("max_frame_bytes", "small_frame_bytes", "max_model_bytes",
                     "requests_per_s", "request_burst", "max_refused", "max_events",
                     "login_timeout_s", "session_idle_s", "handshake_timeout_s",
                     "max_concurrent_requests", "max_backtests"):
            if not getattr(self, name) > 0:
                problems.append(f"{name}: must be more than 0, found {getattr(self, name)!r}")
        if not self.panel_idle_logout_s >= 0:
            problems.append("panel_idle_logout_s: must be 0 (never) or more, found "
                            f"{self.panel_idle_logout_s!r}")
        if problems:
            raise ApiConfigError("; ".join(problems))

    @property
    def model_upload_limit(self) -> int:
        """The largest model file models.add accepts: max_model_bytes, or less when its
        base64 text and a sidecar (up to SIDECAR_ALLOWANCE) would not fit in a frame."""
        fits = max(0, self.max_frame_bytes - SIDECAR_ALLOWANCE) // 4 * 3
        return min(self.max_model_bytes, fits)

    @property
    def tls(self) -> bool:
        """Whether the API speaks TLS (always when remote)."""
        return self.remote


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
