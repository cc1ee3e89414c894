"""Every user-visible string of the HMI goes through Qt's translation functions: a string
literal with words in it, handed straight to a widget's text, title, tooltip or placeholder,
or to a label, button or menu action, is a defect (a translator would never see it)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEXT_TAKERS = {
    "setText", "setWindowTitle", "setToolTip", "setPlaceholderText", "setInformativeText",
    "setTitle", "addAction", "addTab", "setLabelText", "setStatusTip", "addItem",
    "QLabel", "QPushButton", "QToolButton", "QCheckBox", "QRadioButton", "QGroupBox",
    "QAction",
}
WORDS = re.compile(r"[A-Za-z]{3,}")


def _name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def untranslated(source: str) -> list[tuple[int, str]]:
    """(line, text) of each literal with words passed straight to a text-taking call."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _name(node) in TEXT_TAKERS and node.args:
            first = node.args[0]
            if (isinstance(first, ast.Constant) and isinstance(first.value, str)
                    and WORDS.search(first.value)):
                found.append((node.lineno, first.value))
            elif isinstance(first, ast.JoinedStr) and any(
                    isinstance(v, ast.Constant) and WORDS.search(str(v.value))
                    for v in first.values):
                found.append((node.lineno, ast.unparse(first)))
    return found


def test_the_checker_finds_a_bare_literal():
    assert untranslated('label.setText("Connected")\nQLabel(self.tr("Fine"))\n') == [
        (1, "Connected")]
    assert untranslated('b = QPushButton(f"Apply {n} changes")') == [
        (1, "f'Apply {n} changes'")]


def test_every_visible_string_of_the_hmi_is_translatable():
    problems = [f"{path.relative_to(ROOT)}:{line}: {text!r}"
                for path in sorted((ROOT / "ui").rglob("*.py")) + sorted(
                    (ROOT / "app").rglob("*.py"))
                for line, text in untranslated(path.read_text(encoding="utf-8"))]
    assert not problems, "not through tr():\n" + "\n".join(problems)
