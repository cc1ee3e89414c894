"""Widgets shared by the HMI's pages."""
