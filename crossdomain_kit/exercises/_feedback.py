"""The result type of every exercise checker."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
        # Truthiness is `passed`, so `assert check(...)` works; beware that
        # `feedback or default` therefore replaces a failing Feedback.
        return self.passed

    def __str__(self) -> str:
        return ("✅ " if self.passed else "❌ ") + self.message

    def _repr_markdown_(self) -> str:
        return str(self)


NOT_IMPLEMENTED = "Not implemented yet: fill in the function body and run the check again."


def call_learner(fn, args):
    """Call the learner's function safely.

    Args:
        fn: the learner's function.
        args: positional arguments to call it with.

    Returns:
        ``(result, None)``, or ``(None, Feedback)`` when ``fn`` is not a
        function, is not written yet, raised, or returned None.
    """
    if not callable(fn):
        return None, Feedback(False, f"Pass your function itself (not its result); got {type(fn).__name__}.")
    try:
        result = fn(*args)
    except NotImplementedError:
        return None, Feedback(False, NOT_IMPLEMENTED)
    except Exception as error:  # the learner's code may raise anything: report it, do not crash
        return None, Feedback(False, f"Your function raised {type(error).__name__}: {error}")
    if result is None:
        return None, Feedback(False, NOT_IMPLEMENTED + " (Your function returned None: "
                              "did you forget `return`?)")
    return result, None


def learner_floats(fn, args, what: str):
    """Call the learner's function and read its answer as a float array of any shape.

    Args:
        fn: the learner's function.
        args: positional arguments to call it with.
        what: the answer expected, for the message (e.g. ``"one number"``).

    Returns:
        ``(array, None)``, or ``(None, Feedback)`` saying why the answer is
        not numbers (see :func:`call_learner` for the other reasons).
    """
    result, failure = call_learner(fn, args)
    if failure is not None:
        return None, failure
    try:
        return np.asarray(result, dtype=np.float64), None
    except (TypeError, ValueError):
        return None, Feedback(False, f"Return {what}; your function returned a {type(result).__name__}.")


def learner_number(fn, args, hint: str = ""):
    """Call the learner's function and read its answer as one float.

    Args:
        fn: the learner's function.
        args: positional arguments to call it with.
        hint: appended to the message when the answer has several numbers
            (e.g. "Did you forget to sum or average?").

    Returns:
        ``(number, None)``, or ``(None, Feedback)`` saying why the answer is
        not one number (see :func:`call_learner` for the other reasons).
    """
    array, failure = learner_floats(fn, args, "one number")
    if failure is not None:
        return None, failure
    if array.size != 1:
        message = f"Return one number; your function returned {array.size} numbers (shape {array.shape})."
        return None, Feedback(False, f"{message} {hint}".rstrip())
    return float(array.ravel()[0]), None


def learner_array(fn, args, shape: tuple):
    """Call the learner's function and read its answer as a float array of ``shape``.

    Args:
        fn: the learner's function.
        args: positional arguments to call it with.
        shape: the shape the answer must have.

    Returns:
        ``(array, None)``, or ``(None, Feedback)`` saying why the answer is
        not such an array (see :func:`call_learner` for the other reasons).
    """
    shape = tuple(shape)
    array, failure = learner_floats(fn, args, f"an array of shape {shape}")
    if failure is not None:
        return None, failure
    if array.shape != shape:
        hint = ""
        if array.size == int(np.prod(shape)):
            hint = (" The values may be right: return a flat array (e.g. `.ravel()`)." if len(shape) == 1
                    else f" The values may be right: reshape them to {shape}.")
        return None, Feedback(False, f"Wrong shape: expected shape {shape}, got shape {array.shape}.{hint}")
    return array, None
