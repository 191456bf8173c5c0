"""What every exercise-checker test asserts: a pass, a diagnosed failure, and the usual non-answers."""

from crossdomain_kit.exercises import Feedback


def not_implemented(*args):
    raise NotImplementedError("your code here")


def assert_passes(feedback):
    assert isinstance(feedback, Feedback) and feedback.passed, feedback.message
    assert str(feedback).startswith("✅")


def assert_fails_with(feedback, diagnosis):
    assert isinstance(feedback, Feedback) and not feedback.passed
    assert diagnosis in feedback.message, feedback.message
    assert str(feedback).startswith("❌")


# (function, the diagnosis every checker must give it): not written yet, no `return`, a crash,
# and the result passed instead of the function.
COMMON_FAILURES = [
    (not_implemented, "Not implemented yet"),
    (lambda *args: None, "forget `return`"),
    (lambda *args: {}["missing"], "raised KeyError"),
    ("not a function", "Pass your function itself"),
]
