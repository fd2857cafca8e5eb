"""Rasterising analytic world-space shapes onto any voxel grid, exactly and fast.

Every shape is a quadric in head coordinates; head coordinates are an affine function of
voxel indices, so each shape's normalised radius ``r2`` is a quadratic polynomial of the
indices ``(i, j, k)``. It is evaluated as ``f(i, j) + g(i, k) + h(j, k)`` (three 2D tables
and two full-size additions), inside the shape's bounding box only. The same world point
gets the same value whatever the grid's storage order or voxel size.
"""

from __future__ import annotations

import numpy as np


class Painter:
    """Paints soft-edged ellipsoids into an intensity volume on one grid.

    Args:
        shape: Grid shape ``(X, Y, Z)``.
        index_to_head: ``(4, 4)`` map from voxel indices to head coordinates (mm).
        edge_mm: Width of the soft (partial-volume) edge in mm.
    """

    def __init__(self, shape, index_to_head: np.ndarray, edge_mm: float = 1.0):
        self.shape = tuple(int(s) for s in shape)
        self.m = np.asarray(index_to_head, dtype=np.float64)
        self.edge_mm = float(edge_mm)
        self.image = np.zeros(self.shape, dtype=np.float32)
        self.head_to_index = np.linalg.inv(self.m)
        # mm per index step along each storage axis
        self.step = np.sqrt((self.m[:3, :3] ** 2).sum(axis=0))

    def _block(self, centre, radius_mm: float):
        """Index slices of the box holding a ball (head coords) of ``radius_mm``; None if outside."""
        c = self.head_to_index[:3, :3] @ np.asarray(centre, dtype=np.float64) + self.head_to_index[:3, 3]
        half = radius_mm / self.step + 1.0
        lo = np.maximum(np.floor(c - half), 0).astype(int)
        hi = np.minimum(np.ceil(c + half) + 1, self.shape).astype(int)
        if np.any(hi <= lo):
            return None
        return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))

    def quadratic(self, lin: np.ndarray, off: np.ndarray, block) -> np.ndarray:
        """``|lin @ idx + off|^2`` over ``block`` (``lin`` (3, 3), ``off`` (3,)), float64."""
        return _polynomial(lin.T @ lin, lin.T @ off, float(off @ off), block, np.float64)

    def ellipsoid(self, centre, semi, rotation=None, margin_mm: float = 0.0):
        """``(block, r2)``: the normalised squared radius of an ellipsoid over its bounding box.

        Args:
            centre: Centre in head coordinates (mm), ``(3,)``.
            semi: Semi-axes (mm), ``(3,)``.
            rotation: ``(3, 3)`` whose columns are the ellipsoid axes in head coordinates.
            margin_mm: Extra room around the box (for soft edges).
        """
        semi = np.asarray(semi, dtype=np.float64)
        rot = np.eye(3) if rotation is None else np.asarray(rotation, dtype=np.float64)
        block = self._block(centre, float(semi.max()) + margin_mm)
        if block is None:
            return None, None
        local = np.diag(1.0 / semi) @ rot.T  # head -> unit sphere
        lin = local @ self.m[:3, :3]
        off = local @ (self.m[:3, 3] - np.asarray(centre, dtype=np.float64))
        return block, self.quadratic(lin, off, block)

    def paint(self, value: float, centre, semi, rotation=None, mask: bool = False) -> np.ndarray | None:
        """Blend ``value`` into the image inside an ellipsoid with a soft edge.

        Returns:
            With ``mask=True``, the hard (``r2 < 1``) membership over the whole grid as bool
            ``(X, Y, Z)`` (all False when the ellipsoid misses the grid); else None.
        """
        semi = np.asarray(semi, dtype=np.float64)
        block, r2 = self.ellipsoid(centre, semi, rotation, margin_mm=2 * self.edge_mm)
        full = np.zeros(self.shape, dtype=bool) if mask else None
        if block is None:
            return full
        if mask:
            full[block] = r2 < 1.0
        # distance to the surface ~ (1 - r2) * a / 2 near it (a: a typical semi-axis)
        scale = float(np.exp(np.log(semi).mean())) / (2.0 * self.edge_mm)
        weight = np.subtract(1.0, r2, out=r2)
        weight *= scale
        weight += 0.5
        np.clip(weight, 0.0, 1.0, out=weight)
        region = self.image[block]
        region += (value - region) * weight.astype(np.float32)
        return full

    def field(self, quad: np.ndarray, lin: np.ndarray, const: float) -> np.ndarray:
        """A quadratic polynomial of head coordinates ``q^T quad q + lin . q + const`` on the grid."""
        a = self.m[:3, :3]
        t = self.m[:3, 3]
        q2 = a.T @ quad @ a
        # express as |L idx + o|^2 is not always possible (indefinite); expand directly
        b = a.T @ (quad @ t) + 0.5 * a.T @ lin
        c = float(t @ quad @ t + lin @ t + const)
        return _polynomial(q2, b, c, tuple(slice(0, n) for n in self.shape), np.float32)

    def waves(self, vectors: np.ndarray, phases: np.ndarray, amplitudes: np.ndarray) -> np.ndarray:
        """``sum_n a_n sin(w_n . q + phi_n)`` over the grid (``q`` head coords), float32."""
        a = self.m[:3, :3]
        t = self.m[:3, 3]
        out = np.zeros(self.shape, dtype=np.float32)
        for w, phi, amp in zip(vectors, phases, amplitudes):
            coef = a.T @ w
            const = float(w @ t + phi)
            ei, ej, ek = (
                np.exp(1j * (coef[n] * np.arange(s) + (const if n == 0 else 0.0))).astype(np.complex64)
                for n, s in enumerate(self.shape)
            )
            prod = (ei[:, None] * ej[None, :])[:, :, None] * ek[None, None, :]
            out += amp * prod.imag
        return out


def _polynomial(quad: np.ndarray, b: np.ndarray, c: float, block, dtype) -> np.ndarray:
    """``idx^T quad idx + 2 b . idx + c`` over a block of indices, as ``f(i, j) + g(i, k) + h(j, k)``."""
    i, j, k = (np.arange(s.start, s.stop, dtype=np.float64) for s in block)
    f = (
        quad[0, 0] * i[:, None] ** 2
        + 2 * quad[0, 1] * i[:, None] * j[None, :]
        + quad[1, 1] * j[None, :] ** 2
        + 2 * b[0] * i[:, None]
        + 2 * b[1] * j[None, :]
        + c
    )
    g = 2 * quad[0, 2] * i[:, None] * k[None, :] + quad[2, 2] * k[None, :] ** 2 + 2 * b[2] * k[None, :]
    h = 2 * quad[1, 2] * j[:, None] * k[None, :]
    out = (f[:, :, None] + g[:, None, :]).astype(dtype, copy=False)
    out += h[None, :, :]
    return out
