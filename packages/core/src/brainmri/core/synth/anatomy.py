"""A head-like anatomy in world space whose shape depends on sex and age.

Sex (0 male, 1 female): males have a larger head, a thicker skull and a larger, thicker
jaw. Age (years): the brain shrinks inside the skull (more CSF), the cortex thins, the
ventricles and temporal horns grow, the hippocampi shrink and grey/white contrast drops.
Each subject also varies at random around these trends, and the head sits in the scanner
with a small random rotation and shift.

Head coordinates: millimetres, x to the patient's left-right (RAS: +x right), y anterior,
z superior, origin at the centre of the cranial cavity. ``world = R @ head + t``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..geometry import rotation_matrix
from .painter import Painter

#: T1-like tissue intensities (before bias, gain and noise).
TISSUE = {
    "fat": 0.85,
    "muscle": 0.42,
    "bone": 0.10,
    "csf": 0.16,
    "gm": 0.47,
    "eye": 0.14,
    "cerebellum": 0.56,
    "brainstem": 0.66,
    "hippocampus": 0.50,
}


@dataclass
class Anatomy:
    """Parameters of one synthetic head (all lengths in mm, angles in degrees)."""

    sex: int
    age: float
    head_scale: float
    skull_mm: float
    scalp_mm: float
    csf_mm: float
    cortex_mm: float
    ventricle_scale: float
    hippocampus_scale: float
    jaw_scale: float
    jaw_mm: float
    wm_intensity: float
    rotation_deg: tuple[float, float, float]
    translation_mm: tuple[float, float, float]

    @classmethod
    def sample(cls, sex: int, age: float, rng: np.random.Generator) -> Anatomy:
        """Draw a subject's anatomy: sex/age trends plus individual variation."""
        if sex not in (0, 1):
            raise ValueError(f"sex must be 0 (male) or 1 (female), not {sex!r}")
        male = sex == 0
        years = float(age) - 20.0
        n = rng.standard_normal(12)
        return cls(
            sex=int(sex),
            age=float(age),
            head_scale=(1.065 if male else 1.0) * (1 + 0.03 * n[0]),
            skull_mm=max(3.0, (6.8 if male else 5.5) + 0.6 * n[1]),
            scalp_mm=max(3.0, 5.0 + 0.8 * n[2]),
            csf_mm=max(1.0, 2.0 + 0.05 * years + 0.4 * n[3]),
            cortex_mm=max(1.5, 3.2 - 0.012 * years + 0.2 * n[4]),
            ventricle_scale=max(0.6, (1 + 0.014 * years) * (1 + 0.1 * n[5])),
            hippocampus_scale=max(0.5, (1 - 0.0028 * years) * (1 + 0.04 * n[6])),
            jaw_scale=(1.12 if male else 1.0) * (1 + 0.04 * n[7]),
            jaw_mm=max(2.5, (5.5 if male else 4.5) + 0.4 * n[8]),
            wm_intensity=0.72 - 0.0012 * years + 0.01 * n[9],
            rotation_deg=tuple(float(v) for v in rng.uniform(-1, 1, 3) * np.array([6.0, 3.0, 4.0])),
            translation_mm=tuple(float(v) for v in rng.uniform(-6, 6, 3)),
        )

    @property
    def head_to_world(self) -> np.ndarray:
        """``(4, 4)`` map from head coordinates to world RAS mm."""
        m = np.eye(4)
        m[:3, :3] = rotation_matrix(self.rotation_deg)
        m[:3, 3] = self.translation_mm
        return m

    def cranial_semi(self) -> np.ndarray:
        """Semi-axes of the cranial cavity (inner skull surface)."""
        return np.array([66.0, 84.0, 64.0]) * self.head_scale

    def brain_semi(self) -> np.ndarray:
        """Semi-axes of the brain (pial surface): cavity minus the CSF layer."""
        return self.cranial_semi() - self.csf_mm

    def hippocampi(self) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """``{"left"|"right": (centre, semi, rotation)}`` in head coordinates (left: x < 0)."""
        s = self.head_scale
        rot = rotation_matrix((-20.0, 0.0, 0.0))  # anterior end lower
        semi = np.array([6.5, 17.0, 6.0]) * self.hippocampus_scale * s
        return {
            side: (np.array([sign * 27.0, -14.0, -22.0]) * s, semi, rot)
            for side, sign in (("left", -1.0), ("right", 1.0))
        }

    def to_dict(self) -> dict:
        """JSON-ready parameters."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


def paint_anatomy(painter: Painter, anatomy: Anatomy) -> tuple[np.ndarray, np.ndarray]:
    """Paint the head into ``painter.image``.

    Returns:
        ``(brain_mask, hippocampus)``: bool and uint8 (0 / 1 left / 2 right) ``(X, Y, Z)``.
    """
    a, s, t = anatomy, anatomy.head_scale, TISSUE

    def shell(centre, semi, outer, inner, thickness, rotation=None):
        painter.paint(outer, centre, semi, rotation)
        painter.paint(inner, centre, np.maximum(np.asarray(semi) - thickness, 1.0), rotation)

    # neck and face (front-bottom), jaw bone with the tongue inside, nose, eyes
    shell(np.array([0.0, -15.0, -105.0]) * s, np.array([44.0, 48.0, 60.0]) * s, t["fat"], t["muscle"], 5.0)
    shell(
        np.array([0.0, 30.0, -50.0]) * s, np.array([56.0, 72.0, 40.0]) * s, t["fat"], t["muscle"], a.scalp_mm
    )
    shell(
        np.array([0.0, 42.0, -78.0]) * s,
        np.array([44.0, 46.0, 15.0]) * s * a.jaw_scale,
        t["bone"],
        t["muscle"],
        a.jaw_mm,
    )
    shell(np.array([0.0, 102.0, -48.0]) * s, np.array([9.0, 14.0, 16.0]) * s, t["fat"], t["muscle"], 2.5)
    # scalp, skull, CSF, cortex, white matter
    cavity = a.cranial_semi()
    centre = np.zeros(3)
    painter.paint(t["fat"], centre, cavity + a.skull_mm + a.scalp_mm)
    painter.paint(t["bone"], centre, cavity + a.skull_mm)
    for sign in (-1.0, 1.0):
        painter.paint(t["eye"], np.array([sign * 31.0, 80.0, -40.0]) * s, np.full(3, 12.0 * s))
    painter.paint(t["csf"], centre, cavity)
    brain = painter.paint(t["gm"], centre, a.brain_semi(), mask=True)
    painter.paint(a.wm_intensity, centre, a.brain_semi() - a.cortex_mm)
    for sign in (-1.0, 1.0):
        brain |= painter.paint(
            t["cerebellum"],
            np.array([sign * 16.0, -48.0, -28.0]) * s,
            np.array([16.0, 14.0, 11.0]) * s,
            mask=True,
        )
    brain |= painter.paint(
        t["brainstem"], np.array([0.0, -22.0, -35.0]) * s, np.array([10.0, 11.0, 26.0]) * s, mask=True
    )
    # ventricles, temporal horns, hippocampi
    v = a.ventricle_scale
    for sign in (-1.0, 1.0):
        painter.paint(t["csf"], np.array([sign * 9.0, -2.0, 10.0]) * s, np.array([5.0, 22.0, 8.0]) * s * v)
    painter.paint(t["csf"], np.array([0.0, -5.0, -5.0]) * s, np.array([1.5, 10.0, 8.0]) * s * v)
    hippocampi = a.hippocampi()
    for c, _, rot in hippocampi.values():
        horn = c + rot @ np.array([0.0, 2.0, 6.0 + 2.0 * v]) * s
        painter.paint(t["csf"], horn, np.array([2.5, 12.0, 2.5]) * s * v, rot)
    labels = np.zeros(painter.shape, dtype=np.uint8)
    for value, side in ((1, "left"), (2, "right")):
        c, semi, rot = hippocampi[side]
        labels[painter.paint(t["hippocampus"], c, semi, rot, mask=True)] = value
    return brain, labels
