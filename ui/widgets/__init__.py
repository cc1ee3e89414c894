"""Reusable touch widgets: the numeric keypad and the fields that open it."""
