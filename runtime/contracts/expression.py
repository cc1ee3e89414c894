"""The expression language of the expression node: arithmetic, comparison and logic.

Parsed with Python's `ast` and compiled into closures over an allow-list of node types and
functions; nothing is ever passed to eval or exec. Pure: the validator uses it to check an
expression, the expression node to run it.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from runtime.contracts.errors import ExpressionError

Evaluator = Callable[[Mapping[str, Any]], Any]

MAX_LENGTH = 500

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs,
    "min": min,
    "max": max,
    "round": round,
    "sqrt": math.sqrt,
    "exp": math.exp,
    "log": math.log,
    "log10": math.log10,
    "sin": math.sin,
    "cos": math.cos,
    "clamp": lambda x, lo, hi: lo if x < lo else hi if x > hi else x,
}
CONSTANTS: dict[str, Any] = {"pi": math.pi, "e": math.e, "true": True, "false": False}


@dataclass(frozen=True, slots=True)
class Expression:
    """A compiled expression: its text, the variable names it reads, and its evaluator."""

    text: str
    names: frozenset[str]
    evaluate: Evaluator


def compile_expression(text: str, allowed_names: frozenset[str] | None = None) -> Expression:
    """Compile `text`; raises ExpressionError naming what is not allowed and where."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("expression is empty")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"syntax error at column {exc.offset}: {exc.msg}") from None
    names: set[str] = set()
    evaluate = _compile(tree.body, names, allowed_names)
    return Expression(text=text, names=frozenset(names), evaluate=evaluate)


def _compile(node: ast.AST, names: set[str], allowed: frozenset[str] | None) -> Evaluator:
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ExpressionError(f"only numbers are allowed as constants, found {value!r}")
        return lambda env: value
    if isinstance(node, ast.Name):
        name = node.id
        if name in CONSTANTS:
            const = CONSTANTS[name]
            return lambda env: const
        if allowed is not None and name not in allowed:
            raise ExpressionError(
                f"unknown name '{name}'; use one of {', '.join(sorted(allowed))}"
            )
        names.add(name)
        return lambda env: env[name]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        op = _BINARY[type(node.op)]
        left, right = _compile(node.left, names, allowed), _compile(node.right, names, allowed)
        return lambda env: op(left(env), right(env))
    if isinstance(node, ast.UnaryOp):
        operand = _compile(node.operand, names, allowed)
        if isinstance(node.op, ast.USub):
            return lambda env: -operand(env)
        if isinstance(node.op, ast.UAdd):
            return operand
        if isinstance(node.op, ast.Not):
            return lambda env: not operand(env)
    if isinstance(node, ast.BoolOp):
        parts = [_compile(v, names, allowed) for v in node.values]
        if isinstance(node.op, ast.And):
            return lambda env: all(p(env) for p in parts)
        return lambda env: any(p(env) for p in parts)
    if isinstance(node, ast.Compare):
        first = _compile(node.left, names, allowed)
        ops = []
        for op_node in node.ops:
            if type(op_node) not in _COMPARE:
                raise ExpressionError(f"comparison '{type(op_node).__name__}' is not allowed")
            ops.append(_COMPARE[type(op_node)])
        rights = [_compile(c, names, allowed) for c in node.comparators]
        pairs = list(zip(ops, rights, strict=True))

        def compare(env: Mapping[str, Any]) -> bool:
            left = first(env)
            for op, right_eval in pairs:
                right = right_eval(env)
                if not op(left, right):
                    return False
                left = right
            return True

        return compare
    if isinstance(node, ast.IfExp):
        test = _compile(node.test, names, allowed)
        then, other = _compile(node.body, names, allowed), _compile(node.orelse, names, allowed)
        return lambda env: then(env) if test(env) else other(env)
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            shown = ast.unparse(node.func)
            raise ExpressionError(
                f"function '{shown}' is not allowed; use one of {', '.join(sorted(FUNCTIONS))}"
            )
        if node.keywords:
            raise ExpressionError(f"function '{node.func.id}' takes no keyword arguments")
        func = FUNCTIONS[node.func.id]
        args = [_compile(a, names, allowed) for a in node.args]
        return lambda env: func(*(a(env) for a in args))
    raise ExpressionError(f"'{ast.unparse(node)}' is not allowed in an expression")
