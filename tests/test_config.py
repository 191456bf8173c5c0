from pathlib import Path

import pytest

from crossdomain_kit import config


@pytest.mark.parametrize("raw, fast", [("1", True), ("true", True), ("ON", True), ("0", False), ("", False), ("no", False)])
def test_is_fast_reads_the_environment_at_call_time(monkeypatch, raw, fast):
    monkeypatch.setenv(config.FAST_ENV, raw)
    assert config.is_fast() is fast
    assert config.pick(default="big", fast="small") == ("small" if fast else "big")
    assert config.profile_name() == ("fast" if fast else "default")


def test_unset_fast_switch_is_the_learner_profile(monkeypatch):
    monkeypatch.delenv(config.FAST_ENV, raising=False)
    assert not config.is_fast()
    assert config.pick(default=400, fast=40) == 400


def test_typo_in_fast_switch_is_an_error_not_the_slow_profile(monkeypatch):
    monkeypatch.setenv(config.FAST_ENV, "ture")
    with pytest.raises(ValueError, match=r"Received: CROSSDOMAIN_FAST='ture'"):
        config.is_fast()


def test_data_dir_argument_wins_over_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(config.DATA_DIR_ENV, str(tmp_path / "from_env"))
    assert config.data_dir(tmp_path / "explicit") == (tmp_path / "explicit").resolve()
    assert config.data_dir() == (tmp_path / "from_env").resolve()


def test_data_dir_default_is_in_the_home_folder(monkeypatch):
    monkeypatch.delenv(config.DATA_DIR_ENV, raising=False)
    assert config.data_dir() == (Path.home() / ".crossdomain_kit" / "datasets").resolve()
