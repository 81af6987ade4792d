"""Deskewing: a slanted stroke comes out upright and centred, whatever the batch and however it is split."""

import numpy as np

from mnist_pipeline.deskew import _CHUNK, Deskew, deskew


def slanted_bar(slope: float, column: float, rows: range = range(4, 24)) -> np.ndarray:
    """A 28 x 28 image of a one-pixel stroke through ``rows``, leaning by ``slope`` pixels a row."""
    image = np.zeros((28, 28), dtype=np.uint8)
    middle = (rows.start + rows.stop - 1) / 2
    for row in rows:
        image[row, round(column + slope * (row - middle))] = 255
    return image


def centres(image: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Each lit row's centre column, and the image's centre of mass (row, column)."""
    rows, cols = np.indices(image.shape)
    lit = image.sum(axis=1) > 0
    per_row = (image * cols).sum(axis=1)[lit] / image.sum(axis=1)[lit]
    total = image.sum()
    return per_row, (image * rows).sum() / total, (image * cols).sum() / total


def test_a_slanted_stroke_comes_out_upright_and_centred():
    image = slanted_bar(slope=0.4, column=10)
    before, _, _ = centres(image.astype(np.float32))
    assert np.ptp(before) > 7  # leans by 8 columns over its 20 rows

    after, centre_row, centre_col = centres(deskew(image[None])[0])
    assert np.ptp(after) < 1.0
    assert abs(centre_row - 13.5) <= 0.5 and abs(centre_col - 13.5) <= 0.5


def test_a_stroke_off_centre_both_ways_moves_to_the_centre():
    # In the top left corner: rows 1-10, around column 6. The centring must move it down and right.
    image = slanted_bar(slope=-0.3, column=6, rows=range(1, 11))
    _, row_before, col_before = centres(image.astype(np.float32))
    assert row_before < 6 and col_before < 7

    after, centre_row, centre_col = centres(deskew(image[None])[0])
    assert np.ptp(after) < 1.0
    assert abs(centre_row - 13.5) <= 0.5 and abs(centre_col - 13.5) <= 0.5


def test_a_blank_image_stays_blank_and_flat_rows_stay_flat():
    blank = np.zeros((1, 784), dtype=np.uint8)
    out = deskew(blank)
    assert out.shape == (1, 784) and out.dtype == np.float32 and not out.any()


def test_a_batch_split_over_chunks_and_threads_gives_each_image_its_own_result():
    rng = np.random.default_rng(0)
    slopes = rng.uniform(-0.5, 0.5, 2 * _CHUNK + 5)
    images = np.stack([slanted_bar(slope, column=14) for slope in slopes])
    images[::7] = rng.integers(0, 256, (len(images[::7]), 28, 28), dtype=np.uint8)
    batch = deskew(images)
    one_by_one = np.concatenate([deskew(image[None]) for image in images[:: _CHUNK // 4]])
    assert np.array_equal(batch[:: _CHUNK // 4], one_by_one)
    assert np.array_equal(deskew(images), batch)  # and the same on a rerun


def deskew_by_hand(image: np.ndarray) -> np.ndarray:
    """The same transform, pixel by pixel in float64: centre of mass and moments by their definitions, the rows
    moved by the whole number of pixels nearest the centring, each row's columns read at the sheared and
    centred position by linear interpolation between its two neighbours, zero outside the image."""
    side = image.shape[0]
    centre = (side - 1) / 2
    rows, cols = np.indices(image.shape, dtype=np.float64)
    total = image.sum()
    if total == 0:
        return np.zeros_like(image, dtype=np.float64)
    centre_row, centre_col = (image * rows).sum() / total, (image * cols).sum() / total
    variance = (image * (rows - centre_row) ** 2).sum() / total
    covariance = (image * (rows - centre_row) * (cols - centre_col)).sum() / total
    skew = covariance / variance if variance > 1e-3 else 0.0
    step = int(np.rint(centre_row - centre))

    def pixel(row: int, col: float) -> float:
        left = int(np.floor(col))
        return sum(image[row, c] * w for c, w in ((left, 1 - (col - left)), (left + 1, col - left))
                   if 0 <= row < side and 0 <= c < side)

    out = np.zeros(image.shape)
    for row in range(side):
        shift = skew * (row - centre) + centre_col - centre
        for col in range(side):
            out[row, col] = pixel(row + step, col + shift)
    return out


def test_each_pixel_is_what_the_definition_gives():
    # Strokes of every slant, off centre, cut by the frame's edges, bars of one and two rows (little or no row
    # variance) and noise, as uint8 and as float pixels of small total mass.
    rng = np.random.default_rng(3)
    images = [slanted_bar(0.4, 10), slanted_bar(-0.3, 6, range(1, 11)), slanted_bar(0.5, 20.5, range(0, 28)),
              slanted_bar(-0.3, 2, range(15, 28)), rng.integers(0, 256, (28, 28)).astype(np.uint8)]
    bar = np.zeros((28, 28), dtype=np.uint8)
    bar[20:22, 3:27] = 200
    staggered = np.zeros((28, 28), dtype=np.uint8)  # two rows, leaning: a shear from a row variance of 1/4
    staggered[20, 3:20], staggered[21, 10:27] = 255, 255
    line = np.zeros((28, 28), dtype=np.uint8)  # one row: no row variance, no shear
    line[5, 2:9] = 255
    top_heavy = np.zeros((28, 28), dtype=np.uint8)  # centred high, with ink in the last row: rows read from
    top_heavy[0:6, 8:20], top_heavy[27, 14] = 255, 255  # above the image must be blank, not wrap to the bottom
    images += [bar, staggered, line, top_heavy, slanted_bar(0.2, 14, range(0, 8))]  # the last touches the top
    for image in images:
        for pixels in (image, image.astype(np.float32) / 255 * 1e-4):
            out = deskew(pixels[None])[0]
            assert out.dtype == np.float32
            np.testing.assert_allclose(out, deskew_by_hand(pixels.astype(np.float64)), rtol=1e-4,
                                       atol=1e-4 * pixels.max())


def test_the_transformer_deskews_rows_of_pixels_and_learns_nothing():
    rows = np.stack([slanted_bar(0.4, 10), slanted_bar(-0.3, 6, range(1, 11))]).reshape(2, -1)
    transformer = Deskew().fit(rows[:1])
    np.testing.assert_array_equal(transformer.transform(rows), deskew(rows))
