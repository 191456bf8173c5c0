import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from crossdomain_kit import plots
from crossdomain_kit.data.synthetic import TARGET, make_synthetic_split


@pytest.fixture(scope="module")
def split():
    return make_synthetic_split(10, TARGET, image_size=16, seed=0)


def _axes():
    return Figure().add_subplot()


def test_grid_tiles_the_first_images_with_white_gaps_and_captions(split):
    ax = _axes()
    drawn = plots.plot_image_grid(split.images, split.labels, split.class_names, ax=ax, n_cols=3,
                                  max_images=7)
    mosaic = drawn["image"].get_array()
    assert isinstance(drawn["image"], AxesImage) and drawn["image"] in ax.images
    assert mosaic.shape == (3 * 16 + 2, 3 * 16 + 2)  # 3 rows × 3 columns, 1-pixel gaps
    np.testing.assert_array_equal(mosaic[17:33, 17:33], split.images[4, :, :, 0])  # row 1, column 1
    assert np.all(mosaic[16, :] == 255) and np.all(mosaic[-16:, -16:] == 255)  # gap and empty tile
    assert drawn["image"].get_clim() == (0, 255)
    assert [t.get_text() for t in drawn["texts"]] == [split.class_names[y] for y in split.labels[:7]]
    assert ax.get_title() == "7 of 10 images"


def test_grid_without_labels_or_axes_makes_its_own_figure():
    import matplotlib.pyplot as plt

    images = np.linspace(0, 1, 4 * 5 * 6).reshape(4, 5, 6)
    drawn = plots.plot_image_grid(images, title="ramp")
    plt.close(drawn["image"].axes.figure)
    assert drawn["texts"] == [] and drawn["image"].get_clim() == (0, 1)
    assert drawn["image"].axes.get_title() == "ramp"
    captions = plots.plot_image_grid(images, labels=[0, 1, 1, 0], ax=_axes())["texts"]
    assert [t.get_text() for t in captions] == ["0", "1", "1", "0"]


def test_grid_shows_colour_images_and_stretches_other_ranges():
    rgb = np.random.default_rng(0).uniform(-3, 3, size=(2, 4, 4, 3))
    mosaic = plots.plot_image_grid(rgb, ax=_axes())["image"].get_array()
    assert mosaic.shape == (4, 9, 3) and mosaic.min() >= 0 and mosaic.max() <= 1


@pytest.mark.parametrize("kwargs, match", [
    (dict(images=np.zeros((2, 4))), r"Received: images="),
    (dict(images=np.zeros((2, 4, 4, 2))), r"Received: images="),
    (dict(images=np.zeros((0, 4, 4))), r"Received: images="),
    (dict(labels=[0, 1]), r"Received: 2 labels for 3 images"),
    (dict(labels=[0, 1, 2]), r"Received: labels="),
    (dict(labels=[0, 1, 1], class_names=("a", "a")), r"Received: class_names="),
    (dict(max_images=0), r"Received: max_images=0"),
    (dict(n_cols=0), r"Received: n_cols=0"),
])
def test_bad_grid_arguments_are_rejected(kwargs, match):
    args = dict(images=np.zeros((3, 4, 4), np.uint8)) | kwargs
    with pytest.raises(ValueError, match=match):
        plots.plot_image_grid(ax=_axes(), **args)
