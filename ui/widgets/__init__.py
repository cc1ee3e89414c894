"""Widgets shared by the HMI's pages: the numeric keypad and the fields that open it, and
the tables' common set-up."""
