"""``python -m crossdomain_kit``: the ``crossdomain-kit`` command line (see :mod:`crossdomain_kit.cli`)."""

import sys

from .cli import main

sys.exit(main())
