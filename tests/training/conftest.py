"""The fresh process of the training tests: seeds and tf.distribute (used by test_runtime.py).

Tests that seed the global generators (op determinism stays on for the rest
of a process) or need two logical CPU devices (configured before TensorFlow
initialises its devices) run in one subprocess. It starts with the first
training test, so that it runs alongside the others, and ``fresh_process``
waits for its result.
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

_SUBPROCESS = textwrap.dedent("""
    import json
    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import keras
    from crossdomain_kit import training
    from crossdomain_kit.models.classifier import build_classifier
    from crossdomain_kit.models.compiling import compile_classifier
    from tests.training._data import _ds

    def model(seed=None):
        return build_classifier("small_cnn", (8, 8, 1), seed=seed)

    def seeded_run():
        training.set_global_seed(0)  # as a notebook's first cell would, before building
        result = training.fine_tune(model(), _ds(training_=True), _ds(seed=1), head_epochs=1,
                                    finetune_epochs=1, seed=0, verbose=0)
        return result.history

    out = {"runs": [seeded_run(), seeded_run()]}

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        tuned, tape_model, fit_model = model(0), model(0), model(0)
    result = training.fine_tune(tuned, _ds(training_=True), _ds(seed=1), head_epochs=1, finetune_epochs=1,
                                base_learning_rate=1e-5, seed=None, verbose=0)
    out["replicas"] = tuned.distribute_strategy.num_replicas_in_sync
    out["fine_tune"] = result.history
    # an optimizer made outside the scope is re-created inside it
    tape = training.train_with_tape(tape_model, _ds(), _ds(seed=1), 1, keras.optimizers.Adam(1e-3),
                                    seed=None, verbose=False)
    with strategy.scope():
        compile_classifier(fit_model, 1e-3)
    out["tape"] = tape.history
    out["fit"] = fit_model.fit(_ds(), validation_data=_ds(seed=1), epochs=1, shuffle=False, verbose=0,
                               callbacks=[training.ExactValidationAUC(_ds(seed=1))]).history
    out["weight_gap"] = max(float(np.abs(a - b).max())
                            for a, b in zip(tape_model.get_weights(), fit_model.get_weights()))
    print("RESULT " + json.dumps(out))
""")


@pytest.fixture(scope="package", autouse=True)
def _fresh_process_started(request):
    """Starts the fresh process at the package's first test, so that it runs alongside the others."""
    if not any("fresh_process" in item.fixturenames for item in request.session.items):
        yield None
        return
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen([sys.executable, "-c", _SUBPROCESS], cwd=root, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    yield process
    if process.poll() is None:
        process.kill()
        process.communicate()


@pytest.fixture(scope="module")
def fresh_process(_fresh_process_started):
    stdout, stderr = _fresh_process_started.communicate(timeout=300)
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    assert _fresh_process_started.returncode == 0 and lines, stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):])
