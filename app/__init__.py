"""The composition root: the `lineside` entry point, settings, runtime process, Qt app."""
