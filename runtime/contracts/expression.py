"""The expression language of the expression node: arithmetic, comparison and logic.

Parsed with Python's `ast` and compiled into closures over an allow-list of node types and
functions; nothing is ever passed to eval or exec. Pure: the validator uses it to check an
expression, the expression node to run it.

Its cost is bounded: the text is at most MAX_LENGTH characters and MAX_DEPTH operations
deep; numbers are floats (float64, as the PLC values they compute with), so no operation
grows a Python big int; `**` refuses exponents beyond ±MAX_EXPONENT; `round` never builds
a power of ten. Constant parts are computed once, at compile time, by the same guarded
operations, so `a ** 9**9**9` or `1 / 0` is refused when the expression is validated.
Compiling raises only ExpressionError; evaluating returns a float or a bool, or raises
EvaluationError.
"""

from __future__ import annotations

import ast
import math
import operator
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from runtime.contracts.errors import EvaluationError, ExpressionError

Evaluator = Callable[[Mapping[str, Any]], Any]

MAX_LENGTH = 500
MAX_DEPTH = 100
MAX_EXPONENT = 1000.0


def _power(base: Any, exponent: Any) -> float:
    """base ** exponent in floats: constant time, never complex, |exponent| ≤ MAX_EXPONENT."""
    exponent = float(exponent)
    if abs(exponent) > MAX_EXPONENT:
        raise EvaluationError(f"exponent {exponent:g} is beyond the limit of "
                              f"±{MAX_EXPONENT:g}")
    return math.pow(float(base), exponent)


def _round(value: Any, digits: Any = None) -> float:
    """round() of the value as a float, to whole-number digits (no huge power of ten)."""
    if digits is None:
        return float(round(float(value)))
    if isinstance(digits, float) and digits.is_integer():
        digits = int(digits)
    if isinstance(digits, bool) or not isinstance(digits, int):
        raise EvaluationError(f"round needs a whole number of digits, found {digits!r}")
    return round(float(value), digits)


def _clamp(x: Any, lo: Any, hi: Any) -> Any:
    """x limited to [lo, hi]."""
    return lo if x < lo else hi if x > hi else x


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _power,
}
_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


@dataclass(frozen=True, slots=True)
class Function:
    """A function the language offers, and how many arguments it takes (max None: any)."""

    call: Callable[..., Any]
    min_args: int
    max_args: int | None

    def arity(self) -> str:
        """The number of arguments in words: "1 argument", "2 or more arguments"."""
        if self.max_args is None:
            return f"{self.min_args} or more arguments"
        if self.max_args == self.min_args:
            return f"{self.min_args} argument{'s' if self.min_args != 1 else ''}"
        return f"{self.min_args} to {self.max_args} arguments"


FUNCTIONS: dict[str, Function] = {
    "abs": Function(abs, 1, 1),
    "min": Function(min, 2, None),
    "max": Function(max, 2, None),
    "round": Function(_round, 1, 2),
    "sqrt": Function(math.sqrt, 1, 1),
    "exp": Function(math.exp, 1, 1),
    "log": Function(math.log, 1, 2),
    "log10": Function(math.log10, 1, 1),
    "sin": Function(math.sin, 1, 1),
    "cos": Function(math.cos, 1, 1),
    "clamp": Function(_clamp, 3, 3),
}
CONSTANTS: dict[str, Any] = {"pi": math.pi, "e": math.e, "true": True, "false": False}


@dataclass(frozen=True, slots=True)
class Expression:
    """A compiled expression: its text, the variable names it reads, and its evaluator
    (a float or a bool for the inputs given, or EvaluationError)."""

    text: str
    names: frozenset[str]
    evaluate: Evaluator


def compile_expression(text: str, allowed_names: frozenset[str] | None = None) -> Expression:
    """Compile `text`; raises ExpressionError (only) naming what is not allowed and where."""
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be a text, found {text!r}")
    if not text.strip():
        raise ExpressionError("expression is empty")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression is longer than {MAX_LENGTH} characters")
    source = text.strip()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "1if a else 2": refused, not warned about
            tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset else ""
        raise ExpressionError(f"syntax error{where}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError("expression is nested too deeply") from None
    except (ValueError, Warning) as exc:
        raise ExpressionError(f"expression cannot be read: {exc}") from None
    if _depth(tree.body) > MAX_DEPTH:
        raise ExpressionError(f"expression nests more than {MAX_DEPTH} operations deep; "
                              "split it over several nodes")
    names: set[str] = set()
    inner = _Compiler(source, allowed_names).compile(tree.body, names)

    def evaluate(env: Mapping[str, Any]) -> Any:
        return _finish(inner, env, source)

    return Expression(text=text, names=frozenset(names), evaluate=evaluate)


def _finish(inner: Evaluator, env: Mapping[str, Any], source: str) -> Any:
    """Run an evaluator: a float or a bool, or EvaluationError saying why not."""
    try:
        value = inner(env)
        if isinstance(value, bool | float):
            return value
        if isinstance(value, int):
            return float(value)
        raise EvaluationError(f"the result {_clip(repr(value))} is not a number")
    except Exception as exc:  # the language is closed: any failure is of these inputs
        raise EvaluationError(f"cannot evaluate '{_clip(source)}': {_why(exc)}") from None


def _why(exc: Exception) -> str:
    """The cause of an evaluation failure in plain words."""
    if isinstance(exc, ZeroDivisionError):
        return "division by zero"
    if isinstance(exc, OverflowError):
        return "a result is too large"
    if isinstance(exc, KeyError):
        return f"no value for {exc.args[0]!r}"
    if isinstance(exc, ValueError) and "domain" in str(exc):
        return ("a value is outside what an operation accepts (e.g. sqrt or log of a negative "
                "number, a negative number to a fractional power)")
    if isinstance(exc, EvaluationError):
        return str(exc)
    return str(exc) or type(exc).__name__


_TOKENS = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)


def _depth(root: ast.AST) -> int:
    """How many operations deep the tree nests (walked without recursion)."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node)
                     if not isinstance(child, _TOKENS))
    return deepest


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class _Compiler:
    """Compiles a parsed expression into closures, folding constant parts as it goes."""

    def __init__(self, source: str, allowed: frozenset[str] | None) -> None:
        self.source = source
        self.allowed = allowed

    def shown(self, node: ast.AST) -> str:
        """The text of a part of the expression, as written."""
        return _clip(ast.get_source_segment(self.source, node) or ast.unparse(node))

    def compile(self, node: ast.AST, names: set[str]) -> Evaluator:
        """An evaluator of `node`; a part that reads no input is computed here, once."""
        reads: set[str] = set()
        evaluate = self._node(node, reads)
        names |= reads
        if reads or isinstance(node, ast.Constant | ast.Name):
            return evaluate
        try:
            value = evaluate({})
        except Exception as exc:
            raise ExpressionError(f"'{self.shown(node)}' cannot be computed: "
                                  f"{_why(exc)}") from None
        return lambda env: value

    def _node(self, node: ast.AST, names: set[str]) -> Evaluator:
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ExpressionError(f"only numbers are allowed as constants, found {value!r}")
            try:
                number = float(value)
            except OverflowError:
                number = math.inf
            if not math.isfinite(number):
                raise ExpressionError(f"the number {self.shown(node)} is too large")
            return lambda env: number
        if isinstance(node, ast.Name):
            name = node.id
            if name in CONSTANTS:
                const = CONSTANTS[name]
                return lambda env: const
            if self.allowed is not None and name not in self.allowed:
                raise ExpressionError(
                    f"unknown name '{name}'; use one of {', '.join(sorted(self.allowed))}"
                )
            names.add(name)
            return lambda env: env[name]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            op = _BINARY[type(node.op)]
            left, right_reads = self.compile(node.left, names), set[str]()
            right = self.compile(node.right, right_reads)
            names |= right_reads
            if isinstance(node.op, ast.Pow) and not right_reads:
                exponent = float(right({}))
                if abs(exponent) > MAX_EXPONENT:
                    shown = self.shown(node.right)
                    if not isinstance(node.right, ast.Constant):
                        shown += f" (= {exponent:g})"
                    raise ExpressionError(f"exponent {shown} in '{self.shown(node)}' is beyond "
                                          f"the limit of ±{MAX_EXPONENT:g}")
            return lambda env: op(left(env), right(env))
        if isinstance(node, ast.UnaryOp):
            operand = self.compile(node.operand, names)
            if isinstance(node.op, ast.USub):
                return lambda env: -operand(env)
            if isinstance(node.op, ast.UAdd):
                return lambda env: +operand(env)
            if isinstance(node.op, ast.Not):
                return lambda env: not operand(env)
        if isinstance(node, ast.BoolOp):
            parts = [self.compile(v, names) for v in node.values]
            if isinstance(node.op, ast.And):
                return lambda env: all(p(env) for p in parts)
            return lambda env: any(p(env) for p in parts)
        if isinstance(node, ast.Compare):
            return self._compare(node, names)
        if isinstance(node, ast.IfExp):
            test = self.compile(node.test, names)
            then, other = self.compile(node.body, names), self.compile(node.orelse, names)
            return lambda env: then(env) if test(env) else other(env)
        if isinstance(node, ast.Call):
            return self._call(node, names)
        raise ExpressionError(f"'{self.shown(node)}' is not allowed in an expression")

    def _compare(self, node: ast.Compare, names: set[str]) -> Evaluator:
        first = self.compile(node.left, names)
        ops = []
        for op_node in node.ops:
            if type(op_node) not in _COMPARE:
                raise ExpressionError(f"comparison '{type(op_node).__name__}' is not allowed")
            ops.append(_COMPARE[type(op_node)])
        rights = [self.compile(c, names) for c in node.comparators]
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

    def _call(self, node: ast.Call, names: set[str]) -> Evaluator:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise ExpressionError(
                f"function '{self.shown(node.func)}' is not allowed; use one of "
                f"{', '.join(sorted(FUNCTIONS))}"
            )
        name = node.func.id
        if node.keywords:
            raise ExpressionError(f"function '{name}' takes no keyword arguments")
        function = FUNCTIONS[name]
        count = len(node.args)
        if count < function.min_args or (function.max_args is not None
                                         and count > function.max_args):
            raise ExpressionError(f"function '{name}' takes {function.arity()}, found {count}")
        call = function.call
        args = [self.compile(a, names) for a in node.args]
        return lambda env: call(*(a(env) for a in args))

