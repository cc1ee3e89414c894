"""The dependency declarations hold together: the runtime's own set pulls in no Qt, and the
lock file pins every declared dependency at a version its range allows."""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
QT = {"pyside6", "pyside6-essentials", "shiboken6", "pyqtgraph", "qasync", "pyqt5", "pyqt6"}


def declared() -> dict[str, list[Requirement]]:
    """The requirements of the core set ("") and of each extra, as pyproject.toml has them."""
    groups = {"": PROJECT["dependencies"], **PROJECT["optional-dependencies"]}
    return {name: [Requirement(text) for text in texts] for name, texts in groups.items()}


def locked() -> dict[str, str]:
    """Package name → pinned version, from requirements.lock."""
    pins = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        line = line.split(";")[0].strip()
        if line and not line.startswith("#"):
            name, _, pinned = line.partition("==")
            pins[canonicalize_name(name)] = pinned.strip()
    return pins


def closure(requirements: list[Requirement]) -> set[str]:
    """Every installed distribution the requirements pull in (extras left out)."""
    seen: set[str] = set()
    todo = [r for r in requirements if r.marker is None or r.marker.evaluate()]
    while todo:
        name = canonicalize_name(todo.pop().name)
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            continue  # not for this platform; the lock test covers its pin
        for text in requires:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement)
    return seen


def test_the_runtime_pulls_in_no_qt():
    assert closure(declared()[""]) & QT == set()
    assert {canonicalize_name(r.name) for r in declared()["desktop"]} >= {
        "pyside6-essentials", "pyqtgraph", "qasync"}


def test_the_lock_pins_every_declared_dependency_inside_its_range():
    pins = locked()
    wrong = []
    for group, requirements in declared().items():
        for requirement in requirements:
            name = canonicalize_name(requirement.name)
            if name == "lineside":
                continue  # an extra naming other extras
            if name not in pins:
                wrong.append(f"{group or 'core'}: {requirement} is not in the lock")
            elif not requirement.specifier.contains(pins[name], prereleases=True):
                wrong.append(f"{group or 'core'}: {requirement} but the lock has {pins[name]}")
    assert wrong == [], "run `make lock`:\n" + "\n".join(wrong)


def test_every_dependency_has_a_range_with_an_upper_bound():
    unbounded = [str(r) for group in declared().values() for r in group
                 if r.name != "lineside" and not any(s.operator in ("<", "<=", "==", "~=")
                                                     for s in r.specifier)]
    assert unbounded == []
