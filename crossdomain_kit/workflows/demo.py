"""The transfer demo's data: PneumoniaMNIST → BreastMNIST when present, synthetic scanners otherwise.

``crossdomain-kit demo`` pretrains on a source domain and fine-tunes on a
target domain with the kit's recipes (:mod:`crossdomain_kit.workflows.recipes`);
this module picks the pair and says which it picked and why.

Introduced in the README ("Set up": ``crossdomain-kit demo``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import config
from ..data.domains import Domain
from ..data.medmnist import fetch_medmnist, load_medmnist_domain
from ..data.synthetic import make_synthetic_task

REAL_PAIR = ("pneumoniamnist", "breastmnist")


@dataclass(frozen=True)
class DemoDomains:
    """The demo's source and target domains, and a sentence saying what they are.

    Attributes:
        source: the domain pretrained on.
        target: the domain fine-tuned on (train, val and test).
        note: what the data are and, for the synthetic pair, why.
    """

    source: Domain
    target: Domain
    note: str


def demo_domains(data_dir=None, *, seed: int = 0, synthetic: bool = False) -> DemoDomains:
    """The real pair when both files are in the data directory, else the synthetic scanners.

    Nothing is downloaded: the demo runs offline. In the fast profile the
    source is subsampled (600 training and 200 validation images).

    Args:
        data_dir: where to look for the MedMNIST files (default: the data directory).
        seed: seeds the subsample and the synthetic images.
        synthetic: use the synthetic domains even when the real files are there.

    Returns:
        :class:`DemoDomains`.
    """
    folder = config.data_dir(data_dir)
    missing = []
    if not synthetic:
        for name in REAL_PAIR:
            try:
                fetch_medmnist(name, 28, folder, download=False)
            except FileNotFoundError:
                missing.append(name)
    if not synthetic and not missing:
        source = load_medmnist_domain(REAL_PAIR[0], 28, folder, download=False)
        target = load_medmnist_domain(REAL_PAIR[1], 28, folder, download=False)
        n = config.pick(default=len(source.train), fast=600)
        source = Domain(source.name, source.train.sample(n, seed),
                        source.val.sample(config.pick(default=len(source.val), fast=200), seed), source.test)
        return DemoDomains(source, target, f"Real data: PneumoniaMNIST (paediatric chest X-rays) -> BreastMNIST "
                                           f"(breast ultrasound), 28 px, from {folder}.")
    why = ("--synthetic was given" if synthetic else
           f"{' and '.join(missing)} not found in {folder}; run 'crossdomain-kit fetch {missing[0]}'"
           + (f" and 'crossdomain-kit fetch {missing[1]}'" if len(missing) > 1 else "")
           + " for the real pair")
    task = make_synthetic_task(1.0, n_source_train=config.pick(default=2000, fast=300),
                               n_target_train=config.pick(default=200, fast=100),
                               n_val=config.pick(default=200, fast=100),
                               n_test=config.pick(default=400, fast=200),
                               image_size=config.pick(default=64, fast=32), seed=seed)
    return DemoDomains(task.source, task.target,
                       f"Synthetic data ({why}): radiograph-like images from a source scanner and a washed-out, "
                       "noisier, blurrier target scanner.")
