"""Project documents for tests, built from the simulated plant's address map."""

from __future__ import annotations

import copy
from typing import Any


def pump_project(opcua_url: str = "opc.tcp://127.0.0.1:4840/lineside/sim",
                 modbus_host: str = "127.0.0.1", modbus_port: int = 5020,
                 publishing_interval_ms: int = 50, poll_ms: int = 100) -> dict[str, Any]:
    """A small pump project: two connections, P-101 tags and two flows."""
    return {
        "schema": "lineside.project/1",
        "name": "test pump",
        "connections": [
            {"id": "plc", "kind": "opcua", "endpoint": opcua_url,
             "publishing_interval_ms": publishing_interval_ms, "watchdog_s": 0.5},
            {"id": "vfd", "kind": "modbus", "host": modbus_host, "port": modbus_port,
             "unit_id": 1, "poll_ms": poll_ms},
        ],
        "tags": [
            {"id": "P101.vibration", "connection": "plc", "address": "ns=2;s=P101.Vibration",
             "type": "float64", "unit": "mm/s"},
            {"id": "P101.bearing_temp", "connection": "plc",
             "address": "ns=2;s=P101.BearingTemp", "type": "float64", "unit": "°C"},
            {"id": "P101.speed_sp", "connection": "plc", "address": "ns=2;s=P101.SpeedSetpoint",
             "type": "float64", "unit": "Hz", "writable": True,
             "envelope": {"min": 30, "max": 50, "max_step": 5, "min_interval_s": 0}},
            {"id": "VFD.speed_sp", "connection": "vfd", "address": "hr:0", "type": "float32",
             "unit": "Hz", "writable": True,
             "envelope": {"min": 30, "max": 50, "max_step": 10, "min_interval_s": 0}},
            {"id": "VFD.speed", "connection": "vfd", "address": "ir:0", "type": "float32",
             "unit": "Hz"},
            {"id": "VFD.drive_temp", "connection": "vfd", "address": "ir:9", "type": "int16",
             "unit": "°C", "scaling": {"raw_min": 0, "raw_max": 10, "eng_min": 0,
                                       "eng_max": 1}},
        ],
        "flows": [
            {
                "id": "temp_high", "label": "Bearing temperature high",
                "nodes": [
                    {"id": "src", "type": "source.tag", "params": {"tag": "P101.bearing_temp"}},
                    {"id": "hyst", "type": "logic.hysteresis",
                     "params": {"on_above": 70, "off_below": 65}},
                    {"id": "alarm", "type": "alarm",
                     "params": {"alarm_id": "P101.TEMP_HIGH", "priority": "high",
                                "message": "P-101 bearing temperature high"}},
                ],
                "wires": [{"from": "src:out", "to": "hyst:in"},
                          {"from": "hyst:out", "to": "alarm:in"}],
            },
            {
                "id": "vib_rms", "label": "Vibration RMS",
                "nodes": [
                    {"id": "src", "type": "source.tag", "params": {"tag": "P101.vibration"}},
                    {"id": "rms", "type": "math.window",
                     "params": {"stat": "rms", "samples": 20}},
                    {"id": "hyst", "type": "logic.hysteresis",
                     "params": {"on_above": 6, "off_below": 5}},
                    {"id": "alarm", "type": "alarm",
                     "params": {"alarm_id": "P101.VIB_HIGH", "priority": "medium",
                                "message": "P-101 vibration high"}},
                ],
                "wires": [{"from": "src:out", "to": "rms:in"},
                          {"from": "rms:out", "to": "hyst:in"},
                          {"from": "hyst:out", "to": "alarm:in"}],
            },
        ],
    }


def with_changes(doc: dict[str, Any], change) -> dict[str, Any]:
    """A deep copy of `doc` after `change(copy)` ran on it."""
    new = copy.deepcopy(doc)
    change(new)
    return new
