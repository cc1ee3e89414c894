"""Pump line physics: pump P-101 and its VFD, with seeded noise and injectable faults; no I/O.

The model is deterministic: the same seed and the same sequence of `step` calls, commands,
faults and overrides give the same readings. Every step draws the same amount of noise
whatever the faults, so injecting a fault does not reshuffle the noise of other signals, and
the synthetic signals draw from their own stream, so their count changes nothing else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from runtime.sim.errors import InvalidFault, UnknownFault, UnknownSignal

Value = float | int | bool

NOMINAL_HZ = 50.0
MAX_SETPOINT_HZ = 60.0
RAMP_HZ_PER_S = 5.0
RUNNING_MIN_HZ = 0.5

_FLOW_NOMINAL = 120.0  # m³/h at 50 Hz, ∝ speed
_PRESSURE_NOMINAL = 6.0  # bar at 50 Hz, ∝ speed²
_I_MAGNETISING = 14.0  # A
_I_TORQUE_NOMINAL = math.sqrt(42.0**2 - _I_MAGNETISING**2)  # 42 A total at nominal load
_SHAFT_KW_NOMINAL = 22.0
_DRIVE_EFFICIENCY = 0.93
_INERTIA_TORQUE_PCT = 20.0  # torque to accelerate at the full ramp rate
_AMBIENT_C = 25.0
_BEARING_TAU_S = 15.0
_DRIVE_TAU_S = 240.0
_WEAR_VIBRATION = 6.0  # mm/s at severity 1 and nominal speed
_WEAR_TEMPERATURE = 25.0  # °C at severity 1
_WEAR_MAX = 2.0

_SYNTH_OFFSET = 50.0
_SYNTH_AMPLITUDE = 10.0
_SYNTH_NOISE = 0.2


class Signal:
    """Names of the plant's signals; the P101 names are also the OPC UA node ids."""

    VIBRATION = "P101.Vibration"
    BEARING_TEMP = "P101.BearingTemp"
    MOTOR_CURRENT = "P101.MotorCurrent"
    FLOW = "P101.Flow"
    DISCHARGE_PRESSURE = "P101.DischargePressure"
    RUNNING = "P101.Running"
    SPEED_SETPOINT = "P101.SpeedSetpoint"
    TRIP = "P101.Trip"
    VFD_SPEED = "VFD.Speed"
    VFD_CURRENT = "VFD.MotorCurrent"
    VFD_ENERGY = "VFD.Energy"
    VFD_DC_BUS = "VFD.DcBusVoltage"
    VFD_DRIVE_TEMP = "VFD.DriveTemp"
    VFD_RUN_SECONDS = "VFD.RunSeconds"
    VFD_TORQUE = "VFD.Torque"
    VFD_SETPOINT = "VFD.SpeedSetpoint"
    VFD_RUN_COMMAND = "VFD.RunCommand"
    VFD_RUNNING = "VFD.Running"
    VFD_FAULT = "VFD.Fault"

    COMMANDS = (SPEED_SETPOINT, TRIP, VFD_SETPOINT, VFD_RUN_COMMAND)
    BOOLEANS = (RUNNING, TRIP, VFD_RUN_COMMAND, VFD_RUNNING, VFD_FAULT)
    INTEGERS = (VFD_RUN_SECONDS,)
    PLANT = (
        VIBRATION,
        BEARING_TEMP,
        MOTOR_CURRENT,
        FLOW,
        DISCHARGE_PRESSURE,
        RUNNING,
        SPEED_SETPOINT,
        TRIP,
        VFD_SPEED,
        VFD_CURRENT,
        VFD_ENERGY,
        VFD_DC_BUS,
        VFD_DRIVE_TEMP,
        VFD_RUN_SECONDS,
        VFD_TORQUE,
        VFD_SETPOINT,
        VFD_RUN_COMMAND,
        VFD_RUNNING,
        VFD_FAULT,
    )


def synth_signal(index: int) -> str:
    """Name of the index-th synthetic load-test signal: Synth.0000, Synth.0001, ..."""
    return f"Synth.{index:04d}"


class Fault:
    """Fault kinds; the model handles the first four, the plant the on/offline ones."""

    BEARING_WEAR = "bearing_wear"
    CAVITATION = "cavitation"
    SENSOR_STUCK = "sensor_stuck"
    SENSOR_DROPOUT = "sensor_dropout"
    PLC_OFFLINE = "plc_offline"
    PLC_ONLINE = "plc_online"
    VFD_OFFLINE = "vfd_offline"
    VFD_ONLINE = "vfd_online"

    MODEL = (BEARING_WEAR, CAVITATION, SENSOR_STUCK, SENSOR_DROPOUT)
    SERVERS = (PLC_OFFLINE, PLC_ONLINE, VFD_OFFLINE, VFD_ONLINE)
    ALL = MODEL + SERVERS


@dataclass(frozen=True, slots=True)
class Reading:
    """A signal as the plant reports it: its value and whether the sensor is healthy."""

    value: Value
    good: bool = True


# Indices into the per-step noise vector; the vector has a fixed size whatever the faults.
_N_FLOW, _N_PRESSURE, _N_CURRENT, _N_VIBRATION, _N_BEARING, _N_VFD_CURRENT = range(6)
_N_DC_BUS, _N_DRIVE_TEMP, _N_CAV_FLOW, _N_CAV_PRESSURE, _N_TORQUE = range(6, 11)
_NOISE_SIZE = 11


class PumpLineModel:
    """Pump P-101 and its VFD; `step(dt)` advances the physics, `readings()` reports it.

    The line starts in steady state: running at 50 Hz, temperatures settled.
    """

    def __init__(self, seed: int, extra_tags: int = 0) -> None:
        if extra_tags < 0:
            raise InvalidFault("sim.extra_tags", f"must be 0 or more, got {extra_tags}")
        main_seq, synth_seq = np.random.SeedSequence(seed).spawn(2)
        self._rng = np.random.default_rng(main_seq)
        self._synth_rng = np.random.default_rng(synth_seq)
        self._t = 0.0
        self._setpoint = NOMINAL_HZ
        self._run_command = True
        self._tripped = False
        self._speed = NOMINAL_HZ
        self._bearing_temp = _AMBIENT_C + 30.0
        self._drive_temp = 30.0 + 18.0
        self._energy_kwh = 15_230.5
        self._run_seconds = 3_600_000.0
        self._wear = 0.0
        self._wear_rate: float | None = None
        self._cavitation = 0.0
        self._stuck: dict[str, Value] = {}
        self._dropout: dict[str, Value] = {}
        self._overrides: dict[str, Value] = {}
        self._synth_names = tuple(synth_signal(i) for i in range(extra_tags))
        self._synth_phase = self._synth_rng.uniform(0.0, 2.0 * math.pi, extra_tags)
        self._synth_period = self._synth_rng.uniform(30.0, 120.0, extra_tags)
        self._live: dict[str, Value] = {}
        self._update(0.0)

    # -- state ---------------------------------------------------------------------------

    @property
    def t(self) -> float:
        """Simulated seconds since the model was made."""
        return self._t

    @property
    def signals(self) -> tuple[str, ...]:
        """Every signal the model reports, plant signals first, then the synthetic ones."""
        return Signal.PLANT + self._synth_names

    @property
    def synth_signals(self) -> tuple[str, ...]:
        """The synthetic load-test signals, in index order."""
        return self._synth_names

    @property
    def speed_setpoint(self) -> float:
        """Speed reference in Hz (0..60), shared by the PLC and the VFD."""
        return self._setpoint

    @property
    def speed(self) -> float:
        """Actual motor speed in Hz, ramping towards the reference."""
        return self._speed

    @property
    def run_command(self) -> bool:
        """Run command on the VFD (Modbus coil 0)."""
        return self._run_command

    @property
    def tripped(self) -> bool:
        """True while a trip is latched; the pump stays stopped until the trip is reset."""
        return self._tripped

    @property
    def running(self) -> bool:
        """True while the drive is enabled and the motor turns."""
        return self._enabled and self._speed > RUNNING_MIN_HZ

    @property
    def wear(self) -> float:
        """Bearing wear severity, 0 for a healthy bearing, 1 for a bearing due for change."""
        return self._wear

    @property
    def cavitation_severity(self) -> float:
        """Cavitation severity, 0 when there is none."""
        return self._cavitation

    @property
    def active_faults(self) -> dict[str, Any]:
        """The faults now active, with their parameters (for logs and the demo UI)."""
        faults: dict[str, Any] = {}
        if self._wear_rate is not None:
            faults[Fault.BEARING_WEAR] = {"rate": self._wear_rate, "severity": self._wear}
        if self._cavitation > 0.0:
            faults[Fault.CAVITATION] = {"severity": self._cavitation}
        if self._stuck:
            faults[Fault.SENSOR_STUCK] = sorted(self._stuck)
        if self._dropout:
            faults[Fault.SENSOR_DROPOUT] = sorted(self._dropout)
        return faults

    @property
    def _enabled(self) -> bool:
        return self._run_command and not self._tripped

    # -- commands ------------------------------------------------------------------------

    def set_speed_setpoint(self, hz: float) -> float:
        """Set the speed reference, clamped to 0..60 Hz; returns the value applied."""
        value = float(hz)
        if not math.isfinite(value):
            raise InvalidFault(Signal.SPEED_SETPOINT, f"must be a number, got {hz!r}")
        self._setpoint = min(max(value, 0.0), MAX_SETPOINT_HZ)
        self._refresh_commands()
        return self._setpoint

    def set_trip(self, tripped: bool) -> None:
        """Latch a trip (the pump ramps down and stays stopped) or reset it with False."""
        self._tripped = bool(tripped)
        self._refresh_commands()

    def set_run_command(self, run: bool) -> None:
        """Start or stop the drive (Modbus coil 0)."""
        self._run_command = bool(run)
        self._refresh_commands()

    # -- faults --------------------------------------------------------------------------

    def inject(self, kind: str, **params: Any) -> None:
        """Inject a model fault: bearing_wear(rate), cavitation(severity), sensor_*(signal)."""
        if kind == Fault.BEARING_WEAR:
            self.bearing_wear(_number(kind, params, "rate"))
        elif kind == Fault.CAVITATION:
            self.cavitation(_number(kind, params, "severity"))
        elif kind == Fault.SENSOR_STUCK:
            self.sensor_stuck(_text(kind, params, "signal"))
        elif kind == Fault.SENSOR_DROPOUT:
            self.sensor_dropout(_text(kind, params, "signal"))
        else:
            raise UnknownFault(
                f"fault {kind!r}", f"unknown; the model knows {', '.join(Fault.MODEL)}"
            )

    def bearing_wear(self, rate: float) -> None:
        """Start bearing wear growing at `rate` severity per second (vibration and heat follow)."""
        if not math.isfinite(rate) or rate < 0.0:
            raise InvalidFault(
                f"fault {Fault.BEARING_WEAR}", f"rate must be >= 0 per second, got {rate}"
            )
        self._wear_rate = float(rate)

    def cavitation(self, severity: float) -> None:
        """Make the pump cavitate: noisy flow and pressure drop, vibration spikes."""
        if not math.isfinite(severity) or not 0.0 <= severity <= 1.0:
            raise InvalidFault(
                f"fault {Fault.CAVITATION}", f"severity must be 0..1, not {severity}"
            )
        self._cavitation = float(severity)

    def sensor_stuck(self, signal: str) -> None:
        """Freeze a signal at the value it reports now (quality stays good)."""
        self._check_measured(signal, Fault.SENSOR_STUCK)
        self._stuck[signal] = self.reading(signal).value

    def sensor_dropout(self, signal: str) -> None:
        """Report a signal with bad quality; its value freezes at the last reported one."""
        self._check_measured(signal, Fault.SENSOR_DROPOUT)
        self._dropout[signal] = self.reading(signal).value

    def clear(self, kind: str, signal: str | None = None) -> None:
        """Clear a fault; for sensor faults, one signal or (signal None) all of them."""
        if kind == Fault.BEARING_WEAR:
            self._wear_rate = None
            self._wear = 0.0
        elif kind == Fault.CAVITATION:
            self._cavitation = 0.0
        elif kind in (Fault.SENSOR_STUCK, Fault.SENSOR_DROPOUT):
            faulted = self._stuck if kind == Fault.SENSOR_STUCK else self._dropout
            if signal is None:
                faulted.clear()
            else:
                self._check_known(signal)
                faulted.pop(signal, None)
        else:
            raise UnknownFault(
                f"fault {kind!r}", f"unknown; the model knows {', '.join(Fault.MODEL)}"
            )

    def override(self, signal: str, value: Value) -> Value:
        """Force a signal to a value (good quality) until `release`; returns the value reported."""
        self._check_measured(signal, "override")
        if signal in Signal.BOOLEANS:
            forced: Value = bool(value)
        elif signal in Signal.INTEGERS:
            forced = int(value)
        else:
            forced = float(value)
            if not math.isfinite(forced):
                raise InvalidFault(f"override {signal}", f"must be a finite number, got {value!r}")
        self._overrides[signal] = forced
        return forced

    def release(self, signal: str) -> None:
        """End an override; the signal reports the live value again."""
        self._check_known(signal)
        self._overrides.pop(signal, None)

    # -- readings ------------------------------------------------------------------------

    def reading(self, signal: str) -> Reading:
        """A signal as reported: override, else dropout (bad), else stuck, else live."""
        if signal in self._overrides:
            return Reading(self._overrides[signal])
        if signal in self._dropout:
            return Reading(self._dropout[signal], good=False)
        if signal in self._stuck:
            return Reading(self._stuck[signal])
        try:
            return Reading(self._live[signal])
        except KeyError:
            raise UnknownSignal(f"signal {signal!r}", "no such signal") from None

    def readings(self) -> dict[str, Reading]:
        """Every signal as reported, keyed by name."""
        return {name: self.reading(name) for name in self._live}

    # -- physics -------------------------------------------------------------------------

    def step(self, dt: float) -> None:
        """Advance the physics by dt seconds (dt > 0)."""
        if not dt > 0.0:
            raise ValueError(f"dt must be positive, got {dt}")
        self._update(dt)

    def _update(self, dt: float) -> None:
        z = self._rng.standard_normal(_NOISE_SIZE)
        u = self._rng.random(2)
        self._t += dt
        target = self._setpoint if self._enabled else 0.0
        max_delta = RAMP_HZ_PER_S * dt
        delta = min(max(target - self._speed, -max_delta), max_delta)
        self._speed = max(self._speed + delta, 0.0)
        accel = delta / dt if dt > 0.0 else 0.0
        r = self._speed / NOMINAL_HZ
        active = self._speed > 0.0 or target > 0.0
        running = self.running

        if self._wear_rate is not None:
            self._wear = min(self._wear + self._wear_rate * dt, _WEAR_MAX)
        cav = self._cavitation if running else 0.0
        # Sensor noise fades in with speed so a stopped pump reads (nearly) zero.
        presence = min(1.0, 4.0 * r)

        flow = _FLOW_NOMINAL * r * (1.0 - 0.15 * cav)
        flow += (0.4 * z[_N_FLOW] + 6.0 * cav * z[_N_CAV_FLOW]) * presence
        pressure = _PRESSURE_NOMINAL * r * r * (1.0 - 0.25 * cav)
        pressure += (0.03 * z[_N_PRESSURE] + 0.4 * cav * z[_N_CAV_PRESSURE]) * presence

        load_pct = 100.0 * r * r * (1.0 - 0.12 * cav) * (1.0 + 0.05 * self._wear)
        torque_pct = 0.0
        if active:
            torque_pct = load_pct + _INERTIA_TORQUE_PCT * accel / RAMP_HZ_PER_S + 0.5 * z[_N_TORQUE]
        torque_frac = torque_pct / 100.0
        current = math.hypot(_I_MAGNETISING, _I_TORQUE_NOMINAL * torque_frac) if active else 0.0
        shaft_kw = _SHAFT_KW_NOMINAL * torque_frac * r
        self._energy_kwh += max(shaft_kw, 0.0) / _DRIVE_EFFICIENCY * dt / 3600.0
        if running:
            self._run_seconds += dt

        bearing_target = _AMBIENT_C + 30.0 * r * r + _WEAR_TEMPERATURE * self._wear + 3.0 * cav
        self._bearing_temp += (bearing_target - self._bearing_temp) * _lag(dt, _BEARING_TAU_S)
        drive_target = 30.0 + 18.0 * (current / 42.0) ** 2
        self._drive_temp += (drive_target - self._drive_temp) * _lag(dt, _DRIVE_TAU_S)

        vibration = (0.15 + 1.85 * r * r) * (1.0 + 0.05 * z[_N_VIBRATION])
        vibration += _WEAR_VIBRATION * self._wear * r + 1.5 * cav
        if u[0] < 0.3 * cav:
            vibration += -math.log1p(-u[1]) * 4.0 * cav

        self._live = {
            Signal.VIBRATION: max(vibration, 0.02),
            Signal.BEARING_TEMP: self._bearing_temp + 0.05 * z[_N_BEARING],
            Signal.MOTOR_CURRENT: max(current + 0.15 * z[_N_CURRENT] * presence, 0.0),
            Signal.FLOW: max(flow, 0.0),
            Signal.DISCHARGE_PRESSURE: max(pressure, 0.0),
            Signal.RUNNING: running,
            Signal.VFD_SPEED: self._speed,
            Signal.VFD_CURRENT: max(current + 0.05 * z[_N_VFD_CURRENT] * presence, 0.0),
            Signal.VFD_ENERGY: self._energy_kwh,
            Signal.VFD_DC_BUS: 540.0 - 6.0 * load_pct / 100.0 + 1.5 * z[_N_DC_BUS],
            Signal.VFD_DRIVE_TEMP: self._drive_temp + 0.05 * z[_N_DRIVE_TEMP],
            Signal.VFD_RUN_SECONDS: int(self._run_seconds),
            Signal.VFD_TORQUE: torque_pct,
            Signal.VFD_RUNNING: running,
            Signal.VFD_FAULT: self._tripped,
        }
        self._live = {k: _plain(v) for k, v in self._live.items()}
        self._refresh_commands()
        if self._synth_names:
            angle = 2.0 * math.pi * self._t / self._synth_period + self._synth_phase
            noise = self._synth_rng.standard_normal(len(self._synth_names))
            values = _SYNTH_OFFSET + _SYNTH_AMPLITUDE * np.sin(angle) + _SYNTH_NOISE * noise
            self._live.update(zip(self._synth_names, values.tolist(), strict=True))

    def _refresh_commands(self) -> None:
        self._live[Signal.SPEED_SETPOINT] = self._setpoint
        self._live[Signal.VFD_SETPOINT] = self._setpoint
        self._live[Signal.TRIP] = self._tripped
        self._live[Signal.VFD_RUN_COMMAND] = self._run_command
        self._live[Signal.VFD_FAULT] = self._tripped

    def _check_known(self, signal: str) -> None:
        if signal not in self._live:
            raise UnknownSignal(f"signal {signal!r}", "no such signal")

    def _check_measured(self, signal: str, what: str) -> None:
        self._check_known(signal)
        if signal in Signal.COMMANDS:
            raise UnknownSignal(
                f"{what} {signal}",
                "is a command written by clients; only measurements can be faulted",
            )


def _lag(dt: float, tau: float) -> float:
    """Fraction of the gap a first-order lag with time constant tau closes in dt."""
    return 1.0 - math.exp(-dt / tau)


def _plain(value: Any) -> Value:
    """A Python bool, int or float (never a numpy scalar), as the servers expect."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    return float(value)


def _number(kind: str, params: dict[str, Any], name: str) -> float:
    if name not in params or params[name] is None:
        raise InvalidFault(f"fault {kind}", f"needs {name}=<number>")
    try:
        return float(params[name])
    except (TypeError, ValueError):
        message = f"{name} must be a number, got {params[name]!r}"
        raise InvalidFault(f"fault {kind}", message) from None


def _text(kind: str, params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidFault(f"fault {kind}", f"needs {name}=<signal name>, e.g. {Signal.VIBRATION}")
    return value
