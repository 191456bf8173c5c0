"""Auto-checkers for the lessons' exercises.

Each checker takes the learner's answer (a value or a function), runs it on
fresh inputs and returns a :class:`Feedback` that says what is right or what is
wrong, for example a flipped sign or a missing mean.
"""

from ._feedback import Feedback

__all__ = ["Feedback"]
