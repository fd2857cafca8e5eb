"""Where a trained model comes from: a run folder, a ``.bmri`` file, or a URL with its sha256.

A URL must carry the file's SHA-256 (``https://host/model.bmri#sha256=<64 hex>``, or the
``sha256`` argument): the file is downloaded once into the user cache
(``$BRAINMRI_CACHE_DIR``, else ``$XDG_CACHE_HOME/brainmri``, else ``~/.cache/brainmri``),
verified, and reused afterwards (verified again on each use). ``https://`` is required,
except for loopback hosts (``127.0.0.1``, ``::1``, ``localhost``), where ``http://`` is
accepted: a local test or model server, never the network.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from pathlib import Path

from ..errors import BrainmriError

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


def cache_dir() -> Path:
    """brainmri's user cache folder (downloaded models, unpacked ``.bmri`` runs)."""
    explicit = os.environ.get("BRAINMRI_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "brainmri"


def is_url(value) -> bool:
    """Whether ``value`` is an ``http(s)://`` URL (not a local path)."""
    return isinstance(value, str) and value.lower().startswith(("http://", "https://"))


def fetch_model(url: str, sha256: str | None = None, progress: bool = True) -> Path:
    """The local, verified copy of the model file at ``url`` (downloaded into the cache once).

    Args:
        url: ``https://...`` (``http://`` only for loopback hosts), optionally ending in
            ``#sha256=<hex>``.
        sha256: The file's SHA-256 when the URL does not carry it. One of the two is required.
        progress: Progress bar.
    """
    from ..download import fetch, file_digest, is_loopback_url

    base, _, fragment = url.partition("#")
    given = dict(urllib.parse.parse_qsl(fragment)).get("sha256") if fragment else None
    if given and sha256 and given.lower() != sha256.lower():
        raise BrainmriError(f"{url}: the URL's sha256 and --sha256 differ")
    digest = (given or sha256 or "").lower()
    if not digest:
        raise BrainmriError(f"{url}: a model URL needs its sha256 (append #sha256=<64 hex digits>)")
    if not _SHA256.match(digest):
        raise BrainmriError(f"{url}: sha256 must be 64 hex digits, got {digest!r}")
    scheme = urllib.parse.urlsplit(base).scheme.lower()
    if scheme != "https" and not (scheme == "http" and is_loopback_url(base)):
        raise BrainmriError(f"{url}: model URLs must be https:// (http:// only on this machine, 127.0.0.1)")
    name = Path(urllib.parse.urlsplit(base).path).name or "model"
    dest = cache_dir() / "models" / digest / name
    if dest.is_file():
        if file_digest(dest) == digest:
            return dest
        dest.unlink()  # changed in the cache: fetch again
    return fetch(base, dest, sha256=digest, progress=progress)


def resolve_model(source, *, folder: bool = False, progress: bool = True) -> Path:
    """A local run folder or ``.bmri`` file for ``source`` (a folder, a ``.bmri`` file or a URL).

    Args:
        source: Run folder, ``.bmri`` file, or ``https://...#sha256=...``.
        folder: Return a run folder even for a ``.bmri`` file (unpacked into the cache), for
            commands that write into the run (``evaluate``).
        progress: Progress bar of a download.
    """
    from .bmri import is_bmri, unpack_bmri

    path = fetch_model(source, progress=progress) if is_url(source) else Path(source)
    if folder and is_bmri(path):
        return unpack_bmri(path)
    return path
