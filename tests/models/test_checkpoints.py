import os

import keras
import numpy as np
import pytest

from crossdomain_kit.models.checkpoints import load_classifier, random_generator_states, save_classifier
from crossdomain_kit.models.classifier import build_classifier
from tests.models._data import _data


def test_a_saved_classifier_round_trips_exactly(tmp_path, trained):
    x, _ = _data(seed=5)
    path = save_classifier(trained, tmp_path / "nested" / "source.keras")
    assert path.is_file() and os.listdir(path.parent) == ["source.keras"]
    np.testing.assert_array_equal(load_classifier(path).predict(x, verbose=0), trained.predict(x, verbose=0))
    rebuilt = build_classifier("small_cnn", (16, 16, 1), weights=path, dropout=0.0)
    np.testing.assert_array_equal(rebuilt.predict(x, verbose=0), trained.predict(x, verbose=0))


def test_unreadable_and_foreign_model_files_are_rejected(tmp_path):
    broken = tmp_path / "broken.keras"
    broken.write_text("not a zip archive")
    with pytest.raises(ValueError, match=r"Could not read the model file broken.keras.*Received: weights='"):
        build_classifier(weights=broken)
    with pytest.raises(ValueError, match=r"Could not read the model file broken.keras.*Received: path='"):
        load_classifier(broken)
    foreign = tmp_path / "plain.keras"
    keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]).save(foreign)
    with pytest.raises(ValueError, match=r"nested model named 'backbone'"):
        load_classifier(foreign)


@pytest.mark.parametrize("call, match", [
    (lambda tmp: load_classifier(tmp / "absent.keras"), r"No such model file.*Received: path='"),
    (lambda tmp: load_classifier(tmp / "model.h5"), r"ending in .keras.*Received: path='"),
    (lambda tmp: save_classifier(build_classifier("small_cnn", (8, 8, 1)), tmp / "model.h5"),
     r"ending in .keras.*Received: path='"),
])
def test_bad_paths_are_rejected(tmp_path, call, match):
    with pytest.raises(ValueError, match=match):
        call(tmp_path)


def test_random_generator_states_are_the_dropouts_not_the_weights():
    model = build_classifier("small_cnn", (28, 28, 1), seed=0)
    states = random_generator_states(model)
    assert [v.name for v in states] == ["seed_generator_state"]  # the head's dropout
    assert not {id(v) for v in states} & {id(w) for w in model.weights}
    before = states[0].numpy().copy()
    model(np.zeros((2, 28, 28, 1), "float32"), training=True)  # dropout draws: its state moves
    assert not np.array_equal(states[0].numpy(), before)
    no_dropout = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    assert random_generator_states(no_dropout) == []
