import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from crossdomain_kit.plots import plot_grad_cam  # noqa: E402

RNG = np.random.default_rng(0)
IMAGES = RNG.normal(0, 50, (3, 16, 16, 3))  # preprocessed inputs: any range
HEAT = RNG.uniform(0, 2, (3, 4, 4))


def _axes(n):
    return Figure().subplots(1, n).ravel()


def test_one_overlay_per_image_stretched_over_the_whole_image():
    axes = _axes(3)
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


def test_all_zero_maps_and_grey_images_and_no_captions():
    drawn = plot_grad_cam(np.ones((2, 8, 8)), np.zeros((2, 8, 8)), _axes(2))
    assert np.all(drawn["heatmaps"][1].get_array() == 0)
    assert drawn["titles"][0].get_text() == ""


def test_without_axes_a_figure_is_made_and_settings_stay_untouched():
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
def test_bad_arguments_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_grad_cam(axes=_axes(2), **kwargs)


def test_too_few_axes():
    with pytest.raises(ValueError, match="one Axes per image"):
        plot_grad_cam(np.zeros((3, 8, 8)), np.zeros((3, 2, 2)), _axes(2))
