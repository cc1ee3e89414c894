"""`python -m runtime.sim`: the same as the `lineside-sim` console script."""

from __future__ import annotations

from runtime.sim.cli import main

raise SystemExit(main())
