"""What the servers answer, read the same way by both engines: an error's first line, a boolean setting."""

from __future__ import annotations


def first_line(text: str) -> str:
    """The first line of a driver's error text (the rest is context and hints), or "no detail"."""
    return text.strip().splitlines()[0] if text.strip() else "no detail"


def is_on(value: str | None) -> bool:
    """A boolean server setting; unknown (NULL: a version without it, or empty) counts as off."""
    return value is not None and value.strip().lower() in {"1", "on", "true", "yes"}
