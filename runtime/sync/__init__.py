"""Store and forward, the forward half: the outbox drained to an MQTT broker at QoS 1.

`Forwarder(store, BrokerConfig(...), node_id)` publishes `{prefix}/{node}/samples` and
`{prefix}/{node}/events`; see README.md in this package for the topics and payload.
"""

from __future__ import annotations

from runtime.sync.config import BrokerConfig, SyncConfigError
from runtime.sync.forwarder import BrokerState, Forwarder, SyncError, SyncStatus

__all__ = [
    "BrokerConfig",
    "BrokerState",
    "Forwarder",
    "SyncConfigError",
    "SyncError",
    "SyncStatus",
]
