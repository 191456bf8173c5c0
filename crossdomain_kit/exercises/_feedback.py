"""The result type of every exercise checker."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Feedback:
    """Outcome of one exercise check.

    Attributes:
        passed: True when the answer is correct.
        message: what is right, or what is wrong and a hint to fix it.
    """

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return ("✅ " if self.passed else "❌ ") + self.message

    def _repr_markdown_(self) -> str:
        return str(self)
