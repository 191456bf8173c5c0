"""Domains and datasets: labelled splits, synthetic scanners, MedMNIST, image folders, downloads, pipelines.

Only :mod:`.pipeline` imports TensorFlow."""
