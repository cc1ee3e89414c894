"""The engine: compiles a project into graphs, dispatches batches, deploys atomically."""

from runtime.engine.context import ActionSink, CaptureSink, NodeContext
from runtime.engine.engine import DeployResult, Engine

__all__ = ["ActionSink", "CaptureSink", "DeployResult", "Engine", "NodeContext"]
