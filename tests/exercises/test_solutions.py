"""Every instructor solution in notebooks/solutions/ passes its lesson's checker."""

import ast
import importlib.util
from pathlib import Path

import pytest

from crossdomain_kit.exercises import (lesson00, lesson01, lesson02, lesson03, lesson04, lesson05, lesson06,
                                       lesson07, lesson08)

SOLUTIONS = Path(__file__).resolve().parents[2] / "notebooks" / "solutions"

# (solution file, function name in it, checker): every exercise that has a checker.
CASES = [
    ("lesson00", "data_folder", lesson00.check_data_folder),
    ("lesson00", "medmnist_file_name", lesson00.check_medmnist_file_name),
    ("lesson01", "joint_risk", lesson01.check_joint_risk),
    ("lesson01", "alpha_for_joint", lesson01.check_alpha_for_joint),
    ("lesson01", "domain_weights", lesson01.check_domain_weights),
    ("lesson01", "gradient_step", lesson01.check_gradient_step),
    ("lesson02", "my_bce_gradient", lesson02.check_bce_gradient),
    ("lesson02", "my_logistic_gradient", lesson02.check_logistic_gradient),
    ("lesson03", "joint_risk_from_means", lesson03.check_joint_risk_from_means),
    ("lesson03", "gain_with_spread", lesson03.check_transfer_gain),
    ("lesson03", "first_count_without_gain", lesson03.check_gain_vanishes_at),
    ("lesson04", "count_trainable", lesson04.check_trainable_count),
    ("lesson04", "must_recompile", lesson04.check_needs_recompile),
    ("lesson04", "steepest_rate", lesson04.check_steepest_descent),
    ("lesson04", "batchnorm_update", lesson04.check_batchnorm_update),
    ("lesson05", "my_sensitivity_specificity", lesson05.check_sensitivity_specificity),
    ("lesson05", "my_bayes_threshold", lesson05.check_bayes_threshold),
    ("lesson05", "my_gradcam_map", lesson05.check_gradcam_map),
    ("lesson06", "my_fgsm", lesson06.check_fgsm_step),
    ("lesson06", "input_gradient", lesson06.check_logistic_input_gradient),
    ("lesson06", "early_stopping", lesson06.check_early_stopping),
    ("lesson07", "my_coral", lesson07.check_coral_loss),
    ("lesson07", "pad_from_error", lesson07.check_proxy_a_distance),
    ("lesson07", "reversed_gradient", lesson07.check_reversed_gradient),
    ("lesson08", "my_loss_from_logits", lesson08.check_loss_from_logits),
    ("lesson08", "my_binary_labels", lesson08.check_binary_labels),
    ("lesson08", "my_threshold", lesson08.check_validation_threshold),
]


def _solutions(name: str):
    spec = importlib.util.spec_from_file_location(f"solutions_{name}", SOLUTIONS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("lesson, function, checker", CASES, ids=[f"{l}.{f}" for l, f, _ in CASES])
def test_the_solution_passes_its_checker(lesson, function, checker):
    feedback = checker(getattr(_solutions(lesson), function))
    assert feedback.passed, feedback.message


def test_every_checker_has_a_solution():
    checkers = {getattr(module, name) for module in (lesson00, lesson01, lesson02, lesson03, lesson04, lesson05,
                                                     lesson06, lesson07, lesson08)
                for name in dir(module) if name.startswith("check_")}
    assert checkers == {checker for _, _, checker in CASES}


def test_the_solutions_do_not_import_the_kit():
    for path in SOLUTIONS.glob("lesson*.py"):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add((node.module or "").split(".")[0])
        assert imported <= {"numpy", "os", "pathlib"}, f"{path.name}: a solution is the learner's own code"
