"""Classifiers: the backbone registry, building and saving classifiers, freezing, prediction, Grad-CAM.

:mod:`.backbones` imports no TensorFlow; the other modules do."""
