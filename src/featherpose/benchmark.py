"""Latency measurement helpers; they live in :mod:`featherpose.bench`. This module keeps the old
import path."""

from featherpose.bench import Timing, time_callable, time_model  # noqa: F401 (re-export)
