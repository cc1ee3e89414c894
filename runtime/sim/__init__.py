"""Simulated pump line (pump P-101 and its VFD) on OPC UA and Modbus TCP, for tests and demos."""

from __future__ import annotations

from runtime.sim.errors import InvalidFault, SimError, UnknownFault, UnknownSignal
from runtime.sim.model import Fault, PumpLineModel, Reading, Signal, synth_signal
from runtime.sim.plant import SimPlant
from runtime.sim.writes import SimWrite

__all__ = [
    "Fault",
    "InvalidFault",
    "PumpLineModel",
    "Reading",
    "Signal",
    "SimError",
    "SimPlant",
    "SimWrite",
    "UnknownFault",
    "UnknownSignal",
    "synth_signal",
]
