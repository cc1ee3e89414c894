"""The shipped demo model pump_health@1: the ONNX graph computes the training script's numpy
math, healthy data scores as the model card says, and bearing wear is caught early."""

from __future__ import annotations

import json

import numpy as np
import pytest

from resources.models import train_pump_health as train
from runtime.ai import ModelSessions, builtin_models, read_model
from runtime.sim.model import Fault, PumpLineModel, Signal

# float32 graph against the float64 reference: relative 1e-4 (measured worst 3.5e-5, from the
# cancellation in z - reconstruction), absolute 1e-6 for scores near 0 (threshold: 6).
RTOL, ATOL = 1e-4, 1e-6
KEY = "pump_health@1"
SIDECAR = json.loads((train.HERE / "pump_health-1.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def trained():
    """The script's whole run (about 6 s): the model it fits and the files it would write."""
    return train.train()


@pytest.fixture
def sessions():
    with ModelSessions() as s:
        shipped = builtin_models()
        assert [m.info.key for m in shipped] == [KEY]
        s.load(shipped[0].info, shipped[0].path)
        yield s


def healthy_rows(seed: int, hours: float) -> np.ndarray:
    duration = hours * 3600.0
    rec = train.simulate(seed, duration, train.speed_schedule(seed + 1, duration))
    return train.features_of(rec)[1]


def faulty_rows() -> np.ndarray:
    """Rows from wear, cavitation and a stuck sensor, each starting from healthy running."""
    rows = []
    for fault, params in ((Fault.BEARING_WEAR, {"rate": 1e-3}), (Fault.CAVITATION,
                          {"severity": 0.6}), (Fault.SENSOR_STUCK, {"signal": Signal.FLOW})):
        model = PumpLineModel(7)
        model.set_speed_setpoint(42.0)
        ts, values = [], []
        for i in range(2400):
            if i == 800:
                model.inject(fault, **params)
            if i == 1200 and fault == Fault.SENSOR_STUCK:
                model.set_speed_setpoint(36.0)
            model.step(train.DT_S)
            ts.append(model.t)
            values.append([model.reading(s).value for s in train.SIGNALS])
        grid = np.arange(300.0, ts[-1], 1.0)
        rows.append(train.grid_features(np.array(ts), np.array(values), grid))
    return np.concatenate(rows)


def test_the_sidecar_describes_the_model_the_script_fits(trained):
    info = builtin_models()[0].info
    assert info.features == train.FEATURES
    assert info.units == ("mm/s", "°C", "A", "m³/h", "bar")
    assert (info.input_name, info.outputs) == ("features", ("score",))
    assert SIDECAR["sha256"] == info.hash
    for key in ("id", "version", "features", "units", "outputs", "training", "score",
                "known_limits"):
        assert SIDECAR[key] == trained.sidecar[key], key


def test_the_shipped_graph_is_numerically_what_the_script_makes(trained, sessions):
    rows = np.concatenate([healthy_rows(11, 0.25), faulty_rows()]).astype(np.float32)
    shipped = sessions.run(KEY, rows)["score"]
    np.testing.assert_allclose(shipped, train.reference_score(trained.model, rows),
                               rtol=RTOL, atol=ATOL)


def test_onnx_output_equals_the_numpy_reference_on_healthy_and_faulty_rows(trained,
                                                                          tmp_path):
    path = tmp_path / "fresh.onnx"
    path.write_bytes(trained.onnx_bytes)
    rows = np.concatenate([healthy_rows(12, 0.25), faulty_rows()]).astype(np.float32)
    reference = train.reference_score(trained.model, rows)
    assert reference.min() < 0.01 and reference.max() > 100  # both ends of the range
    with ModelSessions() as s:
        s.load(read_model(path, trained.sidecar), path)
        np.testing.assert_allclose(s.run(KEY, rows)["score"], reference, rtol=RTOL, atol=ATOL)


def test_healthy_scores_match_the_model_card():
    score = SIDECAR["score"]
    with ModelSessions() as s:
        s.load(builtin_models()[0].info, train.HERE / "pump_health-1.onnx")
        scores = s.run(KEY, healthy_rows(909, 1.0))["score"]
    assert score["healthy_p99"] == 1.0
    assert score["healthy_p50"] / 2 < np.percentile(scores, 50) < score["healthy_p50"] * 2
    assert np.percentile(scores, 99) < 2 * score["validation"]["p99"]
    assert scores.max() < score["suggested_threshold"]
    card = (train.HERE / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert f"**score > {score['suggested_threshold']:g}**" in card
    assert f"| training | {score['healthy_p50']} | {score['healthy_p99']} |" in card


def test_bearing_wear_is_caught_minutes_before_the_fixed_rules(trained):
    threshold = SIDECAR["score"]["suggested_threshold"]
    case = train.lead_time(trained.model, threshold, 1e-3, "50 Hz")
    assert case["max_score_before_wear"] < threshold
    assert case["model_wear"] < 0.15 < 0.4 < case["vibration_wear"]
    assert case["lead_s"] > 4 * 60
    assert SIDECAR["lead_times"]["cases"][0] == case


def test_features_are_computed_on_the_grid_from_samples_strictly_before_it():
    ts = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 10.0, 10.5, 11.0])
    values = np.column_stack([ts + 1.0, ts * 10, ts * 100, ts * 1000, ts * 10000])
    rows = train.grid_features(ts, values, np.array([2.0, 11.0]))
    # at g=2: last = the sample at 1.5 (2.0 is not before g); rms over 0 <= ts < 2
    np.testing.assert_allclose(rows[0], [np.sqrt(np.mean(np.array([1, 1.5, 2, 2.5]) ** 2)),
                                         15, 150, 1500, 15000])
    # at g=11: rms over 1 <= ts < 11 (1.0, 1.5, 2.0, 10.0, 10.5 -> values +1)
    np.testing.assert_allclose(rows[1], [np.sqrt(np.mean(np.array([2, 2.5, 3, 11, 11.5]) ** 2)),
                                         105, 1050, 10500, 105000])
    with pytest.raises(ValueError, match="no sample"):
        train.grid_features(ts, values, np.array([25.0]))
