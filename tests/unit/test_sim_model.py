"""The pump line model: deterministic physics, faults and overrides, without any server."""

from __future__ import annotations

import statistics

import pytest

from runtime.sim.errors import InvalidFault, UnknownFault, UnknownSignal
from runtime.sim.model import Fault, PumpLineModel, Signal

DT = 0.1


def run(model: PumpLineModel, seconds: float, signal: str) -> list[float]:
    """Step the model for `seconds` and return the values a signal reported after each step."""
    values = []
    for _ in range(round(seconds / DT)):
        model.step(DT)
        values.append(float(model.reading(signal).value))
    return values


def scripted_run(seed: int, extra_tags: int = 0) -> list[dict[str, object]]:
    """Readings of a fixed script of steps, commands, faults and overrides."""
    model = PumpLineModel(seed, extra_tags=extra_tags)
    snapshots = []
    for i in range(400):
        if i == 50:
            model.inject(Fault.BEARING_WEAR, rate=0.01)
        if i == 100:
            model.inject(Fault.CAVITATION, severity=0.5)
        if i == 150:
            model.set_speed_setpoint(35.0)
        if i == 200:
            model.override(Signal.FLOW, 10.0)
        if i == 250:
            model.release(Signal.FLOW)
            model.clear(Fault.CAVITATION)
        if i == 300:
            model.set_trip(True)
        model.step(DT)
        snapshots.append({name: r.value for name, r in model.readings().items()})
    return snapshots


def test_same_seed_and_script_give_identical_readings() -> None:
    assert scripted_run(seed=7) == scripted_run(seed=7)


def test_another_seed_gives_other_noise() -> None:
    a, b = scripted_run(seed=7), scripted_run(seed=8)
    assert a[10][Signal.VIBRATION] != b[10][Signal.VIBRATION]


def test_synthetic_tags_do_not_change_the_plant_signals() -> None:
    plain, with_synth = scripted_run(seed=3), scripted_run(seed=3, extra_tags=4)
    assert [{k: s[k] for k in Signal.PLANT} for s in with_synth] == plain


def test_starts_in_steady_state_at_nominal_values() -> None:
    model = PumpLineModel(1)
    history: dict[str, list[float]] = {s: [] for s in Signal.PLANT if s not in Signal.BOOLEANS}
    for _ in range(200):
        model.step(DT)
        for name in history:
            history[name].append(float(model.reading(name).value))
    means = {name: statistics.fmean(values) for name, values in history.items()}
    assert model.reading(Signal.RUNNING).value is True
    assert means[Signal.FLOW] == pytest.approx(120.0, rel=0.02)
    assert means[Signal.DISCHARGE_PRESSURE] == pytest.approx(6.0, rel=0.02)
    assert means[Signal.MOTOR_CURRENT] == pytest.approx(42.0, rel=0.03)
    assert means[Signal.VIBRATION] == pytest.approx(2.0, rel=0.05)
    assert means[Signal.BEARING_TEMP] == pytest.approx(55.0, abs=0.5)
    assert means[Signal.VFD_SPEED] == 50.0
    assert means[Signal.VFD_DC_BUS] == pytest.approx(540.0, abs=8.0)
    assert statistics.stdev(history[Signal.VIBRATION]) > 0.0


def test_flow_and_pressure_follow_the_affinity_laws() -> None:
    model = PumpLineModel(1)
    model.set_speed_setpoint(25.0)
    run(model, 10.0, Signal.FLOW)  # ramp down at 5 Hz/s
    assert model.speed == 25.0
    flow = statistics.fmean(run(model, 5.0, Signal.FLOW))
    pressure = statistics.fmean(run(model, 5.0, Signal.DISCHARGE_PRESSURE))
    assert flow == pytest.approx(60.0, rel=0.03)
    assert pressure == pytest.approx(1.5, rel=0.05)


def test_speed_ramps_towards_the_setpoint_at_5_hz_per_second() -> None:
    model = PumpLineModel(1)
    model.set_speed_setpoint(40.0)
    model.step(1.0)
    assert model.speed == pytest.approx(45.0)
    model.step(1.0)
    assert model.speed == pytest.approx(40.0)
    assert model.set_speed_setpoint(75.0) == 60.0


def test_bearing_wear_raises_vibration_and_temperature_over_time() -> None:
    model = PumpLineModel(1)
    base_vibration = statistics.fmean(run(model, 10.0, Signal.VIBRATION))
    base_temp = float(model.reading(Signal.BEARING_TEMP).value)
    model.inject(Fault.BEARING_WEAR, rate=0.01)  # severity 1 after 100 s
    injected_at = model.t

    temp_at = {}
    for seconds in (30, 100, 300):
        run(model, injected_at + seconds - model.t, Signal.BEARING_TEMP)
        temp_at[seconds] = float(model.reading(Signal.BEARING_TEMP).value)
    late_vibration = statistics.fmean(run(model, 5.0, Signal.VIBRATION))

    assert model.wear == pytest.approx(2.0)  # capped
    assert late_vibration > base_vibration + 8.0
    assert base_temp < temp_at[30] < temp_at[100] < temp_at[300]
    assert temp_at[300] > base_temp + 30.0
    # First order: the temperature lags the wear, it does not jump.
    assert temp_at[30] < base_temp + 10.0


def test_trip_stops_the_pump_until_reset() -> None:
    model = PumpLineModel(1)
    model.set_trip(True)
    model.step(DT)
    assert model.reading(Signal.RUNNING).value is False
    assert model.reading(Signal.VFD_FAULT).value is True
    torque = run(model, 12.0, Signal.VFD_TORQUE)
    assert model.speed == 0.0
    assert min(torque) < 0.0  # braking the last hertz: the drive regenerates
    assert model.reading(Signal.MOTOR_CURRENT).value == 0.0
    assert float(model.reading(Signal.FLOW).value) < 1.0

    run(model, 5.0, Signal.FLOW)
    assert model.speed == 0.0, "a latched trip keeps the pump stopped"

    model.set_trip(False)
    run(model, 11.0, Signal.FLOW)
    assert model.speed == 50.0
    assert model.reading(Signal.RUNNING).value is True
    assert model.reading(Signal.VFD_FAULT).value is False


def test_run_command_off_stops_the_drive() -> None:
    model = PumpLineModel(1)
    model.set_run_command(False)
    run(model, 11.0, Signal.FLOW)
    assert model.speed == 0.0
    assert model.reading(Signal.VFD_RUNNING).value is False


def test_stuck_sensor_freezes_while_others_move() -> None:
    model = PumpLineModel(1)
    model.step(DT)
    frozen = model.reading(Signal.VIBRATION).value
    model.inject(Fault.SENSOR_STUCK, signal=Signal.VIBRATION)
    vibration = run(model, 2.0, Signal.VIBRATION)
    flow = run(model, 2.0, Signal.FLOW)
    assert set(vibration) == {frozen}
    assert model.reading(Signal.VIBRATION).good
    assert len(set(flow)) > 1

    model.clear(Fault.SENSOR_STUCK, Signal.VIBRATION)
    assert len(set(run(model, 1.0, Signal.VIBRATION))) > 1


def test_dropout_reports_bad_quality_with_a_frozen_value() -> None:
    model = PumpLineModel(1)
    frozen = model.reading(Signal.FLOW).value
    model.inject(Fault.SENSOR_DROPOUT, signal=Signal.FLOW)
    run(model, 1.0, Signal.FLOW)
    reading = model.reading(Signal.FLOW)
    assert (reading.value, reading.good) == (frozen, False)
    model.clear(Fault.SENSOR_DROPOUT)
    model.step(DT)
    assert model.reading(Signal.FLOW).good


def test_cavitation_drops_flow_and_makes_it_noisy() -> None:
    healthy = PumpLineModel(1)
    sick = PumpLineModel(1)
    sick.inject(Fault.CAVITATION, severity=0.8)
    healthy_flow = run(healthy, 20.0, Signal.FLOW)
    sick_flow = run(sick, 20.0, Signal.FLOW)
    assert statistics.fmean(sick_flow) < statistics.fmean(healthy_flow) - 8.0
    assert statistics.stdev(sick_flow) > 5 * statistics.stdev(healthy_flow)
    assert max(run(sick, 20.0, Signal.VIBRATION)) > 6.0


def test_override_forces_a_value_until_release() -> None:
    model = PumpLineModel(1)
    assert model.override(Signal.VIBRATION, 9) == 9.0
    assert model.override(Signal.RUNNING, 0) is False
    assert set(run(model, 1.0, Signal.VIBRATION)) == {9.0}
    model.release(Signal.VIBRATION)
    model.step(DT)
    assert model.reading(Signal.VIBRATION).value != 9.0


def test_synthetic_signals_are_slow_sines_around_50() -> None:
    model = PumpLineModel(1, extra_tags=3)
    assert model.synth_signals == ("Synth.0000", "Synth.0001", "Synth.0002")
    values = run(model, 60.0, "Synth.0001")
    assert 35.0 < min(values) < max(values) < 65.0
    assert max(values) - min(values) > 5.0


def test_bad_requests_raise_typed_errors() -> None:
    model = PumpLineModel(1)
    with pytest.raises(UnknownSignal, match=r"P101\.Vibraton"):
        model.inject(Fault.SENSOR_STUCK, signal="P101.Vibraton")
    with pytest.raises(UnknownSignal, match="command"):
        model.override(Signal.SPEED_SETPOINT, 10.0)
    with pytest.raises(UnknownFault, match="leak"):
        model.inject("leak")
    with pytest.raises(InvalidFault, match="rate"):
        model.inject(Fault.BEARING_WEAR)
    with pytest.raises(InvalidFault, match="severity"):
        model.cavitation(3.0)
