"""Pure data shared by the runtime and the HMI: documents, specs, messages, errors.

No I/O, no asyncio, no Qt (an import-linter contract keeps it so).
"""

from runtime.contracts.errors import (
    AddressError,
    DriverError,
    EvaluationError,
    ExpressionError,
    LinesideError,
    Problem,
    ValidationFailed,
    WriteRefused,
)
from runtime.contracts.messages import (
    BAD,
    GOOD,
    Event,
    EventKind,
    LineMode,
    Quality,
    Sample,
    WriteRequest,
)
from runtime.contracts.nodespec import NodeSpec, ParamRule, ParamSpec, PortSpec
from runtime.contracts.project import (
    SCHEMA_ID,
    Envelope,
    Flow,
    ModbusConnection,
    Node,
    OpcUaConnection,
    Project,
    Scaling,
    Security,
    Tag,
    Wire,
)

__all__ = [
    "BAD", "GOOD", "SCHEMA_ID", "AddressError", "DriverError", "Envelope", "EvaluationError",
    "Event", "EventKind", "ExpressionError", "Flow", "LineMode", "LinesideError",
    "ModbusConnection", "Node", "NodeSpec", "OpcUaConnection", "ParamRule", "ParamSpec",
    "PortSpec", "Problem", "Project", "Quality", "Sample", "Scaling", "Security", "Tag",
    "ValidationFailed", "Wire", "WriteRefused", "WriteRequest",
]
