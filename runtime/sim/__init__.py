"""Simulated pump line (pump P-101 and its VFD) on OPC UA and Modbus TCP, for tests and demos."""
