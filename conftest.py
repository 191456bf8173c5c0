"""Test-session settings shared by the unit tests and the nbval notebook runs.

Notebook kernels inherit this process's environment, so the settings below
reach them too: the fast profile is on, the data directory points at the
shared real datasets beside the checkout (unless you set your own), a
developer's mirror and registry settings are dropped (tests that need them set
their own), and TensorFlow's C++ log chatter is silenced.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SHARED_DATASETS = ROOT.parent / "shared" / "datasets"

os.environ.setdefault("CROSSDOMAIN_FAST", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
for _setting in ("CROSSDOMAIN_MIRROR_URL", "CROSSDOMAIN_REGISTRY"):
    os.environ.pop(_setting, None)
if SHARED_DATASETS.is_dir():
    os.environ.setdefault("CROSSDOMAIN_DATA_DIR", str(SHARED_DATASETS))


def _drop_stderr_from_nbval_comparison():
    """nbval compares stderr in checked cells; library warnings there are noise.

    nbval has no option for this, so its stream merger is wrapped to drop
    stderr on both sides (the executed output and the stored one).
    """
    try:
        import nbval.plugin as plugin
    except ImportError:
        return
    merge = plugin.coalesce_streams

    def without_stderr(outputs):
        kept = [o for o in outputs or [] if not (o.output_type == "stream" and o.name == "stderr")]
        return merge(kept)

    plugin.coalesce_streams = without_stderr


_drop_stderr_from_nbval_comparison()
