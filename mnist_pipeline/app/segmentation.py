"""Where a number's digits part: digits that touch cut apart, a digit whose pen lifted joined, the models judging.

The pieces of ink of a number written in a row (:func:`mnist_pipeline.app.imaging.number_masks`) are its digits
only where the writer left paper between them. Two digits written close meet and make one piece; a digit whose
stroke broke where the pen lifted may make two side by side. Both are read here as recognition-based
segmentation reads touching characters (Casey and Lecolinet, "A survey of methods and strategies in character
segmentation", 1996): cut where a cut is likely, then let the classifier say which reading of the row makes
digits.

1. **Cuts** (:func:`seams`): in a piece wider than a narrow digit, the paths from its top to its bottom that
   cross the least ink (a seam, found by dynamic programming as seam carving finds one): where two digits touch,
   such a path crosses only the stroke where they meet, weaving between them where they overlap.
2. **Atoms** (:func:`atoms`): the pieces cut along their seams, left to right.
3. **Readings** (:func:`best_reading`): a digit is one of the writer's pieces whole, or a run of one to
   :data:`MAX_ATOMS` adjacent atoms from at most two pieces (:func:`candidate_runs`); of every way to read the row
   as such runs, the one whose digits are the most plausible in sum (:func:`plausibility`: the models' log
   probability of each digit's likeliest class, and how seldom that digit is written as wide), each digit other
   than one of the writer's own pieces costing :data:`CHANGE_COST`: a cut or a join must make the models clearly
   surer than the pieces as written.

Everything here is pure: boolean masks in, masks out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

# A piece is tried cut when it is wider than this fraction of the row's height: two digits that meet make a piece
# as wide as most digits together (a 1 is about a tenth of the height, most digits half to nine tenths). Numbers
# of our own seeds 1 and 4 read the same with 0.4 (300 of them, apart, touching and pressed), a fifth to a third
# slower; two 1s pressed together are left as written.
MIN_CUT_WIDTH = 0.8
# Seams lie at least this fraction of the row's height from each other and from the piece's sides, a 1's width.
SEAM_SPACING = 0.1
# A seam may cross at most this much ink, in pixels, relative to the row's height: the stroke where two digits
# meet, not the middle of a digit's loop.
MAX_SEAM_INK = 0.25
# At most this many seams a piece, the cheapest.
MAX_SEAMS = 6
# A digit is made of at most this many atoms.
MAX_ATOMS = 4
# How wide each digit is written, width over height of its ink's box (pixels over 40), in MNIST's 60,000 training
# digits: the widths that half, a tenth, a hundredth and a thousandth of each digit's examples reach or exceed
# (tests/test_segmentation.py checks them against MNIST). Two digits that meet
# make a piece wider than the one digit it reads as is ever written (a 3 and a 3: 1.66, where 3s reach 1.43 once
# in a thousand).
WIDE_SHARES = (0.5, 0.1, 0.01, 0.001)
WIDE_ASPECTS = {0: (0.9, 1.11, 1.43, 1.67), 1: (0.4, 0.7, 1.0, 1.18), 2: (0.95, 1.18, 1.67, 2.0),
                3: (0.8, 1.0, 1.25, 1.43), 4: (0.8, 1.0, 1.25, 1.43), 5: (0.95, 1.25, 1.67, 2.0),
                6: (0.75, 0.95, 1.11, 1.43), 7: (0.8, 1.0, 1.25, 1.67), 8: (0.8, 1.0, 1.25, 1.43),
                9: (0.7, 0.9, 1.05, 1.33)}
# What a digit other than one of the writer's own pieces (a part of one, or pieces joined) costs, in log
# probability: the models must be this much surer of the row read so (e^1.5: 4.5 times the product of their
# probabilities).
CHANGE_COST = 1.5


@dataclasses.dataclass(frozen=True)
class Outline:
    """How a number's digit was outlined: its ink's width over its height, and whether it is one of the writer's
    pieces of ink as written (not cut from a wider piece where digits touch, nor joined from two)."""

    aspect: float
    as_written: bool


def row_height(pieces: Sequence[np.ndarray]) -> float:
    """The height of a row of digits: the median height of its pieces' boxes."""
    return float(np.median([_rows(piece)[1] - _rows(piece)[0] for piece in pieces]))


def seams(piece: np.ndarray, height: float) -> list[np.ndarray]:
    """The seams to cut ``piece`` (a boolean mask) along, left to right: for each, the column it takes in each of
    the mask's rows (an int array as long as the mask is high).

    A seam runs from the piece's top row to its bottom row, one column left, right or straight on each row down,
    inside the piece's box; it crosses at most :data:`MAX_SEAM_INK` of ``height`` of ink, and lies at least
    :data:`SEAM_SPACING` of ``height`` from the box's sides and from every other seam. No seam for a piece no
    wider than :data:`MIN_CUT_WIDTH` of ``height``."""
    (top, bottom), (left, right) = _rows(piece), _columns(piece)
    if right - left <= MIN_CUT_WIDTH * height:
        return []
    box = piece[top:bottom, left:right]
    cost = np.cumsum(box, axis=0, dtype=np.float64)  # replaced row by row below: the cheapest way down to each pixel
    for row in range(1, box.shape[0]):
        above = cost[row - 1]
        cheapest = np.minimum(above, np.minimum(np.r_[np.inf, above[:-1]], np.r_[above[1:], np.inf]))
        cost[row] = box[row] + cheapest
    spacing = max(1, round(SEAM_SPACING * height))
    ends = np.flatnonzero(cost[-1] <= MAX_SEAM_INK * height)
    paths = _paths(cost, ends)
    middles = paths.mean(axis=0)
    found: list[int] = []
    for i in np.argsort(cost[-1, ends], kind="stable"):
        if len(found) == MAX_SEAMS:
            break
        if spacing <= middles[i] <= box.shape[1] - 1 - spacing and all(
                abs(middles[i] - middles[j]) >= spacing for j in found):
            found.append(int(i))
    return [np.pad(paths[:, i] + left, (top, piece.shape[0] - bottom), mode="edge")
            for i in sorted(found, key=lambda i: middles[i])]


def _paths(cost: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The cheapest seams ending in columns ``ends`` of the last row, traced back up through ``cost`` together: a
    (rows, len(ends)) array of columns. Of equally cheap steps up, straight up is taken, then left."""
    paths = np.empty((cost.shape[0], len(ends)), dtype=int)
    paths[-1] = ends
    padded = np.pad(cost, ((0, 0), (1, 1)), constant_values=np.inf)
    for row in range(cost.shape[0] - 2, -1, -1):
        below = paths[row + 1]
        steps = np.stack([padded[row, below + 1], padded[row, below], padded[row, below + 2]])  # straight, left, right
        paths[row] = below + np.array([0, -1, 1])[steps.argmin(axis=0)]
    return paths


def atoms(pieces: Sequence[np.ndarray], height: float) -> tuple[list[np.ndarray], list[int]]:
    """The row's pieces cut along their :func:`seams`, left to right, and for each atom the index of the piece it
    came from. An atom is the ink strictly between two seams (a seam's own pixels go to the atom on its left)."""
    found, origin = [], []
    for index, piece in enumerate(pieces):
        columns = np.arange(piece.shape[1])
        start = np.full(piece.shape[0], -1)
        for path in [*seams(piece, height), np.full(piece.shape[0], piece.shape[1] - 1)]:
            part = piece & (columns > start[:, None]) & (columns <= path[:, None])
            if part.any():
                found.append(part)
                origin.append(index)
            start = path
    return found, origin


def candidate_runs(origin: Sequence[int]) -> list[tuple[int, int]]:
    """The runs of adjacent atoms that may make a digit, as (start, end) slices of the atoms, in order: each of
    the writer's pieces whole, and one to :data:`MAX_ATOMS` atoms from at most two adjacent pieces."""
    runs = set()
    for start in range(len(origin)):
        for end in range(start + 1, len(origin) + 1):
            if is_piece(origin, (start, end)) or (end - start <= MAX_ATOMS and origin[end - 1] - origin[start] <= 1):
                runs.add((start, end))
    return sorted(runs)


def is_piece(origin: Sequence[int], run: tuple[int, int]) -> bool:
    """Whether the atoms of ``run`` make exactly one of the writer's pieces."""
    start, end = run
    piece = origin[start]
    return (origin[end - 1] == piece and (start == 0 or origin[start - 1] != piece)
            and (end == len(origin) or origin[end] != piece))


def best_reading(count: int, runs: Sequence[tuple[int, int]], scores: Sequence[float]) -> list[int]:
    """The runs (indices into ``runs``) that read the ``count`` atoms, left to right, with the highest total score
    (each run's ``scores``: the log of its likeliest probability, less any :data:`CHANGE_COST`); a run with no
    score (None: it holds no readable digit) is never taken. Ties go to the fewer runs, then to the earlier ones."""
    best: list[tuple[float, int, list[int]] | None] = [None] * (count + 1)
    best[0] = (0.0, 0, [])
    for index in sorted(range(len(runs)), key=lambda i: runs[i]):
        start, end = runs[index]
        if best[start] is None or scores[index] is None:
            continue
        total, length, chosen = best[start]
        candidate = (total + scores[index], length + 1, [*chosen, index])
        if best[end] is None or (candidate[0], -candidate[1]) > (best[end][0], -best[end][1]):
            best[end] = candidate
    if best[count] is None:
        raise ValueError("no reading of the row covers every atom")
    return best[count][2]


def _rows(mask: np.ndarray) -> tuple[int, int]:
    rows = np.flatnonzero(mask.any(axis=1))
    return int(rows[0]), int(rows[-1]) + 1


def _columns(mask: np.ndarray) -> tuple[int, int]:
    columns = np.flatnonzero(mask.any(axis=0))
    return int(columns[0]), int(columns[-1]) + 1


def plausibility(probabilities: Sequence[np.ndarray], aspects: np.ndarray) -> np.ndarray:
    """How plausible each of k candidate digits is as one digit, in log probability, from each model's (k, 10)
    ``probabilities`` of it and its ``aspects`` (width over height): the mean over the models of the log of the
    likeliest probability, plus the log of how seldom that digit is written as wide (:func:`width_log_share`)."""
    return np.mean([np.log(np.maximum(rows.max(axis=1), 1e-12))
                    + np.array([width_log_share(aspect, int(digit)) for aspect, digit in
                                zip(aspects, rows.argmax(axis=1), strict=True)])
                    for rows in probabilities], axis=0)


def width_log_share(aspect: float, digit: int) -> float:
    """The log of how seldom ``digit`` is written as wide as ``aspect`` (width over height) or wider, relative to
    its median width: 0 up to the median (:data:`WIDE_ASPECTS`), log(0.2) where a tenth of MNIST's examples are
    as wide, log(0.002) where a thousandth are, and on along the last step beyond."""
    aspects, shares = WIDE_ASPECTS[digit], np.log(np.array(WIDE_SHARES) / WIDE_SHARES[0])
    if aspect <= aspects[0]:
        return 0.0
    if aspect >= aspects[-1]:
        slope = (shares[-1] - shares[-2]) / (aspects[-1] - aspects[-2])
        return float(shares[-1] + slope * (aspect - aspects[-1]))
    return float(np.interp(aspect, aspects, shares))
