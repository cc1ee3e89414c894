"""Random expressions for the expression language, and inputs to evaluate them with.

One generator, used by the fuzz test (tests/unit/test_expression.py, driven by
hypothesis's Random) and by the expression benchmark (bench/expression.py, seeded):
expressions built from the grammar, some of them broken on purpose, random text, and the
adversarial cases every run includes.
"""

from __future__ import annotations

import math
import random
from typing import Any

NAMES = ("a", "b", "c", "d")
FUNCTION_NAMES = ("abs", "min", "max", "round", "sqrt", "exp", "log", "log10", "sin", "cos",
                  "clamp")
NOT_FUNCTIONS = ("pow", "open", "__import__", "eval", "print", "a.real", "len")
CONSTANT_NAMES = ("pi", "e", "true", "false")
BINARY = ("+", "-", "*", "/", "//", "%", "**")
COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")
NUMBERS = ("0", "1", "2", "0.5", "9", "10", "100", "-1", "1e308", "1e-308", "5e-324", "1e999",
           "0x1F", "1_000", "3.14159", "9" * 40, "0.0", "1000", "1001", "-1000")
TOKENS = (*NAMES, *FUNCTION_NAMES, *CONSTANT_NAMES, *BINARY, *COMPARISONS, *NUMBERS,
          "(", ")", ",", " ", "and", "or", "not", "if", "else", "[", "]", "{", "}", ".",
          "'", '"', "lambda", ":", "=", ":=", "@", "~", "<<", ">>", "&", "|", "^", "#",
          "\\", "\n", "\t", "\x00", "ä", "\U0001d51e", "∞", "\u0661", "x", "_", "is", "in",
          "None", "*")

LONG_SUM = "a" + " + a" * 99
ADVERSARIAL = (
    "a ** 9**9**9",
    "9**9**9**9",
    "a ** b ** c ** d",
    "(a + 1) ** 1000",
    "a ** 1001",
    "2 ** 1023 * a",
    "(-8) ** (1 / 3) + a",
    "a ** 0.5",
    "round(a, -387420489)",
    "round(a, 387420489)",
    "round(a * 1e308, -308)",
    "exp(a) ** b",
    "exp(exp(exp(a)))",
    "log(a, b)",
    "1e308 * 10 * a",
    "a / (b - b)",
    "a // 0.0 + b % 0.0",
    "9" * 400 + " * a",
    LONG_SUM,
    "-" * 98 + "a",
    "not " * 98 + "a",
    "a ** " * 49 + "a",
    "(" * 199 + "a" + ")" * 199,
    "(" * 201 + "a" + ")" * 201,
    "max(" + ", ".join(NAMES * 40) + ")",
    "min(" + ", ".join(["a ** b"] * 45) + ")",
    " and ".join(["a < b < c < d"] * 25),
    "clamp(a, b, c) if a > b else clamp(b, c, d) if b > c else d",
    "a" * 500,
    "a" * 501,
)


def random_expression(rng: random.Random) -> str:
    """One expression: mostly from the grammar, sometimes mutated, random text or one of
    the adversarial cases."""
    roll = rng.random()
    if roll < 0.1:
        return rng.choice(ADVERSARIAL)
    if roll < 0.2:
        return "".join(rng.choice(TOKENS) for _ in range(rng.randint(0, 40)))
    text = _expression(rng, rng.randint(1, 8))
    if roll < 0.3:
        return _mutated(rng, text)
    return text


def random_inputs(rng: random.Random) -> dict[str, Any]:
    """Values for the inputs a..d: ordinary numbers mostly, and edge cases."""
    return {name: _input(rng) for name in NAMES}


def _input(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.6:
        return rng.uniform(-100.0, 100.0)
    if roll < 0.7:
        return rng.randint(-(2**31), 2**31)
    if roll < 0.75:
        return rng.random() < 0.5
    return rng.choice((0.0, -0.0, 1.0, -1.0, math.nan, math.inf, -math.inf, 1e308, -1e308,
                       5e-324, 2**63, 1e-308))


def _expression(rng: random.Random, depth: int) -> str:
    if depth <= 0 or rng.random() < 0.25:
        return _atom(rng)
    kind = rng.randrange(9)
    sub = depth - 1
    if kind <= 2:
        return f"{_expression(rng, sub)} {rng.choice(BINARY)} {_expression(rng, sub)}"
    if kind == 3:
        return f"{rng.choice(('-', '+', 'not '))}{_expression(rng, sub)}"
    if kind == 4:
        parts = [_expression(rng, sub) for _ in range(rng.randint(2, 4))]
        ops = [rng.choice(COMPARISONS) for _ in parts[1:]]
        return parts[0] + "".join(f" {op} {part}" for op, part in zip(ops, parts[1:],
                                                                        strict=True))
    if kind == 5:
        joiner = rng.choice((" and ", " or "))
        return joiner.join(_expression(rng, sub) for _ in range(rng.randint(2, 3)))
    if kind == 6:
        return (f"{_expression(rng, sub)} if {_expression(rng, sub)} "
                f"else {_expression(rng, sub)}")
    if kind == 7:
        name = rng.choice(FUNCTION_NAMES) if rng.random() < 0.9 else rng.choice(NOT_FUNCTIONS)
        count = rng.choice((0, 1, 1, 2, 2, 3, 4))
        return f"{name}({', '.join(_expression(rng, sub) for _ in range(count))})"
    return f"({_expression(rng, sub)})"


def _atom(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.5:
        return rng.choice(NAMES)
    if roll < 0.6:
        return rng.choice(CONSTANT_NAMES)
    if roll < 0.95:
        return rng.choice(NUMBERS)
    return rng.choice(("x", "'text'", "[a]", "a.real", "None", "1j", "a[0]", "{}", "..."))


def _mutated(rng: random.Random, text: str) -> str:
    """The text with a few tokens inserted, characters dropped or a piece cut off."""
    chars = list(text)
    for _ in range(rng.randint(1, 3)):
        where = rng.randint(0, len(chars))
        roll = rng.random()
        if roll < 0.5:
            chars[where:where] = rng.choice(TOKENS)
        elif roll < 0.8 and chars:
            del chars[min(where, len(chars) - 1)]
        else:
            chars = chars[:where]
    return "".join(chars)
