"""Train the demo anomaly model of pump P-101 and write pump_health-1.onnx, its sidecar
pump_health-1.json and MODEL_CARD.md beside this script.

    python resources/models/train_pump_health.py          # regenerate the three files
    python resources/models/train_pump_health.py --check  # recompute, compare, write nothing

The model learns what HEALTHY operation looks like and scores how far a row of features is
from it. Training data comes from the simulator's pure physics (runtime.sim.model), never
from a fault: the pump runs for a few simulated hours at setpoints across its normal
operating range (35-50 Hz), speed changes included, stepped every 0.25 s.

Features are computed exactly as the runtime's model node computes them, on a 1 s grid:
at grid time g, "last" is the latest sample with ts < g and "rms" is the root mean square
of the samples with g - 10 s <= ts < g. In this order and these units:

    vibration_rms       mm/s  RMS of P101.Vibration over the last 10 s
    bearing_temp        °C    last P101.BearingTemp
    motor_current       A     last P101.MotorCurrent
    flow                m³/h  last P101.Flow
    discharge_pressure  bar   last P101.DischargePressure

The model is a PCA reconstruction error: standardize with the training mean and standard
deviation, project onto the k principal components that explain 99 % of the variance, and
score the mean squared standardized residual, divided by its healthy 99th percentile (so a
healthy row scores about 1 or less). The ONNX graph is written with onnx.helper from plain
Sub/Mul/MatMul/ReduceMean ops; `reference_score` is the same math in numpy, float64.

Then the script checks what the model is for: bearing wear (PumpLineModel.inject
("bearing_wear", rate=...)) must raise the score above the suggested threshold well before
the fixed rules of the demo project fire (vibration RMS > 4.5 mm/s, bearing temperature
> 70 °C); the lead times are written to the sidecar and the model card.

Everything is seeded: rerunning writes the same bytes (with the same numpy and BLAS; at the
least the same numbers).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtime.sim.model import PumpLineModel, Signal

HERE = Path(__file__).resolve().parent
MODEL_ID = "pump_health"
MODEL_VERSION = 1
INPUT_NAME = "features"
OUTPUT_NAME = "score"
FEATURES = ("vibration_rms", "bearing_temp", "motor_current", "flow", "discharge_pressure")
UNITS = ("mm/s", "°C", "A", "m³/h", "bar")
SIGNALS = (Signal.VIBRATION, Signal.BEARING_TEMP, Signal.MOTOR_CURRENT, Signal.FLOW,
           Signal.DISCHARGE_PRESSURE)
STATS = ("rms", "last", "last", "last", "last")
DESCRIPTION = ("Pump P-101 health: PCA reconstruction error of five process features against "
               "healthy operation at 35-50 Hz; about 1 or less when healthy, rises with "
               "bearing wear long before the fixed vibration and temperature limits.")

SEED = 101
DT_S = 0.25
GRID_S = 1.0
WINDOW_S = 10.0
TRAIN_HOURS = 3.0
VALIDATION_SEEDS = (202, 303)
VALIDATION_HOURS = 2.0
SPEED_RANGE_HZ = (35.0, 50.0)
HOLD_RANGE_S = (120.0, 600.0)
VARIANCE = 0.99
THRESHOLD_MARGIN = 1.25

WEAR_SEED = 404
WEAR_RATES = (1e-3, 2e-4, 5e-5)  # severity per second: 1.0 after ~17 min, ~83 min, ~5.6 h
WEAR_START_S = 600.0
WEAR_UNTIL = 1.5  # run each wear case until the severity reaches this
VIBRATION_LIMIT = 4.5  # mm/s, the demo project's P-101 vibration RMS rule
TEMPERATURE_LIMIT = 70.0  # °C, the demo project's P-101 bearing temperature rule

KNOWN_LIMITS = (
    "Valid only while P-101 runs between 35 and 50 Hz: a stopped pump, start-up and "
    "run-down, or speeds outside that range score high (gate the model on P101.Running and "
    "the speed).",
    "A speed change raises the score for up to about a minute (bearing temperature lags "
    "speed with a 15 s time constant, current jumps while the drive ramps); the suggested "
    "threshold sits above the largest healthy score seen with full-range speed steps, so no "
    "debounce is needed for that, but a lower threshold would need one.",
    "Trained on simulated data from one pump model (runtime.sim); a real pump needs "
    "retraining on its own healthy history.",
    "Detects departures from healthy operation, not their cause: bearing wear, cavitation "
    "and a stuck or drifting sensor all raise the score (a stuck sensor only as the process "
    "moves away from the frozen value, and maybe not above the threshold).",
    "Feature definitions must match exactly (10 s RMS window, last value strictly before "
    "the grid time, units as listed); bad-quality inputs must not be scored.",
)


# --- data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recording:
    """The five source signals as sampled: ts (n,) in seconds, values (n, 5) in SIGNALS order."""

    ts: np.ndarray
    values: np.ndarray
    wear: np.ndarray


def speed_schedule(seed: int, duration_s: float) -> list[tuple[float, float]]:
    """(time, setpoint) changes: random setpoints in SPEED_RANGE_HZ held 2-10 min each."""
    rng = np.random.default_rng(seed)
    changes, t = [], float(rng.uniform(*HOLD_RANGE_S))
    while t < duration_s:
        changes.append((t, round(float(rng.uniform(*SPEED_RANGE_HZ)), 1)))
        t += float(rng.uniform(*HOLD_RANGE_S))
    return changes


def full_range_steps(duration_s: float, hold_s: float = 180.0) -> list[tuple[float, float]]:
    """The harshest healthy schedule: 35 Hz and 50 Hz alternating every `hold_s`."""
    n = int(duration_s // hold_s)
    return [(hold_s * (i + 1), SPEED_RANGE_HZ[i % 2]) for i in range(n)]


def simulate(seed: int, duration_s: float, schedule: Sequence[tuple[float, float]] = (),
             start_hz: float = 50.0, wear_rate: float | None = None,
             wear_start_s: float = 0.0) -> Recording:
    """Step the pump physics for duration_s at DT_S; setpoint changes as scheduled.

    The model starts in steady state at 50 Hz; a different start_hz is set at t=0 and the
    first two minutes are simulated beforehand (and dropped) so the run starts settled.
    """
    model = PumpLineModel(seed)
    if start_hz != 50.0:
        model.set_speed_setpoint(start_hz)
        for _ in range(int(120.0 / DT_S)):
            model.step(DT_S)
    t0 = model.t
    n = round(duration_s / DT_S)
    ts = np.empty(n + 1)
    values = np.empty((n + 1, len(SIGNALS)))
    wear = np.empty(n + 1)
    ts[0], wear[0] = 0.0, model.wear
    values[0] = [model.reading(s).value for s in SIGNALS]
    pending = list(schedule)
    wearing = False
    for i in range(1, n + 1):
        t = (i - 1) * DT_S
        while pending and pending[0][0] <= t:
            model.set_speed_setpoint(pending.pop(0)[1])
        if wear_rate is not None and not wearing and t >= wear_start_s:
            model.inject("bearing_wear", rate=wear_rate)
            wearing = True
        model.step(DT_S)
        ts[i] = model.t - t0
        wear[i] = model.wear
        values[i] = [model.reading(s).value for s in SIGNALS]
    return Recording(ts, values, wear)


def grid_features(ts: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Feature rows (len(grid), 5) at the grid times, as the runtime's model node computes them.

    vibration_rms: sqrt(mean(v²)) over samples with g - WINDOW_S <= ts < g; the others: the
    latest sample with ts < g. Every grid time needs at least one sample in its window.
    """
    hi = np.searchsorted(ts, grid, side="left")  # samples [0, hi) have ts < g
    lo = np.searchsorted(ts, grid - WINDOW_S, side="left")  # samples [lo, ...) have ts >= g-10
    if np.any(hi - lo < 1):
        raise ValueError("a grid time has no sample in its window")
    squares = np.concatenate(([0.0], np.cumsum(values[:, 0] ** 2)))
    rms = np.sqrt((squares[hi] - squares[lo]) / (hi - lo))
    last = values[hi - 1]
    return np.column_stack([rms, last[:, 1:]])


def features_of(rec: Recording, start_s: float = WINDOW_S) -> tuple[np.ndarray, np.ndarray]:
    """(grid, rows): feature rows every GRID_S from start_s to the end of the recording."""
    grid = np.arange(start_s, rec.ts[-1] + 1e-9, GRID_S)
    return grid, grid_features(rec.ts, rec.values, grid)


# --- the model -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PcaModel:
    """Standardize, project onto `components` (5, k), score the mean squared residual / scale.

    Every parameter is held at float32 precision (as exported), in float64 arrays.
    """

    mean: np.ndarray
    inv_std: np.ndarray
    components: np.ndarray
    inv_scale: float
    explained: tuple[float, ...]

    @property
    def k(self) -> int:
        """Number of principal components kept."""
        return int(self.components.shape[1])


def _f32(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def raw_score(mean: np.ndarray, inv_std: np.ndarray, components: np.ndarray,
              rows: np.ndarray) -> np.ndarray:
    """Mean squared standardized reconstruction error of each row (float64)."""
    z = (np.asarray(rows, dtype=np.float64) - mean) * inv_std
    residual = z - (z @ components) @ components.T
    return np.mean(residual * residual, axis=1)


def reference_score(model: PcaModel, rows: np.ndarray) -> np.ndarray:
    """The model's score in float64 numpy: what the ONNX graph computes in float32."""
    return raw_score(model.mean, model.inv_std, model.components, rows) * model.inv_scale


def fit(rows: np.ndarray, variance: float = VARIANCE) -> PcaModel:
    """Fit the PCA on healthy rows; the score is normalized so its 99th percentile is 1."""
    mean = rows.mean(axis=0)
    std = rows.std(axis=0)
    z = (rows - mean) / std
    _, s, vt = np.linalg.svd(z, full_matrices=False)
    explained = s**2 / np.sum(s**2)
    k = int(np.searchsorted(np.cumsum(explained), variance) + 1)
    components = vt[:k].T.copy()
    # A component's sign is arbitrary: make its largest entry positive, for stable files.
    signs = np.sign(components[np.argmax(np.abs(components), axis=0), range(k)])
    components *= signs
    mean, inv_std, components = _f32(mean), _f32(1.0 / std), _f32(components)
    p99 = float(np.percentile(raw_score(mean, inv_std, components, rows), 99))
    inv_scale = float(_f32(np.array(1.0 / p99)))
    return PcaModel(mean, inv_std, components, inv_scale,
                    tuple(round(float(e), 6) for e in explained))


def to_onnx(model: PcaModel) -> bytes:
    """The model as an ONNX graph (opset 17): features float32 [N, 5] -> score float32 [N]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def const(name: str, value: np.ndarray) -> onnx.TensorProto:
        return numpy_helper.from_array(np.asarray(value, dtype=np.float32), name)

    width = len(FEATURES)
    nodes = [
        helper.make_node("Sub", [INPUT_NAME, "mean"], ["centred"]),
        helper.make_node("Mul", ["centred", "inv_std"], ["z"]),
        helper.make_node("MatMul", ["z", "components"], ["projected"]),
        helper.make_node("MatMul", ["projected", "components_t"], ["reconstructed"]),
        helper.make_node("Sub", ["z", "reconstructed"], ["residual"]),
        helper.make_node("Mul", ["residual", "residual"], ["squared"]),
        helper.make_node("ReduceMean", ["squared"], ["mse"], axes=[1], keepdims=0),
        helper.make_node("Mul", ["mse", "inv_scale"], [OUTPUT_NAME]),
    ]
    graph = helper.make_graph(
        nodes, MODEL_ID,
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", width])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["N"])],
        [const("mean", model.mean), const("inv_std", model.inv_std),
         const("components", model.components), const("components_t", model.components.T),
         const("inv_scale", np.array(model.inv_scale))],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="lineside train_pump_health",
                              producer_version=str(MODEL_VERSION), model_version=MODEL_VERSION,
                              doc_string=DESCRIPTION)
    proto.ir_version = 8
    onnx.checker.check_model(proto, full_check=True)
    return proto.SerializeToString(deterministic=True)


# --- evaluation ------------------------------------------------------------------------------


def _percentiles(scores: np.ndarray) -> dict[str, float]:
    return {"p50": _round(np.percentile(scores, 50)), "p99": _round(np.percentile(scores, 99)),
            "p999": _round(np.percentile(scores, 99.9)), "max": _round(np.max(scores))}


def _round(x: float, digits: int = 4) -> float:
    """x to `digits` significant digits (stable, readable numbers in the sidecar)."""
    x = float(x)
    if x == 0.0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def _first(grid: np.ndarray, mask: np.ndarray, after: float) -> float | None:
    hits = np.flatnonzero(mask & (grid >= after))
    return None if len(hits) == 0 else float(grid[hits[0]])


def lead_time(model: PcaModel, threshold: float, rate: float, profile: str) -> dict[str, object]:
    """When the score, the vibration rule and the temperature rule first fire after wear starts.

    profile "50 Hz" holds the nominal speed (the best case for the fixed rules); "35-50 Hz"
    changes the setpoint as in training. Times are seconds after the wear started.
    """
    duration = WEAR_START_S + WEAR_UNTIL / rate
    schedule = speed_schedule(WEAR_SEED, duration) if profile == "35-50 Hz" else []
    rec = simulate(WEAR_SEED, duration, schedule, wear_rate=rate, wear_start_s=WEAR_START_S)
    grid, rows = features_of(rec)
    scores = reference_score(model, rows)
    before = scores[grid < WEAR_START_S]
    times = {
        "model": _first(grid, scores > threshold, WEAR_START_S),
        "vibration": _first(grid, rows[:, 0] > VIBRATION_LIMIT, WEAR_START_S),
        "temperature": _first(grid, rows[:, 1] > TEMPERATURE_LIMIT, WEAR_START_S),
    }

    def wear_at(t: float | None) -> float | None:
        return None if t is None else _round(rec.wear[np.searchsorted(rec.ts, t) - 1], 3)

    def after_start(t: float | None) -> float | None:
        return None if t is None else t - WEAR_START_S

    fixed = [t for t in (times["vibration"], times["temperature"]) if t is not None]
    lead = None if times["model"] is None or not fixed else min(fixed) - times["model"]
    return {
        "rate_per_s": rate,
        "profile": profile,
        "max_score_before_wear": _round(before.max()),
        "model_s": after_start(times["model"]),
        "model_wear": wear_at(times["model"]),
        "vibration_s": after_start(times["vibration"]),
        "vibration_wear": wear_at(times["vibration"]),
        "temperature_s": after_start(times["temperature"]),
        "temperature_wear": wear_at(times["temperature"]),
        "lead_s": lead,
    }


# --- the files -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trained:
    """Everything the script produces: the model, its ONNX bytes and the sidecar."""

    model: PcaModel
    onnx_bytes: bytes
    sidecar: dict[str, object]


def train() -> Trained:
    """Simulate, fit, evaluate; deterministic for the module's seeds."""
    duration = TRAIN_HOURS * 3600.0
    # Start with the full-range steps so the harshest healthy transients are in training too.
    steps = full_range_steps(1200.0)
    schedule = steps + [(t + 1200.0, hz) for t, hz in speed_schedule(SEED, duration - 1200.0)]
    rec = simulate(SEED, duration, schedule)
    _, rows = features_of(rec)
    model = fit(rows)
    train_scores = reference_score(model, rows)

    validation_scores = []
    for seed in VALIDATION_SEEDS:
        hours = VALIDATION_HOURS * 3600.0
        _, vrows = features_of(simulate(seed, hours, speed_schedule(seed + 1, hours)))
        validation_scores.append(reference_score(model, vrows))
    _, srows = features_of(simulate(VALIDATION_SEEDS[0] + 7, 3600.0, full_range_steps(3600.0),
                                    start_hz=35.0))
    step_scores = reference_score(model, srows)
    healthy = np.concatenate([*validation_scores, step_scores])
    threshold = float(math.ceil(THRESHOLD_MARGIN * healthy.max()))

    leads = [lead_time(model, threshold, rate, profile)
             for rate in WEAR_RATES for profile in ("50 Hz", "35-50 Hz")]
    onnx_bytes = to_onnx(model)
    sidecar: dict[str, object] = {
        "id": MODEL_ID,
        "version": MODEL_VERSION,
        "sha256": hashlib.sha256(onnx_bytes).hexdigest(),
        "input_name": INPUT_NAME,
        "features": list(FEATURES),
        "units": list(UNITS),
        "outputs": [OUTPUT_NAME],
        "description": DESCRIPTION,
        "feature_definitions": [
            {"name": name, "unit": unit, "signal": signal, "stat": stat,
             **({"window_s": WINDOW_S} if stat == "rms" else {})}
            for name, unit, signal, stat in zip(FEATURES, UNITS, SIGNALS, STATS, strict=True)
        ],
        "grid_s": GRID_S,
        "feature_rule": ("at grid time g: last = latest sample with ts < g; rms = root mean "
                         "square of the samples with g - window_s <= ts < g"),
        "score": {
            "meaning": "mean squared standardized PCA reconstruction error / its healthy p99",
            "healthy_p50": _round(np.percentile(train_scores, 50)),
            "healthy_p99": _round(np.percentile(train_scores, 99)),
            "healthy_max": _round(train_scores.max()),
            "validation": _percentiles(healthy),
            "suggested_threshold": threshold,
            "threshold_rule": f"ceil({THRESHOLD_MARGIN} x the largest healthy validation score)",
            "validation_rows_above_threshold": int(np.sum(healthy > threshold)),
        },
        "training": {
            "seed": SEED,
            "samples": len(rec.ts),
            "rows": len(rows),
            "simulated_hours": TRAIN_HOURS,
            "sample_period_s": DT_S,
            "data": (f"healthy P-101 from runtime.sim.model.PumpLineModel(seed={SEED}), "
                     f"stepped every {DT_S} s for {TRAIN_HOURS:g} simulated hours: 35/50 Hz "
                     "full-range steps every 3 min for the first 20 min, then setpoints drawn "
                     "uniformly from 35-50 Hz held 2-10 min each; no faults"),
            "validation": (f"healthy runs with seeds {list(VALIDATION_SEEDS)} "
                           f"({VALIDATION_HOURS:g} h each, other setpoint schedules) and 1 h of "
                           "35/50 Hz full-range steps every 3 min"),
            "validation_rows": len(healthy),
            "components": model.k,
            "explained_variance": list(model.explained),
            "variance_kept": VARIANCE,
        },
        "lead_times": {
            "rules": {"vibration_rms_above_mm_s": VIBRATION_LIMIT,
                      "bearing_temp_above_c": TEMPERATURE_LIMIT},
            "wear_starts_after_s": WEAR_START_S,
            "seed": WEAR_SEED,
            "cases": leads,
        },
        "known_limits": list(KNOWN_LIMITS),
    }
    return Trained(model, onnx_bytes, sidecar)


def _minutes(seconds: object) -> str:
    if seconds is None:
        return "never"
    return f"{float(seconds) / 60.0:.1f} min"  # type: ignore[arg-type]


def model_card(sidecar: dict[str, object]) -> str:
    """MODEL_CARD.md for the sidecar's numbers."""
    score = sidecar["score"]
    training = sidecar["training"]
    leads = sidecar["lead_times"]
    assert isinstance(score, dict) and isinstance(training, dict) and isinstance(leads, dict)
    validation = score["validation"]
    lines = [
        f"# Model card: {MODEL_ID}@{MODEL_VERSION} (pump P-101 health)",
        "",
        "Generated by `python resources/models/train_pump_health.py`; do not edit by hand.",
        "",
        DESCRIPTION,
        "",
        "## Inputs",
        "",
        f"One float32 input `{INPUT_NAME}` of shape (rows, 5), one row per grid time "
        f"(every {GRID_S:g} s), the features in this order and these units:",
        "",
        "| # | feature | unit | from | how |",
        "| --- | --- | --- | --- | --- |",
    ]
    for i, (name, unit, signal, stat) in enumerate(zip(FEATURES, UNITS, SIGNALS, STATS,
                                                        strict=True)):
        how = (f"RMS of the samples with g - {WINDOW_S:g} s <= ts < g" if stat == "rms"
               else "latest sample with ts < g")
        lines.append(f"| {i} | `{name}` | {unit} | {signal} | {how} |")
    lines += [
        "",
        "g is the grid time. Rows with a bad-quality or missing input must not be scored.",
        "",
        "## Output",
        "",
        f"`{OUTPUT_NAME}`, float32 (rows,): {score['meaning']}. 0 is a perfect fit to healthy "
        "operation; higher is further from it.",
        "",
        "## Training data",
        "",
        f"{training['data']}. {training['samples']} samples per signal, {training['rows']} "
        f"feature rows. PCA keeps {training['components']} components "
        f"({training['variance_kept']:.0%} of the variance; explained variance per component: "
        f"{', '.join(f'{e:.4f}' for e in training['explained_variance'])}).",
        "",
        f"Validation: {training['validation']}; {training['validation_rows']} rows.",
        "",
        "## Expected score range",
        "",
        "| healthy data | p50 | p99 | p99.9 | max |",
        "| --- | --- | --- | --- | --- |",
        f"| training | {score['healthy_p50']} | {score['healthy_p99']} | - | "
        f"{score['healthy_max']} |",
        f"| validation | {validation['p50']} | {validation['p99']} | {validation['p999']} | "
        f"{validation['max']} |",
        "",
        "In steady running the score stays near the p50; the p99 and the maximum come from "
        "speed changes.",
        "",
        "## Suggested threshold",
        "",
        f"**score > {score['suggested_threshold']:g}** ({score['threshold_rule']}; "
        f"{score['validation_rows_above_threshold']} healthy validation rows above it). It "
        "needs no debounce for healthy speed changes; a lower threshold catches wear sooner "
        "but then needs one (about 60 s) to ride through speed changes.",
        "",
        "## Lead time over the fixed rules (bearing wear)",
        "",
        f"Bearing wear injected after {leads['wear_starts_after_s']:g} s of healthy running "
        f"(seed {leads['seed']}); times after the wear started, with the wear severity "
        "reached (1 = bearing due for change). Fixed rules: vibration RMS > "
        f"{VIBRATION_LIMIT:g} mm/s, bearing temperature > {TEMPERATURE_LIMIT:g} °C. Lead = "
        "earliest fixed rule - model.",
        "",
        "| wear rate /s | speed | model | vibration rule | temperature rule | lead |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for case in leads["cases"]:
        lines.append(
            f"| {case['rate_per_s']:g} | {case['profile']} | {_minutes(case['model_s'])} "
            f"(wear {case['model_wear']}) | {_minutes(case['vibration_s'])} "
            f"(wear {case['vibration_wear']}) | {_minutes(case['temperature_s'])} "
            f"(wear {case['temperature_wear']}) | {_minutes(case['lead_s'])} |")
    lines += ["", "## Known limits", ""]
    lines += [f"- {limit}" for limit in KNOWN_LIMITS]
    return "\n".join(lines) + "\n"


def outputs(trained: Trained) -> dict[Path, bytes]:
    """The files to write, by path."""
    stem = f"{MODEL_ID}-{MODEL_VERSION}"
    sidecar = json.dumps(trained.sidecar, indent=2, ensure_ascii=False) + "\n"
    return {
        HERE / f"{stem}.onnx": trained.onnx_bytes,
        HERE / f"{stem}.json": sidecar.encode(),
        HERE / "MODEL_CARD.md": model_card(trained.sidecar).encode(),
    }


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, compare) the model files; exit status 1 when --check differs."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="recompute and compare with the files on disk; write nothing")
    args = parser.parse_args(argv)
    trained = train()
    differ = []
    for path, data in outputs(trained).items():
        if args.check:
            if not path.exists() or path.read_bytes() != data:
                differ.append(path.name)
        else:
            path.write_bytes(data)
    score = trained.sidecar["score"]
    assert isinstance(score, dict)
    print(f"{MODEL_ID}@{MODEL_VERSION}: k={trained.model.k} healthy p50={score['healthy_p50']} "
          f"p99={score['healthy_p99']} threshold={score['suggested_threshold']:g}")
    if differ:
        print(f"differs from the files on disk: {', '.join(differ)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
