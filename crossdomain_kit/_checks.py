"""Argument checks shared by the whole kit.

Every check raises ``ValueError`` whose message says what was expected and
ends, Keras style, with ``Received: name=value``.
"""

from __future__ import annotations

import numbers

import numpy as np


def describe(value) -> str:
    """Short, printable form of a received value (arrays are summarised)."""
    if isinstance(value, np.ndarray):
        body = np.array2string(value, threshold=6, edgeitems=2, precision=4)
        return f"array of shape {value.shape} {body}".replace("\n", "")
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def fail(message: str, name: str, value) -> ValueError:
    """Build the kit's standard ``ValueError`` (the caller raises it)."""
    return ValueError(f"{message} Received: {name}={describe(value)}")


def float_array(value, name: str, ndim: int | None = None) -> np.ndarray:
    """Convert to a finite, non-empty float64 array.

    Args:
        value: array-like.
        name: argument name used in the error message.
        ndim: required number of dimensions, if any.

    Returns:
        ``np.ndarray`` of dtype float64.

    Raises:
        ValueError: if it is empty, has the wrong ``ndim``, is not numeric or
            holds NaN or infinity.
    """
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise fail(f"`{name}` must be numeric.", name, value) from None
    if ndim is not None and array.ndim != ndim:
        raise fail(f"`{name}` must have {ndim} dimension(s), got {array.ndim}.", name, array)
    if array.size == 0:
        raise fail(f"`{name}` must not be empty.", name, array)
    if not np.all(np.isfinite(array)):
        raise fail(f"`{name}` must not contain NaN or infinity.", name, array)
    return array


def binary_labels(value, name: str = "y_true") -> np.ndarray:
    """Convert to a float64 array whose entries are all exactly 0 or 1.

    Raises:
        ValueError: if empty, not finite, or any label is outside {0, 1}.
    """
    array = float_array(value, name)
    if not np.all((array == 0) | (array == 1)):
        bad = np.unique(array[(array != 0) & (array != 1)])
        raise fail(f"`{name}` must contain only 0 and 1; found {describe(bad)}.", name, array)
    return array


def same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raise if two arrays differ in shape.

    Raises:
        ValueError: naming both arguments and both shapes.
    """
    if a.shape != b.shape:
        raise ValueError(
            f"`{name_a}` and `{name_b}` must have the same shape. "
            f"Received: {name_a}.shape={a.shape}, {name_b}.shape={b.shape}"
        )


def fraction(value, name: str) -> float:
    """A real number in [0, 1] (a weight such as alpha).

    Raises:
        ValueError: if not a finite real number in [0, 1].
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value <= 1.0:
        raise fail(f"`{name}` must be a number in [0, 1].", name, value)
    return float(value)


def open_fraction(value, name: str) -> float:
    """A real number strictly between 0 and 1 (a confidence level, a prior, a factor).

    Raises:
        ValueError: if not a real number with 0 < value < 1.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise fail(f"`{name}` must be a number strictly between 0 and 1.", name, value)
    return float(value)


def positive(value, name: str) -> float:
    """A finite real number > 0 (a learning rate, a step size).

    Raises:
        ValueError: if not a finite real number greater than zero.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not np.isfinite(value)
        or value <= 0
    ):
        raise fail(f"`{name}` must be a finite number > 0.", name, value)
    return float(value)


def positive_int(value, name: str) -> int:
    """An integer >= 1 (a count of steps, samples or epochs).

    Raises:
        ValueError: if not an integer >= 1.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise fail(f"`{name}` must be an integer >= 1.", name, value)
    return int(value)


def seed(value, name: str = "seed", allow_none: bool = False) -> int | None:
    """A random seed: an integer >= 0 (or None when ``allow_none``).

    Raises:
        ValueError: if not an integer >= 0 (or None when allowed).
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        wanted = "an integer >= 0 or None" if allow_none else "an integer >= 0"
        raise fail(f"`{name}` must be {wanted}.", name, value)
    return int(value)


def probabilities(value, name: str = "y_prob") -> np.ndarray:
    """A finite, non-empty float64 array with every entry in [0, 1].

    Raises:
        ValueError: if any entry is outside [0, 1] (logits passed by mistake:
            the message says to apply ``crossdomain_kit.theory.losses.sigmoid``).
    """
    array = float_array(value, name)
    if np.any((array < 0) | (array > 1)):
        raise fail(f"`{name}` must hold probabilities in [0, 1]; for logits apply "
                   "`crossdomain_kit.theory.losses.sigmoid` first or use a from-logits function.",
                   name, array)
    return array


def class_names(value, name: str = "class_names") -> tuple[str, str]:
    """Two different non-empty strings: (negative class, positive class).

    Raises:
        ValueError: otherwise.
    """
    names = tuple(value) if isinstance(value, (tuple, list)) else ()
    if len(names) != 2 or not all(isinstance(n, str) and n for n in names) or names[0] == names[1]:
        raise fail(f"`{name}` must be two different non-empty strings (negative, positive).",
                   name, value)
    return names


def real_in(value, name: str, low: float = -np.inf, high: float = np.inf,
            low_open: bool = False) -> float:
    """A finite real number in [low, high] (or (low, high] when ``low_open``).

    Raises:
        ValueError: otherwise, stating the interval.
    """
    ok = (not isinstance(value, bool) and isinstance(value, numbers.Real) and np.isfinite(value)
          and (value > low if low_open else value >= low) and value <= high)
    if not ok:
        if np.isfinite(high):
            expected = f"a number in {'(' if low_open else '['}{low:g}, {high:g}]"
        elif np.isfinite(low):
            expected = f"a finite number {'>' if low_open else '>='} {low:g}"
        else:
            expected = "a finite number"
        raise fail(f"`{name}` must be {expected}.", name, value)
    return float(value)


def non_negative_int(value, name: str) -> int:
    """An integer >= 0 (a count that may be zero, a number of retries).

    Raises:
        ValueError: if not an integer >= 0.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise fail(f"`{name}` must be an integer >= 0.", name, value)
    return int(value)
