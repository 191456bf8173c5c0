"""The math of the first lessons, on NumPy arrays (and TensorFlow twins in :mod:`.tf_math`)."""
