"""What changed between two project documents, per connection, tag, flow, node, parameter
and wire: for version lists, deploy previews and reviews. Pure; positions on screen (a
node's `ui`) are not changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ADDED, REMOVED, CHANGED = "added", "removed", "changed"
_SKIP = {"ui"}


@dataclass(frozen=True)
class Change:
    """One difference: where (e.g. "flows/health/nodes/hyst/params/on_above"), what kind,
    and the values before and after (None for what did not exist)."""

    path: str
    kind: str
    old: Any = None
    new: Any = None

    def to_dict(self) -> dict[str, Any]:
        """The wire form."""
        return {"path": self.path, "kind": self.kind, "old": self.old, "new": self.new}


def diff_projects(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Every change from `old` to `new`, in document order."""
    changes = _fields("", old, new, ("connections", "tags", "flows", "assets"))
    for section in ("connections", "tags", "assets"):
        changes += _by_id(section, old.get(section, []), new.get(section, []), _fields)
    changes += _by_id("flows", old.get("flows", []), new.get("flows", []), _flow)
    return changes


def _by_id(path: str, old: list[Any], new: list[Any], compare: Any) -> list[Change]:
    before = {item.get("id"): item for item in old if isinstance(item, dict)}
    after = {item.get("id"): item for item in new if isinstance(item, dict)}
    changes = []
    for item_id in [*before, *(i for i in after if i not in before)]:
        where = f"{path}/{item_id}"
        if item_id not in after:
            changes.append(Change(where, REMOVED, old=before[item_id]))
        elif item_id not in before:
            changes.append(Change(where, ADDED, new=after[item_id]))
        else:
            changes += compare(where, before[item_id], after[item_id])
    return changes


def _fields(path: str, old: dict[str, Any], new: dict[str, Any],
            skip: tuple[str, ...] = ()) -> list[Change]:
    changes = []
    for key in [*old, *(k for k in new if k not in old)]:
        if key in skip or key in _SKIP:
            continue
        where = f"{path}/{key}" if path else key
        if key not in new:
            changes.append(Change(where, REMOVED, old=old[key]))
        elif key not in old:
            changes.append(Change(where, ADDED, new=new[key]))
        elif isinstance(old[key], dict) and isinstance(new[key], dict):
            changes += _fields(where, old[key], new[key])
        elif old[key] != new[key]:
            changes.append(Change(where, CHANGED, old[key], new[key]))
    return changes


def _flow(path: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    changes = _fields(path, old, new, ("nodes", "wires"))
    changes += _by_id(f"{path}/nodes", old.get("nodes", []), new.get("nodes", []), _fields)
    before = [(w.get("from"), w.get("to")) for w in old.get("wires", [])]
    after = [(w.get("from"), w.get("to")) for w in new.get("wires", [])]
    changes += [Change(f"{path}/wires/{a}->{b}", REMOVED, old={"from": a, "to": b})
                for a, b in before if (a, b) not in after]
    changes += [Change(f"{path}/wires/{a}->{b}", ADDED, new={"from": a, "to": b})
                for a, b in after if (a, b) not in before]
    return changes
