"""The engine: compiles a project into graphs, dispatches batches, deploys atomically."""

from runtime.engine.context import ActionSink, CaptureSink, NodeContext
from runtime.engine.engine import DeployConflict, DeployPlan, DeployResult, Engine, FlowError
from runtime.engine.graph import BuildError, CompiledFlow, FlowHealth

__all__ = ["ActionSink", "BuildError", "CaptureSink", "CompiledFlow", "DeployConflict",
           "DeployPlan", "DeployResult", "Engine", "FlowError", "FlowHealth", "NodeContext"]
