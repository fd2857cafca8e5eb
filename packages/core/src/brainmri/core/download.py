"""HTTP downloads with resume, a progress bar and checksums, on the standard library only.

:func:`fetch` is the one downloader of brainmri: ``brainmri-core download`` (datasets) and
``--checkpoint URL#sha256=...`` (trained models) both use it. An interrupted transfer keeps
its bytes in ``<dest>.partial``; the next call asks the server for the rest (``Range``) and
appends. ``dest`` itself appears only complete and verified (renamed from the partial file),
so a killed download never leaves a file that looks finished. A checksum mismatch removes
the partial file (its bytes are wrong, resuming would keep them wrong).
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .errors import BrainmriError

CHUNK = 1 << 20


class DownloadInterrupted(BrainmriError):
    """The transfer stopped early; the partial file is kept and the same call resumes it."""


TIMEOUT_S = 60.0


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` names this machine (``127.0.0.0/8``, ``::1``, ``localhost``)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file (read in 1 MiB chunks)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _offline_message(url: str, reason) -> str:
    reason = getattr(reason, "strerror", None) or str(reason)
    return f"{url}: cannot connect ({reason}); check the network connection or the URL"


def _open(url: str, start: int):
    request = urllib.request.Request(url, headers={"User-Agent": "brainmri"})
    if start:
        request.add_header("Range", f"bytes={start}-")
    try:
        return urllib.request.urlopen(request, timeout=TIMEOUT_S)  # noqa: S310 (scheme checked by fetch)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start:  # asked past the end: the partial file is complete (or stale)
            return None
        raise BrainmriError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise BrainmriError(_offline_message(url, exc.reason)) from None
    except (TimeoutError, ConnectionError) as exc:
        raise BrainmriError(_offline_message(url, exc)) from None


def _resumed_from(response, start: int) -> int:
    """Where the body of ``response`` starts: ``start`` for a matching 206, else 0 (whole file)."""
    if start and response.status == 206:
        content_range = response.headers.get("Content-Range", "")
        unit, _, spec = content_range.partition(" ")
        first = spec.split("-", 1)[0]
        if unit == "bytes" and first.isdigit() and int(first) == start:
            return start
    return 0


def fetch(
    url: str,
    dest: str | os.PathLike,
    *,
    sha256: str | None = None,
    md5: str | None = None,
    progress: bool = True,
    label: str | None = None,
) -> Path:
    """Download ``url`` to ``dest``, resuming a ``dest.partial`` left by an interrupted call.

    Args:
        url: ``https://`` anywhere; ``http://`` (the IXI site publishes only http) is
            accepted: the checksum, when given, is what protects the content.
        dest: Final file; written only complete and verified.
        sha256, md5: Expected hex digests (either or both; checked when given).
        progress: A progress bar on a terminal; one line when done otherwise.
        label: Name shown in the progress bar (default: the file name).

    Returns:
        ``dest``.

    Raises:
        BrainmriError: One line: offline or refused connection, HTTP error, an interrupted
        transfer (``dest.partial`` kept: the same call resumes) or a checksum mismatch
        (``dest.partial`` removed).
    """
    from tqdm.auto import tqdm

    from .batchlog import wants_lines

    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise BrainmriError(f"{url}: only http(s) URLs can be downloaded")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    start = partial.stat().st_size if partial.is_file() else 0
    response = _open(url, start)
    name = label or dest.name
    if response is not None:
        with response:
            offset = _resumed_from(response, start)
            length = response.headers.get("Content-Length")
            total = offset + int(length) if length and length.isdigit() else None
            done = offset
            bar = tqdm(
                total=total,
                initial=offset,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=name,
                file=sys.stderr,
                leave=False,
                disable=not progress or wants_lines(),
            )
            try:
                with open(partial, "ab" if offset else "wb") as out:
                    while True:
                        try:
                            chunk = response.read(CHUNK)
                        except (OSError, ValueError) as exc:  # reset, timeout, IncompleteRead
                            raise DownloadInterrupted(
                                f"{url}: transfer interrupted after {done} of {total or '?'} bytes "
                                f"({type(exc).__name__}); run the same command again to resume"
                            ) from None
                        if not chunk:
                            break
                        out.write(chunk)
                        done += len(chunk)
                        bar.update(len(chunk))
            finally:
                bar.close()
            if total is not None and done < total:
                raise DownloadInterrupted(
                    f"{url}: transfer interrupted after {done} of {total} bytes; run the same command again to resume"
                )
    if not partial.is_file():
        raise BrainmriError(f"{url}: the server sent nothing")
    for algorithm, expected in (("sha256", sha256), ("md5", md5)):
        if expected:
            got = file_digest(partial, algorithm)
            if got.lower() != expected.lower():
                partial.unlink()
                raise BrainmriError(
                    f"{url}: {algorithm} mismatch (expected {expected.lower()}, got {got}): "
                    "corrupted or changed download, removed"
                )
    os.replace(partial, dest)
    if progress and wants_lines():
        print(f"downloaded {name}: {dest.stat().st_size / 1e6:.1f} MB", file=sys.stderr)
    return dest


def remove_partial(dest: str | os.PathLike) -> None:
    """Delete the ``.partial`` file of ``dest`` (when giving up on a download)."""
    with contextlib.suppress(FileNotFoundError):
        Path(str(dest) + ".partial").unlink()
