import subprocess
import sys


def test_importing_the_package_does_not_import_tensorflow():
    code = ("import sys, crossdomain_kit, crossdomain_kit.theory.losses, crossdomain_kit.theory.risk, "
            "crossdomain_kit.theory.optim, crossdomain_kit.theory.gradcheck, crossdomain_kit.theory.logistic, "
            "crossdomain_kit.config, crossdomain_kit.data.domains, crossdomain_kit.data.synthetic, "
            "crossdomain_kit.theory.toy_domains, crossdomain_kit.theory.surface, crossdomain_kit.data.medmnist, "
            "crossdomain_kit.data.download, crossdomain_kit.data.image_folder, crossdomain_kit.models.backbones, "
            "crossdomain_kit.evaluation, crossdomain_kit.exercises.lesson01, "
            "crossdomain_kit.exercises.lesson02, crossdomain_kit.cli, crossdomain_kit.evaluation.reports, "
            "crossdomain_kit.data.user_data, crossdomain_kit.data.tinyimagenet, crossdomain_kit.workflows.plan, "
            "crossdomain_kit.workflows.demo, crossdomain_kit.workflows.data_efficiency, "
            "crossdomain_kit.workflows.pretraining_plan; "
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_importing_the_package_does_not_touch_matplotlib_settings():
    code = ("import matplotlib; before = dict(matplotlib.rcParams); import crossdomain_kit, "
            "crossdomain_kit.plots; print(before == dict(matplotlib.rcParams))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
