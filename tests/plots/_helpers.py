"""Helpers shared by the plot tests."""

from matplotlib.figure import Figure


def new_axes():
    """One Axes on a new pyplot-free ``Figure``."""
    return Figure().add_subplot()
