"""Domains and datasets: labelled splits, synthetic scanners, MedMNIST, Tiny ImageNet, a user's folder
or .npz, image folders, downloads, pipelines.

Only :mod:`.pipeline` imports TensorFlow."""
