"""The expression language has bounded cost and typed failures: validation raises nothing
but ExpressionError, and an expression that validated evaluates to a number or a bool or
raises EvaluationError, whatever it is given (fuzzed with the benchmark's generator)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.random_expressions import ADVERSARIAL, NAMES, random_expression, random_inputs
from runtime.contracts.errors import EvaluationError, ExpressionError
from runtime.contracts.expression import compile_expression

ALLOWED = frozenset(NAMES)


def check(text, inputs):
    """Compile, then evaluate with each of the inputs; only the typed errors may come out."""
    try:
        expression = compile_expression(text, ALLOWED)
    except ExpressionError as exc:
        assert type(exc) is ExpressionError and str(exc), text
        return
    for env in inputs:
        try:
            value = expression.evaluate(env)
        except EvaluationError as exc:
            assert str(exc)
            continue
        assert isinstance(value, bool | float), (text, env, value)


@settings(max_examples=1500, deadline=None)
@given(st.randoms(use_true_random=False))
def test_random_expressions_fail_only_with_the_typed_errors(rng):
    check(random_expression(rng), [random_inputs(rng) for _ in range(3)])


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=520), st.randoms(use_true_random=False))
def test_random_text_fails_only_with_the_typed_errors(text, rng):
    check(text, [random_inputs(rng)])


@pytest.mark.parametrize("text", ADVERSARIAL)
def test_adversarial_expressions_fail_only_with_the_typed_errors(text):
    check(text, [{"a": 2.0, "b": 3.0, "c": 4.0, "d": 5.0},
                 {"a": -8.0, "b": 1 / 3, "c": math.inf, "d": math.nan},
                 {"a": 10, "b": 400, "c": 0, "d": True}])


@pytest.mark.parametrize("text,message", [
    ("a ** 9**9**9", "exponent 9**9 (= 3.8742e+08) in '9**9**9' is beyond the limit of ±1000"),
    ("9**9**9**9", "exponent 9**9 (= 3.8742e+08) in '9**9**9' is beyond the limit of ±1000"),
    ("a ** 2000", "exponent 2000 in 'a ** 2000' is beyond the limit of ±1000"),
    ("1 / 0 + a", "'1 / 0' cannot be computed: division by zero"),
    ("sqrt(-1) * a", "'sqrt(-1)' cannot be computed: a value is outside what an operation "
                     "accepts (e.g. sqrt or log of a negative number, a negative number to a "
                     "fractional power)"),
    ("a + 1e999", "the number 1e999 is too large"),
    ("a * " + "9" * 400, "the number " + "9" * 59 + "… is too large"),
    ("min(a)", "function 'min' takes 2 or more arguments, found 1"),
    ("sqrt(a, b)", "function 'sqrt' takes 1 argument, found 2"),
    ("clamp(a, b)", "function 'clamp' takes 3 arguments, found 2"),
    ("round()", "function 'round' takes 1 to 2 arguments, found 0"),
    ("(" * 201 + "a" + ")" * 201, "syntax error at column 201: too many nested parentheses"),
    ("-" * 100 + "a", "expression nests more than 100 operations deep; split it over several "
                      "nodes"),
    ("a" * 501, "expression is longer than 500 characters"),
    ("\x00", "syntax error: source code string cannot contain null bytes"),
    (7, "an expression must be a text, found 7"),
])
def test_what_cannot_be_computed_or_costs_without_bound_is_refused_at_validation(text,
                                                                                 message):
    with pytest.raises(ExpressionError) as refused:
        compile_expression(text, ALLOWED)
    assert str(refused.value) == message


@pytest.mark.parametrize("text,env,why", [
    ("a / b", {"a": 1.0, "b": 0.0}, "division by zero"),
    ("a % b", {"a": 1, "b": 0}, "division by zero"),
    ("sqrt(a)", {"a": -1.0}, "a value is outside what an operation accepts"),
    ("a ** b", {"a": -8.0, "b": 1 / 3}, "a value is outside what an operation accepts"),
    ("a ** b", {"a": 10, "b": 400}, "a result is too large"),
    ("a ** b", {"a": 1.0, "b": 1e9}, "exponent 1e+09 is beyond the limit of ±1000"),
    ("exp(a)", {"a": 1e6}, "a result is too large"),
    ("round(a)", {"a": math.inf}, "a result is too large"),
    ("round(a, b)", {"a": 1.5, "b": 0.5}, "round needs a whole number of digits, found 0.5"),
    ("a + b", {"a": "text", "b": 1.0}, "can only concatenate str"),
    ("a", {"a": "1.5"}, "the result '1.5' is not a number"),
    ("a * b", {"a": 2**600, "b": 2**600}, "a result is too large"),
    ("a + b", {"a": 1.0}, "no value for 'b'"),
])
def test_evaluation_failures_are_typed_and_say_why(text, env, why):
    with pytest.raises(EvaluationError) as failed:
        compile_expression(text, ALLOWED).evaluate(env)
    assert str(failed.value).startswith(f"cannot evaluate '{text}': {why}")


def test_numbers_are_floats_and_rounding_never_builds_a_huge_power():
    assert compile_expression("2 ** 3 + a").evaluate({"a": 1}) == 9.0
    assert compile_expression("round(a, -387420489)").evaluate({"a": 123456}) == 0.0
    assert compile_expression("round(a, 2)").evaluate({"a": 1.23456}) == 1.23
    assert compile_expression("a > 1 and not b").evaluate({"a": 2, "b": False}) is True
