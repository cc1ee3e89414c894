"""Lineside edge runtime: reads PLCs, runs rules, acts within safe limits."""
