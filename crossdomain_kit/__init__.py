"""crossdomain-kit: learn and teach cross-domain transfer learning and fine-tuning.

Importing the package is instant: TensorFlow is imported only by the modules
that need it (for example :mod:`crossdomain_kit.theory.tf_math`), when you import them.
"""

__version__ = "0.1.0"
