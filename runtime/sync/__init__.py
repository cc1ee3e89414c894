"""Store and forward, the forward half: the outbox drained to an MQTT broker at QoS 1.

`Forwarder(store, BrokerConfig(...), node_id)` publishes `{prefix}/{node}/samples` and
`{prefix}/{node}/events`; see README.md in this package for the topics and payload.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runtime.sync.config import BrokerConfig, SyncConfigError

if TYPE_CHECKING:
    from runtime.sync.forwarder import BrokerState, Forwarder, SyncError, SyncStatus

_FORWARDER = ("BrokerState", "Forwarder", "SyncError", "SyncStatus")


def __getattr__(name: str) -> Any:
    # The forwarder (aiomqtt, the store) is imported on first use, so that reading the
    # broker's settings does not pay for it.
    if name in _FORWARDER:
        from runtime.sync import forwarder
        return getattr(forwarder, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "BrokerConfig",
    "BrokerState",
    "Forwarder",
    "SyncConfigError",
    "SyncError",
    "SyncStatus",
]
