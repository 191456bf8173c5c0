"""The per-epoch progress bars (crossdomain_kit.training.progress)."""

import io

from crossdomain_kit import training
from crossdomain_kit.training import EpochProgressBars
from tests.training._data import _ds, _model


def test_one_bar_per_epoch_with_its_metrics_at_the_end():
    stream = io.StringIO()
    training.train_joint(_model(), [_ds()], _ds(seed=1), epochs=2, seed=0, verbose=0,
                         callbacks=[EpochProgressBars("training", file=stream)])
    text = stream.getvalue()
    assert "training epoch 1" in text and "training epoch 2" in text
    assert "100%" in text and "val_auc=" in text and "loss=" in text


def test_the_bars_show_the_metrics_they_are_given_that_the_logs_have():
    stream = io.StringIO()
    training.train_joint(_model(), [_ds()], _ds(seed=1), epochs=1, seed=0, verbose=0,
                         callbacks=[EpochProgressBars("training", file=stream, shown=("val_loss", "top5"))])
    text = stream.getvalue()
    assert "val_loss=" in text and text.count("loss=") == text.count("val_loss=")  # the training loss is not shown
    assert "auc=" not in text and "top5" not in text  # the default's AUC is not shown; an absent name is skipped
