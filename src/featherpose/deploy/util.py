"""Small helpers shared by the deployment modules: optional packages and one-line errors."""

from __future__ import annotations

import importlib.util


class BackendUnavailable(ValueError):
    """A backend that cannot run this model here (a package missing, a conversion that failed): one
    line saying what to install or use instead. ``backend="auto"`` falls back to torch on it."""


def one_line(exc: BaseException, limit: int = 200) -> str:
    """``exc`` as one short line: its type and the first non-empty line of its message."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def has_module(name: str) -> bool:
    """Is the package ``name`` importable (without importing it)?"""
    return importlib.util.find_spec(name) is not None
