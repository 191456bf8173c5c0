import hashlib
import json
import time

import pytest
from tests._http_server import http_server, send_body, serve_folder, unreachable_url  # noqa: F401  (fixture)

from crossdomain_kit import config
from crossdomain_kit.data import download
from crossdomain_kit.data.download import DownloadError, download_file, download_url, load_registry

BODY = bytes(range(256)) * 400  # 100 KiB, several read chunks
MD5 = hashlib.md5(BODY).hexdigest()
PRECIOUS = b"the user's own file"
FAST = dict(timeout=0.5, backoff=0, progress=False)


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(autouse=True)
def _no_mirror_settings(monkeypatch):
    """The official addresses and the packaged registries, whatever the shell has set."""
    monkeypatch.delenv(config.MIRROR_URL_ENV, raising=False)
    monkeypatch.delenv(config.REGISTRY_ENV, raising=False)


def test_download_streams_to_a_new_folder_and_verifies_md5(http_server, tmp_path):
    url = http_server.route("/data.npz", lambda h, hit: send_body(h, BODY))
    target = tmp_path / "new" / "data.npz"
    assert download_file(url, target, MD5, **FAST) == target
    assert target.read_bytes() == BODY
    assert _listing(target.parent) == ["data.npz"]  # no temporary file left


def test_a_successful_download_replaces_an_existing_file(http_server, tmp_path):
    url = http_server.route("/data.npz", lambda h, hit: send_body(h, BODY))
    target = tmp_path / "data.npz"
    target.write_bytes(PRECIOUS)
    download_file(url, target, MD5.upper(), **FAST)
    assert target.read_bytes() == BODY and _listing(tmp_path) == ["data.npz"]


def test_progress_bar_names_the_file_and_the_server(http_server, tmp_path, capsys):
    url = http_server.route("/data.npz", lambda h, hit: send_body(h, BODY))
    download_file(url, tmp_path / "data.npz", timeout=0.5, backoff=0, progress=True)
    assert f"data.npz from 127.0.0.1:{http_server.port}" in capsys.readouterr().err


def test_no_progress_prints_nothing(http_server, tmp_path, capsys):
    url = http_server.route("/data.npz", lambda h, hit: send_body(h, BODY))
    download_file(url, tmp_path / "data.npz", **FAST)
    assert capsys.readouterr() == ("", "")


def _stall(handler, hit):
    send_body(handler, BODY, sent=1000)
    handler.local.stop.wait(10)  # released when the test's server stops


FAILURES = {
    "http 404": (lambda h, hit: h.send_error(404, "Not Found"), {}, r"HTTP 404", 1),
    "http 500, retried": (lambda h, hit: h.send_error(500, "Oops"), {}, r"HTTP 500", 3),
    "wrong md5": (lambda h, hit: send_body(h, BODY), {"md5": "0" * 32}, r"has md5 .* expected 0{32}", 1),
    "truncated body": (lambda h, hit: send_body(h, BODY, sent=5000), {}, r"truncated download", 3),
    "stalled server": (_stall, {"retries": 1}, r"timed out", 2),
}


@pytest.mark.parametrize("user_file", [False, True], ids=["no file", "existing file"])
@pytest.mark.parametrize("case", list(FAILURES))
def test_failed_downloads_leave_the_folder_as_it_was(http_server, tmp_path, case, user_file):
    answer, kwargs, match, expected_hits = FAILURES[case]
    http_server.route("/data.npz", lambda h, hit: answer(h, hit))
    url = http_server.url("/data.npz")
    target = tmp_path / "data.npz"
    if user_file:
        target.write_bytes(PRECIOUS)
    before = _listing(tmp_path)
    options = {**FAST, "md5": MD5, "retries": 2, **kwargs}
    started = time.monotonic()
    with pytest.raises(DownloadError, match=match) as info:
        download_file(url, target, **options)
    assert time.monotonic() - started < 8
    message = str(info.value)
    assert url in message and str(target) in message
    assert info.value.url == url and info.value.destination == target
    assert http_server.hits["/data.npz"] == expected_hits  # 4xx and md5 are not retried
    assert _listing(tmp_path) == before  # no partial or temporary file
    if user_file:
        assert target.read_bytes() == PRECIOUS


def _trickle(handler, hit):
    """100 bytes every 0.1 s: never a stall of `timeout`, but about 100 s for the whole body."""
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(BODY)))
    handler.end_headers()
    for start in range(0, len(BODY), 100):
        if handler.local.stop.wait(0.1):
            return
        handler.wfile.write(BODY[start:start + 100])
        handler.wfile.flush()


def test_a_deadline_bounds_the_whole_download_of_a_trickling_server(http_server, tmp_path):
    url = http_server.route("/data.npz", _trickle)
    started = time.monotonic()
    with pytest.raises(DownloadError, match=r"Gave up downloading .*the deadline passed with [\d,]+ bytes received "
                                            r"of 102,400 \(the server is sending too slowly\)"):
        download_file(url, tmp_path / "new" / "data.npz", MD5, retries=3, deadline=1.5, **FAST)
    assert time.monotonic() - started < 1.5 + FAST["timeout"] + 1  # at most one wait late
    assert http_server.hits["/data.npz"] == 1 and _listing(tmp_path) == []  # not retried; no folder left


def test_a_deadline_stops_the_retries_too(tmp_path):
    started = time.monotonic()
    with pytest.raises(DownloadError, match=r"\(1 attempt, out of time\)"):
        download_file(unreachable_url(), tmp_path / "f.npz", retries=5, deadline=0.5, timeout=0.5, backoff=1.0,
                      progress=False)
    assert time.monotonic() - started < 2


def test_a_failed_download_removes_only_the_folders_it_made(tmp_path):
    (tmp_path / "mine").mkdir()
    with pytest.raises(DownloadError):
        download_file(unreachable_url(), tmp_path / "mine" / "a" / "b" / "f.npz", retries=0, **FAST)
    assert _listing(tmp_path) == ["mine"] and _listing(tmp_path / "mine") == []


def test_a_destination_under_a_file_is_refused(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ValueError, match=r"afile is a file"):
        download_file("http://127.0.0.1:9/f", tmp_path / "afile" / "f.npz")


def test_404_error_carries_the_status(http_server, tmp_path):
    with pytest.raises(DownloadError) as info:
        download_file(http_server.url("/missing.npz"), tmp_path / "x.npz", **FAST)
    assert info.value.status == 404 and isinstance(info.value, OSError)


def test_an_interrupted_download_succeeds_on_retry(http_server, tmp_path):
    def flaky(handler, hit):
        send_body(handler, BODY, sent=None if hit > 1 else len(BODY) // 3)

    url = http_server.route("/data.npz", flaky)
    target = download_file(url, tmp_path / "data.npz", MD5, retries=2, **FAST)
    assert target.read_bytes() == BODY and http_server.hits["/data.npz"] == 2
    assert _listing(tmp_path) == ["data.npz"]


def test_no_server_reads_as_a_network_error(tmp_path):
    url = unreachable_url()
    with pytest.raises(DownloadError, match=r"network error.*download the file yourself") as info:
        download_file(url, tmp_path / "file.npz", retries=1, **FAST)
    assert info.value.status is None and _listing(tmp_path) == []


@pytest.mark.parametrize("kwargs, match", [
    (dict(url="ftp://example.org/f"), r"Received: url='ftp://example.org/f'"),
    (dict(md5="abc"), r"Received: md5='abc'"),
    (dict(timeout=0), r"Received: timeout=0"),
    (dict(retries=-1), r"Received: retries=-1"),
    (dict(retries=1.5), r"Received: retries=1.5"),
    (dict(backoff=-1.0), r"Received: backoff=-1.0"),
    (dict(deadline=0), r"Received: deadline=0"),
])
def test_bad_arguments_are_rejected_before_any_request(tmp_path, kwargs, match):
    args = {"url": "http://127.0.0.1:9/f", "destination": tmp_path / "f", **kwargs}
    with pytest.raises(ValueError, match=match):
        download_file(**args)
    assert _listing(tmp_path) == []


def test_destination_must_not_be_a_folder(tmp_path):
    with pytest.raises(ValueError, match=r"not a folder"):
        download_file("http://127.0.0.1:9/f", tmp_path)


# --- the mirror --------------------------------------------------------------------------------

OFFICIAL = "https://zenodo.org/records/10519652/files/breastmnist.npz?download=1"


def test_without_a_mirror_the_official_url_is_used():
    assert download_url("breastmnist.npz", OFFICIAL) == OFFICIAL
    assert download.mirror_advice("breastmnist.npz", OFFICIAL) == ""


def test_a_mirror_serves_the_file_under_its_name(monkeypatch, http_server, tmp_path):
    (tmp_path / "served").mkdir()
    (tmp_path / "served" / "breastmnist.npz").write_bytes(BODY)
    base = serve_folder(http_server, tmp_path / "served")
    monkeypatch.setenv(config.MIRROR_URL_ENV, base + "/")
    url = download_url("breastmnist.npz", OFFICIAL)
    assert url == base + "/breastmnist.npz"
    assert download_file(url, tmp_path / "data" / "breastmnist.npz", MD5, **FAST).read_bytes() == BODY
    assert download_url("a b.npz", OFFICIAL) == base + "/a%20b.npz"
    advice = download.mirror_advice("breastmnist.npz", OFFICIAL)
    for part in (f"CROSSDOMAIN_MIRROR_URL='{base}'", "CROSSDOMAIN_REGISTRY", OFFICIAL):
        assert part in advice


def test_a_bad_mirror_is_refused_before_any_request(monkeypatch):
    monkeypatch.setenv(config.MIRROR_URL_ENV, "ftp://mirror.example")
    with pytest.raises(ValueError, match=r"Received: CROSSDOMAIN_MIRROR_URL='ftp://mirror.example'"):
        download_url("breastmnist.npz", OFFICIAL)


# --- registries --------------------------------------------------------------------------------

def _check(data, bad):
    if "files" not in data:
        raise bad("lacks files")


def test_the_packaged_registries_are_read_when_nothing_replaces_them():
    from crossdomain_kit.data.medmnist import medmnist_registry
    from crossdomain_kit.data.tinyimagenet import tinyimagenet_info
    assert set(medmnist_registry()["datasets"]) == {"pneumoniamnist", "breastmnist"}
    assert tinyimagenet_info()["official"]["md5"] == "90528d7ca1a48142e341f4ef8d21d0de"


@pytest.mark.parametrize("text, problem", [
    ("{not json", r"is not valid JSON"),
    ("[1, 2]", r"holds a JSON list, not an object"),
    ("{}", r"lacks files"),
])
def test_a_replacement_registry_that_is_not_one_is_refused(monkeypatch, tmp_path, text, problem):
    (tmp_path / "medmnist.json").write_text(text)
    monkeypatch.setenv(config.REGISTRY_ENV, str(tmp_path))
    with pytest.raises(ValueError, match=problem) as info:
        load_registry("medmnist.json", _check)
    message = str(info.value)
    assert str(tmp_path / "medmnist.json") in message and "unset CROSSDOMAIN_REGISTRY" in message
    assert message.endswith(f"Received: CROSSDOMAIN_REGISTRY={str(tmp_path)!r}")


def test_a_replacement_registry_is_read_at_every_call(monkeypatch, tmp_path):
    monkeypatch.setenv(config.REGISTRY_ENV, str(tmp_path))
    (tmp_path / "medmnist.json").write_text(json.dumps({"files": 1}))
    assert load_registry("medmnist.json", _check) == {"files": 1}
    (tmp_path / "medmnist.json").write_text(json.dumps({"files": 2}))
    assert load_registry("medmnist.json", _check) == {"files": 2}


GOOD = {"file": "breastmnist.npz", "url": OFFICIAL, "md5": MD5}


@pytest.mark.parametrize("change, problem", [
    ({"file": "../breastmnist.npz"}, r"x\.file='\.\./breastmnist\.npz'; expected a plain file name"),
    ({"file": "sub/b.npz"}, r"expected a plain file name"),
    ({"file": ".hidden.npz"}, r"expected a plain file name"),
    ({"file": "C:b.npz"}, r"expected a plain file name"),
    ({"url": "ftp://example.org/b.npz"}, r"x\.url='ftp://example\.org/b\.npz'; expected an http"),
    ({"md5": None}, r"x\.md5=None; expected 32 hexadecimal characters \(checksums cannot be left out\)"),
    ({"md5": "abc"}, r"x\.md5='abc'"),
])
def test_a_file_record_needs_a_plain_name_an_http_url_and_an_md5(change, problem):
    download.check_file_record(GOOD, "x", ValueError)
    with pytest.raises(ValueError, match=problem):
        download.check_file_record({**GOOD, **change}, "x", ValueError)
    with pytest.raises(ValueError, match=r"x that is not an object"):
        download.check_file_record([GOOD], "x", ValueError)
