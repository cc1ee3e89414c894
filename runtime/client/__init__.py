"""The runtime's API client (plain asyncio): what the HMI, the editor, tests and scripts use
to talk to a runtime; nobody else speaks the protocol by hand."""

from runtime.client.client import (
    CertificateMismatch,
    Credentials,
    Disconnected,
    Event,
    RuntimeClient,
    Subscription,
    fetch_fingerprint,
)
from runtime.contracts.api import ApiError, ErrorCode

__all__ = ["ApiError", "CertificateMismatch", "Credentials", "Disconnected", "ErrorCode",
           "Event", "RuntimeClient", "Subscription", "fetch_fingerprint"]
