"""Verified downloads: stream a URL to a file, check its md5, never leave a partial file.

The file is written to a temporary name in the destination folder and moved
into place with ``os.replace`` only after every byte arrived and the md5
matched, so a failed, interrupted or corrupt download leaves the folder as it
was: no partial file, and a file already at the destination is never
overwritten by a failure. Only the standard library (``urllib``) is used.

The registries (``registry/medmnist.json``, ``registry/tinyimagenet.json``)
list each file's name, official URL and md5. :func:`load_registry` reads one
(or its replacement in the folder named by ``CROSSDOMAIN_REGISTRY``) and
checks it; :func:`download_url` is the address a registry file is fetched
from: ``<mirror>/<file name>`` when ``CROSSDOMAIN_MIRROR_URL`` is set, else
the official URL (see :mod:`crossdomain_kit.config`).

Introduced in ``notebooks/03_transfer_shifted_domains.ipynb``.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from importlib import resources
from pathlib import Path
from typing import Callable

from tqdm.auto import tqdm

from .. import _checks, config
from .._files import sibling_temp_path

USER_AGENT = "crossdomain-kit (+https://github.com/crossdomain-kit/crossdomain-kit)"
_MD5 = re.compile(r"[0-9a-f]{32}")
_CHUNK_BYTES = 1 << 16


class DownloadError(OSError):
    """A download failed; the message names the URL, the destination and the fix.

    Attributes:
        url: the URL that was requested.
        destination: where the file was to be saved.
        status: the HTTP status code when the server answered with an error,
            else None (network error, timeout, truncated body, md5 mismatch).
    """

    def __init__(self, message: str, url: str, destination: Path, status: int | None = None):
        super().__init__(message)
        self.url = url
        self.destination = destination
        self.status = status


class _Retryable(Exception):
    """An attempt failed in a way that another attempt may fix."""

    def __init__(self, reason: str, status: int | None = None):
        super().__init__(reason)
        self.status = status


def download_file(url: str, destination: str | os.PathLike, md5: str | None = None, *,
                  timeout: float = 30.0, retries: int = 3, backoff: float = 1.0,
                  deadline: float | None = None, progress: bool = True) -> Path:
    """Download ``url`` to ``destination``, verifying its md5 before it appears.

    Connection errors, timeouts, truncated bodies and HTTP 5xx/429 answers are
    retried, waiting ``backoff``, then ``2 * backoff``, ``4 * backoff``, ...
    seconds in between; other HTTP
    errors (404, 403, ...) and md5 mismatches are not. A successful download
    replaces a file already at ``destination``; a failed one never touches it,
    and removes the folders it created for it.

    Args:
        url: an ``http://`` or ``https://`` URL.
        destination: path of the file to create; its folder is created if needed.
        md5: expected md5 hex digest (32 hexadecimal characters), or None to
            skip the check.
        timeout: seconds to wait for the connection and for each read before
            the attempt counts as stalled. It bounds each wait, not the
            download: a server that trickles a few bytes at a time never
            stalls; ``deadline`` bounds that.
        retries: extra attempts after the first one (0 = try once).
        backoff: base waiting time in seconds between attempts.
        deadline: seconds for the whole download, every attempt and wait
            included, after which it stops (not retried; it is noticed
            between reads, so at most one ``timeout`` late); None: no limit
            beyond ``timeout`` per wait.
        progress: show a tqdm progress bar (bytes received), labelled with
            the file's name and the server it comes from (a mirror or the
            official host).

    Returns:
        The destination as an absolute ``Path``.

    Raises:
        ValueError: for a malformed argument (``Received: name=value``).
        DownloadError: when every attempt failed or the md5 did not match; the
            message names the URL, the destination and how to fix it.
    """
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise _checks.fail("`url` must be an http:// or https:// URL.", "url", url)
    if md5 is not None and (not isinstance(md5, str) or not _MD5.fullmatch(md5.lower())):
        raise _checks.fail("`md5` must be 32 hexadecimal characters, or None.", "md5", md5)
    md5 = md5.lower() if md5 is not None else None
    _checks.positive(timeout, "timeout")
    _checks.non_negative_int(retries, "retries")
    _checks.real_in(backoff, "backoff", 0.0)
    if deadline is not None:
        _checks.positive(deadline, "deadline")
    destination = Path(destination).expanduser().resolve()
    if destination.is_dir():
        raise _checks.fail("`destination` must be a file path, not a folder.",
                           "destination", str(destination))
    if destination.parent.exists() and not destination.parent.is_dir():
        raise _checks.fail(f"`destination` must be in a folder; {destination.parent} is a file.",
                           "destination", str(destination))
    created = [p for p in reversed(destination.parents) if not p.exists()]
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _download_with_retries(url, destination, md5, timeout, retries, backoff,
                                      None if deadline is None else time.monotonic() + deadline, progress)
    except BaseException:
        for folder in reversed(created):  # the folders this call made, innermost first, if still empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _download_with_retries(url: str, destination: Path, md5: str | None, timeout: float, retries: int,
                           backoff: float, stop_at: float | None, progress: bool) -> Path:
    attempt = 1
    while True:
        try:
            _download_once(url, destination, md5, timeout, progress, stop_at)
            return destination
        except _Retryable as err:
            wait = backoff * 2 ** (attempt - 1)
            out_of_time = stop_at is not None and time.monotonic() + wait >= stop_at
            if attempt > retries or out_of_time:
                raise DownloadError(
                    f"Could not download {url} to {destination} "
                    f"({attempt} attempt{'s' if attempt > 1 else ''}"
                    f"{', out of time' if out_of_time and attempt <= retries else ''}): {err}. "
                    "Check the network connection and try again (a larger timeout helps on slow links: "
                    f"`timeout=` in Python, --timeout on the command line), or download the file yourself "
                    f"from {url} and save it as {destination}.",
                    url, destination, err.status) from err
            time.sleep(wait)
            attempt += 1


def _download_once(url: str, destination: Path, md5: str | None, timeout: float,
                   progress: bool, stop_at: float | None = None) -> None:
    """One attempt: stream to a temporary file, verify, then rename into place."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    temp = sibling_temp_path(destination)
    try:
        with open(temp, "xb") as out:
            digest = _stream(request, out, destination, timeout, progress, stop_at)
            out.flush()
            os.fsync(out.fileno())
        if md5 is not None and digest != md5:
            raise DownloadError(
                f"The file downloaded from {url} has md5 {digest}, expected {md5}: it is corrupt "
                f"or not the expected file, so it was discarded (nothing was written to "
                f"{destination}). Try again later; if it keeps happening the file on the server "
                "has changed.",
                url, destination)
        os.replace(temp, destination)
    except urllib.error.HTTPError as err:
        if err.code >= 500 or err.code == 429:
            raise _Retryable(f"HTTP {err.code} {err.reason}", err.code) from err
        raise DownloadError(
            f"The server answered HTTP {err.code} {err.reason} for {url}: the file is not "
            f"available at that address. Download it yourself (check the address) and save "
            f"it as {destination}.", url, destination, err.code) from err
    except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError) as err:
        raise _Retryable(_reason(err)) from err
    finally:
        temp.unlink(missing_ok=True)


def _stream(request: urllib.request.Request, out, destination: Path, timeout: float,
            progress: bool, stop_at: float | None = None) -> str:
    """Copy the response body to ``out``; return its md5 hex digest."""
    digest = hashlib.md5(usedforsecurity=False)
    received = 0
    if stop_at is not None:  # no single wait may outlast the deadline either
        timeout = max(0.01, min(timeout, stop_at - time.monotonic()))
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        expected = int(length) if length and length.isdigit() else None
        with tqdm(total=expected, unit="B", unit_scale=True, unit_divisor=1024, disable=not progress,
                  desc=f"{destination.name} from {urllib.parse.urlsplit(request.full_url).netloc}",
                  leave=False) as bar:
            while chunk := response.read1(_CHUNK_BYTES):  # read1: what has arrived, so the deadline is seen
                if stop_at is not None and time.monotonic() > stop_at:
                    raise DownloadError(
                        f"Gave up downloading {request.full_url}: the deadline passed with {received:,} bytes "
                        f"received{f' of {expected:,}' if expected else ''} (the server is sending too slowly). "
                        f"Nothing was written to {destination}; try again later, allow more time, or download "
                        "the file yourself and save it there.", request.full_url, destination)
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if expected is not None and received != expected:
        raise http.client.IncompleteRead(b"", expected - received)
    return digest.hexdigest()


def _reason(err: BaseException) -> str:
    """A one-line reason for a retryable failure."""
    if isinstance(err, TimeoutError) or isinstance(getattr(err, "reason", None), TimeoutError):
        return "the server stopped answering (timed out)"
    if isinstance(err, http.client.IncompleteRead):
        return "the connection closed before the whole file arrived (truncated download)"
    if isinstance(err, urllib.error.URLError):
        return f"network error: {err.reason}"
    return f"{type(err).__name__}: {err}"


# --- registries and the mirror -----------------------------------------------------------------

def download_url(file_name: str, url: str) -> str:
    """The address a registry file is downloaded from: the mirror's, else the official one.

    Args:
        file_name: the file's name in the registry, e.g. ``"pneumoniamnist.npz"``.
        url: its official URL in the registry.

    Returns:
        ``<mirror>/<file name>`` when ``CROSSDOMAIN_MIRROR_URL`` is set
        (:func:`crossdomain_kit.config.mirror_url`), else ``url``.

    Raises:
        ValueError: the mirror setting is malformed.
    """
    mirror = config.mirror_url()
    return url if mirror is None else f"{mirror}/{urllib.parse.quote(file_name)}"


def mirror_advice(file_name: str, url: str) -> str:
    """What to check when a download from the mirror failed; ``""`` without a mirror.

    Args:
        file_name: the file's name in the registry.
        url: its official URL.

    Returns:
        A sentence naming the mirror setting, the checksum registry and the
        official URL, to append to an error message.
    """
    mirror = config.mirror_url()
    if mirror is None:
        return ""
    return (f"The address is the mirror's ({config.MIRROR_URL_ENV}={mirror!r}): check that the "
            f"mirror holds {file_name}; a mirror whose files differ from the official ones needs "
            f"their md5s in a registry folder named by {config.REGISTRY_ENV} (see "
            f"crossdomain_kit.config); or unset {config.MIRROR_URL_ENV} to download from {url}.")


def load_registry(file_name: str, check: Callable[[dict, Callable[[str], ValueError]], None]) -> dict:
    """A registry, parsed and checked: the packaged file, or its replacement from ``CROSSDOMAIN_REGISTRY``.

    Args:
        file_name: ``"medmnist.json"`` or ``"tinyimagenet.json"``.
        check: ``check(data, bad)`` raises ``bad(problem)`` for a registry
            that is not in the expected format.

    Returns:
        A fresh dict (safe to modify).

    Raises:
        ValueError: the setting is malformed, or the file is not valid JSON
            or not in the format (the message names the file, the problem
            and, for a replacement, the setting).
    """
    path = config.registry_file(file_name)
    if path is None:
        text = (resources.files(__package__) / "registry" / file_name).read_text(encoding="utf-8")
        where, fix = f"The packaged registry crossdomain_kit/data/registry/{file_name}", "Reinstall the kit."
    else:
        text = path.read_text(encoding="utf-8")
        where = f"The registry {path}"
        fix = (f"Fix it (the format is that of the packaged crossdomain_kit/data/registry/{file_name}) "
               f"or unset {config.REGISTRY_ENV}. Received: "
               f"{config.REGISTRY_ENV}={os.environ.get(config.REGISTRY_ENV)!r}")

    def bad(problem: str) -> ValueError:
        return ValueError(f"{where} {problem}. {fix}")

    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise bad(f"is not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise bad(f"holds a JSON {type(data).__name__}, not an object")
    check(data, bad)
    return data


def is_plain_file_name(name) -> bool:
    """Whether ``name`` is a file name without a folder: no ``/``, ``\\`` or ``:``, not hidden, not empty."""
    return isinstance(name, str) and bool(name) and not name.startswith(".") and not set(name) & set("/\\:")


def check_file_record(record, key: str, bad: Callable[[str], ValueError]) -> None:
    """Check a registry's ``{"file", "url", "md5"}`` record.

    Args:
        record: the parsed record.
        key: where it is in the registry, for the message (e.g. ``datasets.breastmnist.files.28``).
        bad: makes the error from a problem.

    Raises:
        What ``bad`` makes: the record is not an object, its ``file`` is not a
            plain file name, its ``url`` not an http(s) URL or its ``md5`` not
            32 hexadecimal characters.
    """
    if not isinstance(record, dict):
        raise bad(f"has {key} that is not an object with file, url and md5")
    name, url, md5 = record.get("file"), record.get("url"), record.get("md5")
    if not is_plain_file_name(name):
        raise bad(f"has {key}.file={name!r}; expected a plain file name such as 'breastmnist.npz'")
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise bad(f"has {key}.url={url!r}; expected an http:// or https:// URL")
    if not isinstance(md5, str) or not _MD5.fullmatch(md5.lower()):
        raise bad(f"has {key}.md5={md5!r}; expected 32 hexadecimal characters (checksums cannot be "
                  "left out)")
