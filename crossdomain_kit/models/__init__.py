"""Classifiers: the backbone registry and pretrained weights; building, compiling, saving and
freezing classifiers; prediction; Grad-CAM.

:mod:`.backbones` imports no TensorFlow; the other modules do."""
