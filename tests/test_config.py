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


# --- the download mirror and the checksum registry --------------------------------------------

@pytest.mark.parametrize("raw, url", [
    ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
    ("https://mirror.hospital.example/datasets/", "https://mirror.hospital.example/datasets"),
    ("  HTTP://[::1]:8080/medmnist//  ", "HTTP://[::1]:8080/medmnist"),
])
def test_mirror_url_is_read_at_call_time_without_trailing_slashes(monkeypatch, raw, url):
    monkeypatch.setenv(config.MIRROR_URL_ENV, raw)
    assert config.mirror_url() == url
    monkeypatch.setenv(config.MIRROR_URL_ENV, "http://other.example")
    assert config.mirror_url() == "http://other.example"


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_no_mirror_means_the_official_addresses(monkeypatch, raw):
    if raw is None:
        monkeypatch.delenv(config.MIRROR_URL_ENV, raising=False)
    else:
        monkeypatch.setenv(config.MIRROR_URL_ENV, raw)
    assert config.mirror_url() is None


@pytest.mark.parametrize("raw", [
    "ftp://mirror.example/datasets", "mirror.example/datasets", "/srv/datasets", "file:///srv/datasets",
    "http://", "http:///datasets", "http://mirror.example/d?token=1", "http://mirror.example/d#top",
    "http://mirror.example:port/d", "http://mirror example/d",
])
def test_a_bad_mirror_is_refused_naming_the_setting_and_the_fix(monkeypatch, raw):
    monkeypatch.setenv(config.MIRROR_URL_ENV, raw)
    with pytest.raises(ValueError, match=r"http:// or https:// address.*unset it to download from the "
                       r"official addresses\. Received: CROSSDOMAIN_MIRROR_URL=") as info:
        config.mirror_url()
    assert str(info.value).endswith(f"Received: CROSSDOMAIN_MIRROR_URL={raw!r}")


def test_registry_folder_replaces_only_the_files_it_holds(monkeypatch, tmp_path):
    monkeypatch.delenv(config.REGISTRY_ENV, raising=False)
    assert config.registry_file("medmnist.json") is None
    (tmp_path / "medmnist.json").write_text("{}")
    monkeypatch.setenv(config.REGISTRY_ENV, str(tmp_path))
    assert config.registry_file("medmnist.json") == tmp_path.resolve() / "medmnist.json"
    assert config.registry_file("tinyimagenet.json") is None  # the packaged one stays
    monkeypatch.setenv(config.REGISTRY_ENV, "")
    assert config.registry_file("medmnist.json") is None


@pytest.mark.parametrize("case, problem", [
    ("missing", "does not exist"), ("file", "is a file, not a folder"),
    ("empty folder", "holds none of medmnist.json, tinyimagenet.json"),
])
def test_a_bad_registry_setting_is_refused_naming_the_setting_and_the_fix(monkeypatch, tmp_path, case,
                                                                          problem):
    target = {"missing": tmp_path / "nope", "file": tmp_path / "medmnist.json",
              "empty folder": tmp_path}[case]
    if case == "file":
        target.write_text("{}")
    monkeypatch.setenv(config.REGISTRY_ENV, str(target))
    with pytest.raises(ValueError, match=problem) as info:
        config.registry_file("medmnist.json")
    assert "unset CROSSDOMAIN_REGISTRY" in str(info.value)
    assert str(info.value).endswith(f"Received: CROSSDOMAIN_REGISTRY={str(target)!r}")


def test_registry_file_names_are_the_registries(monkeypatch):
    with pytest.raises(ValueError, match=r"Received: name='other.json'"):
        config.registry_file("other.json")
