"""Label lookups: the label values of automatic segmentations mapped to a task's classes.

Researchers hold FreeSurfer ``aseg``, SynthSeg or DLMUSE outputs; a lookup turns one of those
label maps into the task's classes (0 background, 1 left, 2 right for the hippocampus), and
checks the sides against world coordinates, since array order says nothing about them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DatasetError
from ..volume import Volume

#: Named lookups: FreeSurfer aseg / SynthSeg (17 left, 53 right hippocampus) and DLMUSE/MUSE
#: (ROI 48 left, 47 right hippocampus; see MUSE_listROIs.csv).
PRESETS: dict[str, str] = {
    "freesurfer": "17=left,53=right",
    "aseg": "17=left,53=right",
    "synthseg": "17=left,53=right",
    "dlmuse": "48=left,47=right",
    "muse": "48=left,47=right",
}


@dataclass(frozen=True)
class LabelLookup:
    """Source label values -> class names, the classes numbered 1, 2... in order of first mention.

    Args:
        pairs: ``((source_value, class_name), ...)``; several values may share a class.

    Example::

        LabelLookup.parse("dlmuse").classes      # {1: "left", 2: "right"}
        LabelLookup.parse("48=left,47=right")   # the same lookup
    """

    pairs: tuple[tuple[int, str], ...]

    def __post_init__(self) -> None:
        if not self.pairs:
            raise ValueError("a label lookup needs at least one VALUE=NAME pair")
        values = [v for v, _ in self.pairs]
        if len(set(values)) != len(values):
            raise ValueError(f"a source label appears twice in {self.spec}")
        if any(v <= 0 for v in values):
            raise ValueError(f"source labels must be positive (0 is background), got {self.spec}")

    @classmethod
    def parse(cls, spec: str) -> LabelLookup:
        """A lookup from a preset name (:data:`PRESETS`) or ``VALUE=NAME[,VALUE=NAME...]``.

        Raises:
            ValueError: An unknown preset or a malformed pair (the message shows the grammar).
        """
        text = PRESETS.get(spec.strip().lower(), spec)
        pairs = []
        for item in text.split(","):
            value, sep, name = item.partition("=")
            name = name.strip().lower()
            if not sep or not value.strip().lstrip("-").isdigit() or not name:
                raise ValueError(
                    f"bad label lookup {spec!r}: use a preset ({', '.join(sorted(PRESETS))}) or "
                    "VALUE=NAME pairs such as 48=left,47=right"
                )
            pairs.append((int(value), name))
        return cls(tuple(pairs))

    @property
    def spec(self) -> str:
        """The lookup as ``VALUE=NAME,...`` (what :meth:`parse` reads back)."""
        return ",".join(f"{v}={n}" for v, n in self.pairs)

    @property
    def classes(self) -> dict[int, str]:
        """Class index -> name, 1-based in order of first mention."""
        names = list(dict.fromkeys(n for _, n in self.pairs))
        return {i: n for i, n in enumerate(names, start=1)}

    @property
    def lr_pairs(self) -> list[list[int]]:
        """``[[left, right]]`` when the classes are named ``left`` and ``right`` (swapped by a flip)."""
        index = {n: i for i, n in self.classes.items()}
        return [[index["left"], index["right"]]] if {"left", "right"} <= set(index) else []

    def apply(self, volume: Volume) -> Volume:
        """The label map ``(X, Y, Z)`` in the lookup's classes (uint8; other values -> 0).

        Raises:
            DatasetError: Non-integer values, a class with no voxel, or ``left`` lying right
                of ``right`` in world coordinates (a wrong lookup or a flipped affine), naming
                the file.
        """
        from ..geometry import mask_centroid_world
        from .labels import integer_labels

        source = integer_labels(volume)
        index = {n: i for i, n in self.classes.items()}
        out = np.zeros(source.shape, dtype=np.uint8)
        for value, name in self.pairs:
            out[source == value] = index[name]
        for i, name in self.classes.items():
            if not (out == i).any():
                values = [v for v, n in self.pairs if n == name]
                raise DatasetError(volume.path, f"no voxel has label {'/'.join(map(str, values))} ({name}) "
                                   f"of the lookup {self.spec}")
        if self.lr_pairs:
            left, right = self.lr_pairs[0]
            lx = mask_centroid_world(out == left, volume.affine)[0]
            rx = mask_centroid_world(out == right, volume.affine)[0]
            if lx >= rx:
                raise DatasetError(
                    volume.path,
                    f"the 'left' label lies right of the 'right' label in world coordinates "
                    f"(x {lx:.1f} >= {rx:.1f} mm, RAS): the lookup {self.spec} has the sides swapped, "
                    "or the file's affine is flipped",
                )
        return Volume(out, volume.affine.copy(), volume.path, volume.header)
