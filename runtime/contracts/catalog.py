"""Specs of the built-in node types: pure data; implementations are named, not imported.

Kept in contracts so the registry, the validator, the docs and the HMI read the catalogue
without importing a node implementation (or the engine they run in).
"""

from __future__ import annotations

from runtime.contracts.nodespec import NodeSpec, ParamRule, ParamSpec, PortSpec

_IN_NUMBER = (PortSpec("in", "number", "Value"),)
_IN_BOOL = (PortSpec("in", "bool", "Condition"),)
_OUT_NUMBER = (PortSpec("out", "number", "Value"),)
_OUT_BOOL = (PortSpec("out", "bool", "State"),)
_JOIN_BOOL = tuple(PortSpec(p, "bool", p.upper()) for p in ("a", "b", "c", "d"))
_PRIORITIES = ("low", "medium", "high", "critical")

BUILTIN_SPECS: tuple[NodeSpec, ...] = (
    NodeSpec(
        type="source.tag", title="Tag", category="sources", icon="tag",
        implementation="runtime.nodes.sources:TagSource", role="source",
        description="Samples of one tag enter the flow here.",
        outputs=(PortSpec("out", "any", "Value"),),
        params=(ParamSpec("tag", "tag", required=True, title="Tag"),),
        legacy_ids=("tag",),
    ),
    NodeSpec(
        type="math.scale", title="Scale", category="math", icon="scale",
        implementation="runtime.nodes.math:Scale",
        description="Maps a value linearly from one range to another.",
        inputs=_IN_NUMBER, outputs=_OUT_NUMBER,
        params=(
            ParamSpec("in_min", default=0.0, title="Input min"),
            ParamSpec("in_max", default=1.0, title="Input max"),
            ParamSpec("out_min", default=0.0, title="Output min"),
            ParamSpec("out_max", default=100.0, title="Output max"),
            ParamSpec("clamp", "bool", default=False, title="Clamp to output range"),
        ),
        rules=(ParamRule("in_min", "<", "in_max", "input min must be below input max"),),
    ),
    NodeSpec(
        type="math.window", title="Rolling statistic", category="math", icon="window",
        implementation="runtime.nodes.math:Window",
        description="Mean, standard deviation, RMS, min or max over a rolling window.",
        inputs=_IN_NUMBER, outputs=_OUT_NUMBER,
        params=(
            ParamSpec("stat", "enum", default="mean", choices=("mean", "std", "rms", "min",
                                                               "max"), title="Statistic"),
            ParamSpec("samples", "integer", default=10, min=1, max=100_000, tunable=True,
                      title="Window (samples)"),
            ParamSpec("seconds", default=0.0, min=0.0, max=86_400.0, unit="s", tunable=True,
                      title="Window (time, 0 = by samples only)"),
        ),
    ),
    NodeSpec(
        type="math.rate", title="Rate of change", category="math", icon="rate",
        implementation="runtime.nodes.math:RateOfChange",
        description="Change between consecutive samples, per second or per minute.",
        inputs=_IN_NUMBER, outputs=_OUT_NUMBER,
        params=(ParamSpec("per", "enum", default="second", choices=("second", "minute"),
                          title="Per"),),
    ),
    NodeSpec(
        type="math.expression", title="Expression", category="math", icon="function",
        implementation="runtime.nodes.math:Expression",
        description="Arithmetic, comparison and logic over inputs a, b, c, d.",
        inputs=tuple(PortSpec(p, "any", p) for p in ("a", "b", "c", "d")),
        outputs=(PortSpec("out", "any", "Result"),),
        params=(ParamSpec("expression", "expression", default="a", required=True,
                          title="Expression"),),
    ),
    NodeSpec(
        type="logic.compare", title="Compare", category="logic", icon="compare",
        implementation="runtime.nodes.logic:Compare",
        description="True where the value compares to the threshold.",
        inputs=_IN_NUMBER, outputs=_OUT_BOOL,
        params=(
            ParamSpec("op", "enum", default=">", choices=(">", ">=", "<", "<=", "==", "!="),
                      title="Operator"),
            ParamSpec("threshold", default=0.0, tunable=True, title="Threshold"),
        ),
    ),
    NodeSpec(
        type="logic.hysteresis", title="Hysteresis", category="logic", icon="hysteresis",
        implementation="runtime.nodes.logic:Hysteresis",
        description="On above one level, off below a lower one: no chatter near a limit.",
        inputs=_IN_NUMBER, outputs=_OUT_BOOL,
        params=(
            ParamSpec("on_above", default=80.0, tunable=True, title="On above"),
            ParamSpec("off_below", default=70.0, tunable=True, title="Off below"),
        ),
        rules=(ParamRule("off_below", "<=", "on_above",
                         "'off below' must not be above 'on above'"),),
    ),
    NodeSpec(
        type="logic.debounce", title="Persistence", category="logic", icon="timer",
        implementation="runtime.nodes.logic:Debounce",
        description="Passes a change only after it held for a delay.",
        inputs=_IN_BOOL, outputs=_OUT_BOOL,
        params=(
            ParamSpec("on_delay_s", default=5.0, min=0.0, max=86_400.0, unit="s",
                      tunable=True, title="Delay to turn on"),
            ParamSpec("off_delay_s", default=0.0, min=0.0, max=86_400.0, unit="s",
                      tunable=True, title="Delay to turn off"),
        ),
        legacy_ids=("logic.persistence",),
    ),
    NodeSpec(
        type="logic.and", title="And", category="logic", icon="and",
        implementation="runtime.nodes.logic:And",
        description="True when every wired input is true.",
        inputs=_JOIN_BOOL, outputs=_OUT_BOOL,
    ),
    NodeSpec(
        type="logic.or", title="Or", category="logic", icon="or",
        implementation="runtime.nodes.logic:Or",
        description="True when any wired input is true.",
        inputs=_JOIN_BOOL, outputs=_OUT_BOOL,
    ),
    NodeSpec(
        type="logic.not", title="Not", category="logic", icon="not",
        implementation="runtime.nodes.logic:Not",
        description="The inverse of the input.",
        inputs=_IN_BOOL, outputs=_OUT_BOOL,
    ),
    NodeSpec(
        type="logic.latch", title="Latch", category="logic", icon="latch",
        implementation="runtime.nodes.logic:Latch",
        description="Stays on after a set until a reset.",
        inputs=(PortSpec("set", "bool", "Set"), PortSpec("reset", "bool", "Reset")),
        outputs=_OUT_BOOL,
    ),
    NodeSpec(
        type="ai.onnx", title="ONNX model", category="ai", icon="model",
        implementation="runtime.nodes.ai:OnnxModel", role="model",
        description=("Scores features of several tags with a registered ONNX model every "
                     "period (anomaly, health, quality); rows are batched per model."),
        outputs=(PortSpec("score", "number", "Score"),),
        params=(
            ParamSpec("model", "model", required=True, title="Model (id@version)"),
            ParamSpec("features", "features", required=True,
                      title="Features (in the model's order)"),
            ParamSpec("output", "string", default="score", title="Model output"),
            ParamSpec("period_s", default=1.0, min=0.01, max=3600.0, unit="s",
                      title="Score every"),
        ),
    ),
    NodeSpec(
        type="ai.baseline", title="Baseline anomaly score", category="ai", icon="baseline",
        implementation="runtime.nodes.ai:Baseline", role="model",
        description=("Largest |z-score| of the features against a mean and standard "
                     "deviation learned at the start: anomaly detection without a model."),
        outputs=(PortSpec("score", "number", "Score"),),
        params=(
            ParamSpec("features", "features", required=True, title="Features"),
            ParamSpec("learn_s", default=600.0, min=1.0, max=30 * 86_400.0, unit="s",
                      title="Learn during"),
            ParamSpec("period_s", default=1.0, min=0.01, max=3600.0, unit="s",
                      title="Score every"),
        ),
    ),
    NodeSpec(
        type="alarm", title="Alarm", category="alarms", icon="alarm",
        implementation="runtime.nodes.alarms:Alarm", role="alarm",
        description="Raises an alarm while the input is true; clears it when false.",
        inputs=_IN_BOOL, outputs=(PortSpec("active", "bool", "Active"),),
        params=(
            ParamSpec("alarm_id", "string", default="", title="Alarm id"),
            ParamSpec("message", "string", default="", required=True, title="Message"),
            ParamSpec("priority", "enum", default="medium", choices=_PRIORITIES,
                      title="Priority"),
        ),
    ),
    NodeSpec(
        type="action.write", title="Write tag", category="actions", icon="write",
        implementation="runtime.nodes.actions:WriteTag", role="action",
        description=("Writes the input (or, when 'write on true' is set, that value whenever "
                     "the input is true) to a tag, only inside its envelope and in automatic."),
        inputs=_IN_NUMBER,
        params=(
            ParamSpec("tag", "writable_tag", required=True, title="Tag"),
            ParamSpec("on_true", default=None, tunable=True, title="Write on true"),
            ParamSpec("min_change", default=0.0, min=0.0, title="Minimum change to rewrite"),
        ),
    ),
    NodeSpec(
        type="action.line_mode", title="Set line mode", category="actions", icon="mode",
        implementation="runtime.nodes.actions:SetLineMode", role="action",
        description="Switches the line to a mode when the input turns true.",
        inputs=_IN_BOOL,
        params=(ParamSpec("mode", "enum", default="manual", choices=("manual", "automatic"),
                          title="Mode"),),
    ),
)
