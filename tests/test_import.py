import subprocess
import sys


def test_importing_the_package_does_not_import_tensorflow():
    code = ("import sys, crossdomain_kit, crossdomain_kit.losses, crossdomain_kit.risk, "
            "crossdomain_kit.optim, crossdomain_kit.gradcheck, crossdomain_kit.logistic, "
            "crossdomain_kit.config, crossdomain_kit.domains, crossdomain_kit.synthetic, "
            "crossdomain_kit.toy_domains, crossdomain_kit.surface, crossdomain_kit.medmnist, "
            "crossdomain_kit.download, crossdomain_kit.image_folder, crossdomain_kit.backbones, "
            "crossdomain_kit.evaluation, crossdomain_kit.exercises.lesson01, "
            "crossdomain_kit.exercises.lesson02, crossdomain_kit.cli, crossdomain_kit.report; "
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_importing_the_package_does_not_touch_matplotlib_settings():
    code = ("import matplotlib; before = dict(matplotlib.rcParams); import crossdomain_kit, "
            "crossdomain_kit.plots; print(before == dict(matplotlib.rcParams))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
