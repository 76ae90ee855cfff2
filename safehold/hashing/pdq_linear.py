"""PDQ as two matrix products: Meta's filter and decimation as one linear operator per axis.

Meta's PDQ turns the luma plane into a 64 x 64 grid by running a box filter twice along each
axis (Jarosz, window ``ceil(n / 128)``, clipped and renormalised at the edges) and sampling
pixel ``int((i + 0.5) * n / 64)``. Every step is linear and separable, so the grid is
``Ry @ luma @ Rx.T`` with ``Rx`` a 64 x width matrix: row ``i`` is the filter's weights for
sample ``i``. Then the 16 x 16 DCT, the median threshold and the quality score follow the
reference. On full-resolution pixels the result is bit-for-bit ``pdqhash``'s (tests check hash
and quality on 90 image/size pairs) at a fraction of its cost: one matrix product instead of
four passes of running sums.

The operator also describes a *reduced* image exactly: a pixel of a JPEG draft decode (DCT
scaling by 1/2, 1/4 or 1/8) or of Pillow's ``reduce`` is about the mean of a block of
full-resolution pixels, so summing ``Rx``'s columns over each block gives the operator that
applies the full-resolution filter to the block means. That is why the fast path stays within
a few bits of the full-resolution hash (0-2 bits on 12-MP photos at 1/4 scale, where resizing
to a working size and hashing that drifted up to 8): it models the reference's own filter at
the reference's own size, window rounding and all, instead of hashing a different image.

The eight dihedral hashes (rotations and mirrors) come from the same DCT: mirroring an axis
negates that axis's odd-numbered coefficients, and a quarter turn transposes.
"""

from __future__ import annotations

import functools
from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = ["LUMA_WEIGHTS", "axis_operator", "pdq_bits_of_luma"]

#: The reference's RGB to luma weights (ITU-R BT.601, what JPEG's Y channel also is).
LUMA_WEIGHTS: Final = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_GRID: Final = 64
_DCT: Final = np.array(
    [[np.sqrt(2 / _GRID) * np.cos(np.pi / 2 / _GRID * (i + 1) * (2 * j + 1)) for j in range(_GRID)]
     for i in range(16)],
    dtype=np.float64,
)
#: Negates the odd-numbered DCT coefficients along an axis: what mirroring that axis does.
_MIRROR: Final = (-1.0) ** (np.arange(16) + 1)


def _window_bounds(n: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """First and last input index averaged into each output of the reference's box filter."""
    full = (n + 2 * _GRID - 1) // (2 * _GRID)
    half = (full + 2) // 2
    out = np.arange(n)
    return np.maximum(0, out - (full - half)), np.minimum(n - 1, out + half - 1)


@functools.lru_cache(maxsize=64)
def axis_operator(full: int, block: int = 1) -> npt.NDArray[np.float32]:
    """The 64 x ``ceil(full / block)`` matrix taking one axis of a luma plane to the 64 grid
    samples: two box passes and the decimation of a ``full``-long axis, with its columns
    summed over runs of ``block`` pixels (for an image reduced by that factor)."""
    if full < 1 or block < 1:
        raise ValueError(f"axis of {full} pixels in blocks of {block}")
    lo, hi = _window_bounds(full)
    op = np.zeros((_GRID, full), dtype=np.float64)
    for row in range(_GRID):
        sample = int((row + 0.5) * full / _GRID)
        first, last = int(lo[sample]), int(hi[sample])
        outer = 1.0 / (last - first + 1)
        for mid in range(first, last + 1):
            a, b = int(lo[mid]), int(hi[mid])
            op[row, a:b + 1] += outer / (b - a + 1)
    if block > 1:
        op = np.add.reduceat(op, np.arange(0, full, block), axis=1)
    return op.astype(np.float32)


def _quality(grid: npt.NDArray[np.floating[Any]]) -> int:
    """The reference's gradient score: summed truncated percentage steps between neighbours / 90."""
    down = np.trunc((grid[:-1, :] - grid[1:, :]) * 100 / 255)
    across = np.trunc((grid[:, :-1] - grid[:, 1:]) * 100 / 255)
    return min(100, int((np.abs(down).sum() + np.abs(across).sum()) // 90))


def _bits(coeffs: npt.NDArray[np.float64]) -> npt.NDArray[np.uint8]:
    """256 bits, bit 255 first (``pdqhash``'s order): set where a coefficient exceeds the median."""
    flat = coeffs.ravel()
    median = np.partition(flat, 127)[127]  # the reference's Torben median: the 128th smallest
    bits: npt.NDArray[np.uint8] = (flat > median).astype(np.uint8)
    return bits[::-1]


def pdq_bits_of_luma(luma: npt.NDArray[np.float32], full_size: tuple[int, int],
                     block: int = 1) -> tuple[list[npt.NDArray[np.uint8]], int]:
    """The eight dihedral bit vectors (``DIHEDRAL_ORDER``; the first is plain PDQ) and the
    quality of a luma plane that is the full-resolution ``full_size`` image (width, height)
    reduced by ``block`` (1: not reduced)."""
    height, width = luma.shape
    rows, cols = axis_operator(full_size[1], block), axis_operator(full_size[0], block)
    if rows.shape[1] != height or cols.shape[1] != width:
        raise ValueError(f"a {width}x{height} plane is not {full_size[0]}x{full_size[1]} reduced by {block}")
    grid = (rows @ luma) @ cols.T
    c = _DCT @ grid.astype(np.float64) @ _DCT.T
    m = _MIRROR
    variants = (c, c.T * m[:, None], c * m[:, None] * m[None, :], c.T * m[None, :],
                c * m[:, None], c * m[None, :], c.T, c.T * m[:, None] * m[None, :])
    return [_bits(v) for v in variants], _quality(grid)
