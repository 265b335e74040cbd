"""Trackers: one concern each, usable as context managers or through the ``measure_*`` helpers."""
