"""A runtime on another machine: its certificate, trusted on first use and pinned after.

`lineside --connect wss://host:port` reads the certificate the runtime presents
(runtime.client.fetch_fingerprint) and, the first time, asks the user to trust it by its
SHA-256 fingerprint (which the runtime logs and writes in its `api-endpoint.json`, to
compare with). The answer is kept in `known-runtimes.json` in the HMI's configuration
folder; from then on the client pins that fingerprint, and a runtime presenting another
certificate is refused before anything is sent.
"""

from __future__ import annotations

import json
from pathlib import Path

from platformdirs import user_config_dir

KNOWN_RUNTIMES = Path(user_config_dir("lineside", appauthor=False)) / "known-runtimes.json"


class KnownRuntimes:
    """The fingerprints the user has trusted, by URL, kept in a small JSON file."""

    def __init__(self, path: Path = KNOWN_RUNTIMES) -> None:
        self.path = path

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def get(self, url: str) -> str | None:
        """The trusted fingerprint of `url`, if any."""
        return self._read().get(url)

    def trust(self, url: str, fingerprint_: str) -> None:
        """Remember `fingerprint_` as the trusted certificate of `url`."""
        known = self._read()
        known[url] = fingerprint_
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(known, indent=2, sort_keys=True), encoding="utf-8")
        temporary.replace(self.path)
