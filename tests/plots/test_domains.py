"""crossdomain_kit.plots.domains: plot_domain_map, two domains' 2-D maps, colour = domain, marker = class."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from crossdomain_kit.plots import DOMAIN_COLORS, plot_domain_map  # noqa: E402


def _points(n, seed):
    return np.random.default_rng(seed).normal(size=(n, 2))


def test_domains_are_drawn_in_their_colours_and_returned():
    fig, ax = plt.subplots()
    drawn = plot_domain_map(_points(10, 0), _points(6, 1), ax=ax, names=("X-ray", "ultrasound"),
                            title="before")
    assert len(drawn["source"]) == len(drawn["target"]) == 1
    assert drawn["source"][0].get_offsets().shape == (10, 2)
    assert drawn["target"][0].get_offsets().shape == (6, 2)
    np.testing.assert_allclose(drawn["target"][0].get_facecolor()[0][:3],
                               matplotlib.colors.to_rgb(DOMAIN_COLORS[1]))
    assert [t.get_text() for t in drawn["legend"].get_texts()] == ["X-ray (n = 10)", "ultrasound (n = 6)"]
    assert ax.get_title() == "before"
    plt.close(fig)


def test_labels_split_each_domain_by_class():
    fig, ax = plt.subplots()
    drawn = plot_domain_map(_points(10, 0), _points(6, 1), ax=ax, source_labels=np.arange(10) % 2,
                            target_labels=np.zeros(6))
    assert [len(c.get_offsets()) for c in drawn["source"]] == [5, 5]
    assert [len(c.get_offsets()) for c in drawn["target"]] == [6]
    assert "source, class 1" in [t.get_text() for t in drawn["legend"].get_texts()]
    plt.close(fig)


def test_a_new_figure_when_no_axes_are_given():
    drawn = plot_domain_map(_points(4, 0), _points(4, 1))
    assert drawn["source"][0].axes is not None
    plt.close("all")


@pytest.mark.parametrize("kwargs, received", [
    ({"source_points": np.ones((4, 3))}, "Received: source_points="),
    ({"target_points": np.ones(4)}, "Received: target_points="),
    ({"source_labels": np.zeros(4)}, "Received: source_labels=set"),
    ({"source_labels": np.full(4, 2.0), "target_labels": np.zeros(4)}, "Received: source_labels="),
    ({"names": ("same", "same")}, "Received: names="),
])
def test_bad_input_names_the_argument(kwargs, received):
    args = {"source_points": _points(4, 0), "target_points": _points(4, 1), **kwargs}
    with pytest.raises(ValueError, match=received):
        plot_domain_map(**args)
    plt.close("all")
