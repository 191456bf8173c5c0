"""crossdomain_kit.plots.images: image grids (lesson 03) and Grad-CAM overlays (lesson 05)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402

from crossdomain_kit import plots  # noqa: E402
from crossdomain_kit.data.synthetic import TARGET, make_synthetic_split  # noqa: E402
from crossdomain_kit.plots import plot_grad_cam  # noqa: E402
from tests.plots._helpers import new_axes  # noqa: E402

# ---------------------------------------------------------------- image grids


@pytest.fixture(scope="module")
def split():
    return make_synthetic_split(10, TARGET, image_size=16, seed=0)


def test_grid_tiles_the_first_images_with_white_gaps_and_captions(split):
    ax = new_axes()
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
    captions = plots.plot_image_grid(images, labels=[0, 1, 1, 0], ax=new_axes())["texts"]
    assert [t.get_text() for t in captions] == ["0", "1", "1", "0"]


def test_grid_shows_colour_images_and_stretches_other_ranges():
    rgb = np.random.default_rng(0).uniform(-3, 3, size=(2, 4, 4, 3))
    mosaic = plots.plot_image_grid(rgb, ax=new_axes())["image"].get_array()
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
        plots.plot_image_grid(ax=new_axes(), **args)


# ---------------------------------------------------------------- Grad-CAM overlays

RNG = np.random.default_rng(0)
IMAGES = RNG.normal(0, 50, (3, 16, 16, 3))  # preprocessed inputs: any range
HEAT = RNG.uniform(0, 2, (3, 4, 4))


def _axes_row(n):
    return Figure().subplots(1, n).ravel()


def test_grad_cam_one_overlay_per_image_stretched_over_the_whole_image():
    axes = _axes_row(3)
    drawn = plot_grad_cam(IMAGES, HEAT, axes, labels=[1, 0, 1], probabilities=[0.9, 0.2, 0.51],
                          class_names=("normal", "pneumonia"))
    assert [len(drawn[k]) for k in ("images", "heatmaps", "titles")] == [3, 3, 3]
    grey = drawn["images"][0]
    np.testing.assert_allclose(grey.get_array(), IMAGES[0].mean(axis=-1))
    assert grey.get_clim() == (IMAGES[0].mean(axis=-1).min(), IMAGES[0].mean(axis=-1).max())
    overlay = drawn["heatmaps"][0]
    np.testing.assert_allclose(overlay.get_array(), HEAT[0] / HEAT[0].max())
    assert overlay.get_extent() == [-0.5, 15.5, 15.5, -0.5] and overlay.get_alpha() == 0.4
    assert drawn["titles"][0].get_text() == "pneumonia · p(pneumonia) 0.90"
    assert drawn["titles"][1].get_text() == "normal · p(pneumonia) 0.20"
    assert all(t.axes is ax for t, ax in zip(drawn["titles"], axes))


def test_grad_cam_all_zero_maps_and_grey_images_and_no_captions():
    drawn = plot_grad_cam(np.ones((2, 8, 8)), np.zeros((2, 8, 8)), _axes_row(2))
    assert np.all(drawn["heatmaps"][1].get_array() == 0)
    assert drawn["titles"][0].get_text() == ""


def test_grad_cam_without_axes_a_figure_is_made_and_settings_stay_untouched():
    before = dict(matplotlib.rcParams)
    drawn = plot_grad_cam(np.zeros((5, 8, 8, 1)), np.ones((5, 2, 2)))
    figure = drawn["images"][0].axes.figure
    assert len(figure.axes) == 8 and all(im.axes.figure is figure for im in drawn["heatmaps"])
    assert dict(matplotlib.rcParams) == before


@pytest.mark.parametrize("kwargs, message", [
    (dict(images=np.zeros((2, 8)), heatmaps=np.zeros((2, 2, 2))), "Received: images="),
    (dict(images=np.zeros((2, 8, 8)), heatmaps=np.zeros((3, 2, 2))), "one per image.*Received: heatmaps="),
    (dict(images=np.zeros((2, 8, 8)), heatmaps=-np.ones((2, 2, 2))), "non-negative.*Received: heatmaps="),
    (dict(images=np.zeros((2, 8, 8)), heatmaps=np.zeros((2, 2, 2)), labels=[1]), "Received: labels="),
    (dict(images=np.zeros((2, 8, 8)), heatmaps=np.zeros((2, 2, 2)), probabilities=[2, 0]),
     "Received: probabilities="),
    (dict(images=np.zeros((2, 8, 8)), heatmaps=np.zeros((2, 2, 2)), alpha=0), "Received: alpha=0"),
])
def test_grad_cam_bad_arguments_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_grad_cam(axes=_axes_row(2), **kwargs)


def test_grad_cam_too_few_axes():
    with pytest.raises(ValueError, match="one Axes per image"):
        plot_grad_cam(np.zeros((3, 8, 8)), np.zeros((3, 2, 2)), _axes_row(2))
