"""Lineside's benchmark suite: `python -m bench` runs it (see bench/__main__.py)."""
