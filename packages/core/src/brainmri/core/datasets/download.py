"""Published datasets in one call: IXI T1 (+ IXI.xls) and MSD Task04 Hippocampus.

Each dataset is downloaded (resumable, checksummed where the publisher gives a checksum),
extracted into a staging folder beside the destination, checked with the same reader that
``--dataset ixi|msd --root DIR`` uses, and only then renamed onto ``DIR``. A killed or failed
download therefore leaves no half dataset in ``DIR``: only the hidden staging folder
``.DIR.download/`` (whose partial archive the next call resumes).

Sources (the URLs and checksums the established loaders use):

- IXI: ``IXI-T1.tar`` and ``IXI.xls`` from the IXI site's download folder, as in TorchIO's
  ``torchio/datasets/ixi.py`` (``IXI.base_url``, ``md5_dict['T1']``). The publisher gives no
  checksum for ``IXI.xls``; it is checked by reading it.
- MSD Task04: ``Task04_Hippocampus.tar`` from the mirror and md5 of MONAI's
  ``monai/apps/datasets.py`` (``DecathlonDataset.resource`` / ``.md5``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tarfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import BrainmriError

MARKER = ".brainmri-download.json"


@dataclass(frozen=True)
class Archive:
    """One file of a dataset: its name on the server, md5 (None: not published), tar or not."""

    name: str
    md5: str | None = None
    extract: bool = True
    strip: str | None = None  # top folder of the tar whose contents go to the dataset root


@dataclass(frozen=True)
class DatasetSource:
    """A downloadable dataset: base URL, files, and the ``--dataset`` layout that reads it."""

    name: str
    layout: str
    base_url: str
    files: tuple[Archive, ...] = field(default_factory=tuple)
    licence: str = ""


SOURCES = {
    "ixi": DatasetSource(
        name="ixi",
        layout="ixi",
        base_url="http://biomedic.doc.ic.ac.uk/brain-development/downloads/IXI/",
        files=(
            Archive("IXI-T1.tar", md5="34901a0593b41dd19c1a1f746eac2d58"),
            Archive("IXI.xls", extract=False),
        ),
        licence="IXI: CC BY-SA 3.0, acknowledge https://brain-development.org/ixi-dataset/",
    ),
    "msd-hippocampus": DatasetSource(
        name="msd-hippocampus",
        layout="msd",
        base_url="https://msd-for-monai.s3-us-west-2.amazonaws.com/",
        files=(Archive("Task04_Hippocampus.tar", md5="9d24dba78a72977dbd1d2e110310f31b", strip="Task04_Hippocampus"),),
        licence="Medical Segmentation Decathlon Task04: CC BY-SA 4.0, http://medicaldecathlon.com/",
    ),
}


def _member_target(member: tarfile.TarInfo, strip: str | None) -> PurePosixPath | None:
    """Where a tar member goes below the dataset root; None to skip it. Refuses unsafe names."""
    path = PurePosixPath(member.name)
    if path.is_absolute() or ".." in path.parts:
        raise BrainmriError(f"{member.name}: unsafe path in the archive (absolute or '..'); refused")
    parts = [p for p in path.parts if p not in ("", ".")]
    if strip is not None and parts and parts[0] == strip:
        parts = parts[1:]
    if not parts or parts[0] == "__MACOSX" or parts[-1].startswith("._"):
        return None  # the root itself, and macOS AppleDouble metadata files
    if not (member.isfile() or member.isdir()):
        raise BrainmriError(f"{member.name}: the archive holds a link or device; refused")
    return PurePosixPath(*parts)


def extract_tar(archive: Path, into: Path, strip: str | None = None) -> int:
    """Extract regular files of ``archive`` into ``into`` (no links, nothing outside it).

    Returns:
        Number of files extracted.
    """
    count = 0
    try:
        with tarfile.open(archive) as tar:
            for member in tar:
                target = _member_target(member, strip)
                if target is None:
                    continue
                out = into.joinpath(*target.parts)
                if member.isdir():
                    out.mkdir(parents=True, exist_ok=True)
                    continue
                out.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                if source is None:
                    continue
                with source, open(out, "wb") as fh:
                    shutil.copyfileobj(source, fh, 1 << 20)
                count += 1
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BrainmriError(f"{archive.name}: not a readable tar archive ({type(exc).__name__}: {exc})") from None
    return count


def _staging(dest: Path) -> Path:
    return dest.parent / f".{dest.name}.download"


def _check_destination(dest: Path, source: DatasetSource) -> bool:
    """True when ``dest`` already holds this dataset; raises when it holds something else."""
    if not dest.exists():
        return False
    if not dest.is_dir():
        raise BrainmriError(f"{dest}: exists and is not a folder")
    marker = dest / MARKER
    if marker.is_file():
        with contextlib.suppress(OSError, ValueError):
            if json.loads(marker.read_text(encoding="utf-8")).get("dataset") == source.name:
                return True
    if any(dest.iterdir()):
        raise BrainmriError(f"{dest}: exists and is not empty; give a new or empty folder")
    return False


def download_dataset(
    name: str,
    dest: str | os.PathLike,
    *,
    base_url: str | None = None,
    md5: dict[str, str] | None = None,
    progress: bool = True,
) -> Path:
    """Download, verify and extract a published dataset into ``dest``.

    Args:
        name: ``ixi`` or ``msd-hippocampus`` (:data:`SOURCES`).
        dest: The dataset folder to create (absent or empty). Afterwards
            ``load_dataset(layout, dest)`` reads it (``--dataset ixi|msd --root dest``).
        base_url: Another server holding the same files (a mirror; tests use 127.0.0.1).
        md5: Checksums replacing the published ones, by file name (a mirror of another version).
        progress: Progress bars (one line per file when stderr is not a terminal).

    Returns:
        ``dest``.

    Raises:
        BrainmriError: One line (offline, HTTP error, interrupted transfer, checksum mismatch,
        unreadable archive, or a result the layout's reader does not accept).
    """
    from ..download import DownloadInterrupted, fetch
    from .registry import load_dataset

    source = SOURCES.get(name)
    if source is None:
        raise BrainmriError(f"unknown dataset {name!r}; one of {', '.join(SOURCES)}")
    dest = Path(dest)
    staging = _staging(dest)
    if _check_destination(dest, source):  # done before (a kill may have left the staging folder)
        shutil.rmtree(staging, ignore_errors=True)
        return dest
    extract = staging / "extract"
    base = (base_url or source.base_url).rstrip("/") + "/"
    checksums = {a.name: a.md5 for a in source.files}
    checksums.update(md5 or {})
    if extract.exists():  # left by a killed extraction: archives are kept, extraction redone
        shutil.rmtree(extract)
    extract.mkdir(parents=True)
    try:
        for item in source.files:
            path = staging / item.name  # present only complete and verified (fetch renames it last)
            if not path.is_file():
                fetch(base + item.name, path, md5=checksums.get(item.name), progress=progress)
            if not item.extract:
                shutil.copyfile(path, extract / item.name)
            elif extract_tar(path, extract, item.strip) == 0:
                raise BrainmriError(f"{base + item.name}: the archive holds no files")
        index = load_dataset(source.layout, extract)
        if not index.subjects:
            raise BrainmriError(f"{base}: the downloaded files hold no readable {source.layout} subject")
        (extract / MARKER).write_text(
            json.dumps(
                {
                    "dataset": source.name,
                    "base_url": base,
                    "files": [a.name for a in source.files],
                    "subjects": len(index.subjects),
                },
                indent=1,
            )
            + "\n"
        )
    except BrainmriError as exc:
        shutil.rmtree(extract, ignore_errors=True)
        if not isinstance(exc, DownloadInterrupted):  # keep only a partial archive to resume
            shutil.rmtree(staging, ignore_errors=True)
        raise
    except BaseException:
        shutil.rmtree(extract, ignore_errors=True)
        raise
    if dest.exists():
        dest.rmdir()  # empty (checked above)
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(extract, dest)
    shutil.rmtree(staging, ignore_errors=True)
    return dest
