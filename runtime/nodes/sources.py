"""Source nodes: a tag's samples enter a flow here."""

from __future__ import annotations

from typing import Any

from runtime.nodes.base import Node

NAN = float("nan")


class TagSource(Node):
    """Emits the samples of one tag; a missing value (bad quality) becomes NaN."""

    def setup(self, params: dict[str, Any]) -> None:
        self.tag = params["tag"]
        self.source_tags = (self.tag,)

    def receive(self, port: str, ts: list[float], values: list[Any],
                quality: list[int]) -> None:
        if None in values:
            values = [NAN if v is None else v for v in values]
        self.emit("out", ts, values, quality)
