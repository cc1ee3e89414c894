"""Worst-case cost of the expression language: every expression evaluates within 1 ms.

Over COUNT random expressions from bench/random_expressions.py (seeded) and all of its
adversarial cases (`a ** 9**9**9`, `9**9**9**9`, long chains, deep nesting, ...), each one
that validates is evaluated at least three times (ctx.repeats if more) on one set of random
inputs; an expression's time is its best evaluation, failures included, and
`expression.eval_worst_ms` is the worst of those (goal ≤ 1 ms). Also reported: the median
of those times, the worst validation (best of the same repeats) and how many expressions
were evaluated. Anything other than the language's typed errors fails the run.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from typing import TypeVar

from bench.harness import Context, Metric, WrongResults, pinned_to_cpu
from bench.random_expressions import ADVERSARIAL, NAMES, random_expression, random_inputs
from runtime.contracts.errors import EvaluationError, ExpressionError
from runtime.contracts.expression import Expression, compile_expression

NAME = "expression"
METRICS = (
    Metric("expression.eval_worst_ms", "ms", at_most=1.0),
    Metric("expression.eval_p50_us", "µs"),
    Metric("expression.compile_worst_ms", "ms"),
    Metric("expression.evaluated", "expressions"),
)
RATIOS = ()

COUNT = 3000
SEED = 20240611
MIN_VALIDATED = 0.25  # below this share the generator no longer exercises evaluation
ALLOWED = frozenset(NAMES)
T = TypeVar("T")


def run(ctx: Context) -> dict[str, float]:
    """Measure COUNT random expressions and the adversarial ones."""
    return measure(ctx, COUNT)


def measure(ctx: Context, count: int) -> dict[str, float]:
    """The metrics over `count` random expressions plus the adversarial ones."""
    rng = random.Random(SEED)
    texts = [*ADVERSARIAL, *(random_expression(rng) for _ in range(count))]
    repeats = max(3, ctx.repeats)
    eval_times: list[float] = []
    compile_worst = 0.0
    with pinned_to_cpu(ctx.cpu):
        for text in texts:
            compiled, seconds = best_time(repeats, lambda t=text: _compile(t))
            compile_worst = max(compile_worst, seconds)
            if compiled is not None:
                env = random_inputs(rng)
                _, seconds = best_time(repeats, lambda e=compiled, v=env: _evaluate(e, v))
                eval_times.append(seconds)
    if len(eval_times) < MIN_VALIDATED * len(texts):
        raise WrongResults(f"expression: only {len(eval_times)} of {len(texts)} expressions "
                           "validated; the generator no longer exercises evaluation")
    return {
        "expression.eval_worst_ms": max(eval_times) * 1e3,
        "expression.eval_p50_us": statistics.median(eval_times) * 1e6,
        "expression.compile_worst_ms": compile_worst * 1e3,
        "expression.evaluated": float(len(eval_times)),
    }


def _compile(text: str) -> Expression | None:
    """The compiled expression, or None when validation refuses it (as it may)."""
    try:
        return compile_expression(text, ALLOWED)
    except ExpressionError as exc:
        if type(exc) is not ExpressionError:
            raise WrongResults(f"expression: validating {text!r} raised {exc!r}") from None
        return None


def _evaluate(expression: Expression, env: dict[str, object]) -> object:
    """The value, or the typed failure (as it may)."""
    try:
        return expression.evaluate(env)
    except EvaluationError as exc:
        return exc


def best_time(repeats: int, timed: Callable[[], T]) -> tuple[T, float]:
    """What `timed` returned and its best time in seconds over `repeats` calls; any error
    but the typed ones (handled inside `timed`) voids the run."""
    best = float("inf")
    outcome: T
    for _ in range(repeats):
        start = time.perf_counter()
        try:
            outcome = timed()
        except WrongResults:
            raise
        except Exception as exc:
            raise WrongResults(f"expression: {exc!r} escaped the typed errors") from exc
        best = min(best, time.perf_counter() - start)
    return outcome, best
