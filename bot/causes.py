"""An exception and what caused it, outermost first: to say in words why something failed."""

from __future__ import annotations


def causes(error: BaseException) -> list[BaseException]:
    """`error`, then its `__cause__` or `__context__`, and theirs, each once."""
    found: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in found:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found
