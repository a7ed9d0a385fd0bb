"""Augmentations: what each does to a small known image, and the shared contract
(labels aligned, dtype and range kept, input untouched, reproducible under a seed)."""

import numpy as np
import pytest

import visiongrad as vg
from visiongrad.data import ScaleToUnit
from visiongrad.data import transforms as T

# An asymmetric 5x5 pattern: no flip or rotation maps it onto itself.
PATTERN = np.array([[9, 1, 2, 3, 4],
                    [5, 6, 7, 8, 0],
                    [0, 0, 9, 0, 0],
                    [1, 0, 0, 0, 0],
                    [2, 0, 0, 0, 0]], dtype=np.uint8)


def batch(n=4, channels=1):
    return np.broadcast_to(PATTERN, (n, channels, 5, 5)).copy()


ALL_RANDOM = [
    lambda rng: T.RandomHorizontalFlip(rng=rng),
    lambda rng: T.RandomVerticalFlip(rng=rng),
    lambda rng: T.RandomCrop(8, padding=2, rng=rng),
    lambda rng: T.RandomResizedCrop(6, rng=rng),
    lambda rng: T.RandomAffine(30, translate=(0.2, 0.1), scale=(0.8, 1.2), shear=10, rng=rng),
    lambda rng: T.RandomRotation(45, rng=rng),
    lambda rng: T.RandomTranslation((0.25, 0.25), rng=rng),
    lambda rng: T.RandomShear(20, rng=rng),
    lambda rng: T.ColorJitter(0.5, 0.5, 0.5, rng=rng),
    lambda rng: T.RandomErasing(p=0.7, rng=rng),
    lambda rng: T.Cutout(3, rng=rng),
]
NAMES = ["hflip", "vflip", "crop", "resized_crop", "affine", "rotation", "translation", "shear",
         "jitter", "erasing", "cutout"]


def index_images(dtype, n=64, channels=3):
    """Image n is constant n + 1 (scaled into [0, 1] for floats): its identity survives."""
    values = (np.arange(n) + 1).astype(np.float64)
    if np.issubdtype(dtype, np.floating):
        values = values / 100.0
    return np.broadcast_to(values[:, None, None, None], (n, channels, 8, 8)).astype(dtype)


# ----------------------------------------------------------------------------- contract

@pytest.mark.parametrize("make", ALL_RANDOM, ids=NAMES)
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_dtype_range_order_and_input_untouched(make, dtype):
    images = index_images(dtype)
    before = images.copy()
    out = make(0)(images)
    assert out.dtype == images.dtype and len(out) == len(images)
    high = 255 if dtype == np.uint8 else 1.0
    assert out.min() >= 0 and out.max() <= high
    np.testing.assert_array_equal(images, before)
    # Label alignment: image n is the constant n + 1, its pixels may blend with the fill 0,
    # but its brightest pixel is still n + 1 (jitter rescales values, so it is left out).
    if not isinstance(make(0), T.ColorJitter):
        np.testing.assert_allclose(out.max(axis=(1, 2, 3)), before[:, 0, 0, 0], rtol=1e-6)


@pytest.mark.parametrize("make", ALL_RANDOM, ids=NAMES)
def test_reproducible_under_a_seed(make):
    images = np.random.default_rng(1).integers(0, 256, (16, 3, 8, 8), dtype=np.uint8)
    np.testing.assert_array_equal(make(7)(images), make(7)(images))
    vg.manual_seed(3)
    first = make(None)(images)
    vg.manual_seed(3)
    np.testing.assert_array_equal(first, make(None)(images))
    global_state = np.random.get_state()[1].copy()
    assert not np.array_equal(make(None)(images), first)  # the stream moves on
    np.testing.assert_array_equal(global_state, np.random.get_state()[1])


@pytest.mark.parametrize("make", ALL_RANDOM, ids=NAMES)
def test_rejects_non_batches(make):
    with pytest.raises(ValueError, match=r"shape \(N, C, H, W\), got ndarray of shape \(5, 5\)"):
        make(0)(PATTERN)


def test_own_generator_wins_over_the_call_generator():
    images = batch(32)
    seeded = T.RandomHorizontalFlip(rng=5)
    expected = T.RandomHorizontalFlip(rng=5)(images)
    np.testing.assert_array_equal(seeded(images, np.random.default_rng(99)), expected)
    unseeded = T.RandomHorizontalFlip()
    np.testing.assert_array_equal(unseeded(images, np.random.default_rng(5)), expected)


# ----------------------------------------------------------------------------- flips

def test_horizontal_flip_of_an_asymmetric_pattern():
    out = T.RandomHorizontalFlip(p=1.0)(batch())
    assert out[0, 0, 0].tolist() == [4, 3, 2, 1, 9]
    np.testing.assert_array_equal(out, batch()[..., ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(batch()), batch())


def test_vertical_flip_of_an_asymmetric_pattern():
    out = T.RandomVerticalFlip(p=1.0)(batch())
    assert out[0, 0, :, 0].tolist() == [2, 1, 0, 5, 9]
    np.testing.assert_array_equal(out, batch()[..., ::-1, :])


def test_flip_each_image_independently_with_probability_p():
    images = batch(2000)
    out = T.RandomHorizontalFlip(p=0.3, rng=0)(images)
    flipped = np.all(out == images[..., ::-1], axis=(1, 2, 3))
    assert np.all(flipped | np.all(out == images, axis=(1, 2, 3)))
    assert 0.26 < flipped.mean() < 0.34
    with pytest.raises(ValueError, match="p must be a probability"):
        T.RandomHorizontalFlip(p=1.5)


# ----------------------------------------------------------------------------- crops

def test_random_crop_is_a_window_of_the_padded_image():
    images = batch(300)
    out = T.RandomCrop(5, padding=1, rng=0)(images)
    padded = np.pad(PATTERN, 1)
    offsets = set()
    for image in out[:, 0]:
        matches = [(t, l) for t in range(3) for l in range(3)
                   if np.array_equal(padded[t:t + 5, l:l + 5], image)]
        assert matches, "output is not a window of the padded image"
        offsets.update(matches)
    assert len(offsets) == 9
    np.testing.assert_array_equal(T.RandomCrop(5)(images), images)


def test_random_crop_smaller_size_and_reflect_padding():
    out = T.RandomCrop((2, 3), padding=2, padding_mode="reflect", rng=1)(batch(50))
    assert out.shape == (50, 1, 2, 3)
    padded = np.pad(PATTERN, 2, mode="reflect")
    windows = {padded[t:t + 2, l:l + 3].tobytes() for t in range(8) for l in range(7)}
    assert all(image.tobytes() in windows for image in out[:, 0])
    with pytest.raises(ValueError, match=r"crop size \(9, 9\) is larger than the padded"):
        T.RandomCrop(9, padding=1)(batch())


def test_resized_crop_full_box_is_identity_and_upsampling_matches_torch():
    np.testing.assert_array_equal(T.RandomResizedCrop(5, scale=(1, 1), ratio=(1, 1))(batch()),
                                  batch())
    torch = pytest.importorskip("torch")
    images = np.random.default_rng(0).random((3, 2, 4, 6))
    out = T.RandomResizedCrop((8, 12), scale=(1, 1), ratio=(1.5, 1.5))(images)
    expected = torch.nn.functional.interpolate(torch.tensor(images), size=(8, 12),
                                               mode="bilinear", align_corners=False).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-12)


def test_resized_crop_of_a_ramp_is_a_ramp_of_the_box_slope():
    ramp = np.broadcast_to(np.arange(32.0), (200, 1, 32, 32)).copy()  # value = column
    out = T.RandomResizedCrop(8, scale=(0.25, 0.5), ratio=(1, 1), rng=0)(ramp)
    slopes = np.diff(out[:, 0], axis=2)
    # Every row steps by box_width / 8, with box_width = sqrt(area) in [16, 22.6].
    np.testing.assert_allclose(slopes, slopes[:, :1, :1] * np.ones_like(slopes), atol=1e-9)
    assert np.all(slopes >= 16 / 8 - 1e-9) and np.all(slopes <= np.sqrt(0.5) * 32 / 8 + 1e-9)


# ----------------------------------------------------------------------------- affine

def test_rotation_by_90_degrees_turns_the_pattern_counter_clockwise():
    out = T.RandomRotation((90, 90))(batch())
    # Counter-clockwise: the top row, read right to left, becomes the left column, top down.
    assert out[0, 0, :, 0].tolist() == [4, 3, 2, 1, 9]
    np.testing.assert_array_equal(out, np.rot90(batch(), 1, axes=(2, 3)))
    np.testing.assert_array_equal(T.RandomRotation((180, 180))(batch()), batch()[..., ::-1, ::-1])


def test_translation_shifts_by_whole_pixels_and_fills():
    images = batch(200)
    out = T.RandomTranslation((0.4, 0.4), rng=0)(images)  # up to 2 pixels each way
    shifts = set()
    for image in out[:, 0]:
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                shifted = np.zeros_like(PATTERN)
                shifted[max(dy, 0):5 + min(dy, 0), max(dx, 0):5 + min(dx, 0)] = \
                    PATTERN[max(-dy, 0):5 + min(-dy, 0), max(-dx, 0):5 + min(-dx, 0)]
                if np.array_equal(image, shifted):
                    shifts.add((dy, dx))
                    break
            else:
                continue
            break
        else:
            pytest.fail("output is not a whole-pixel shift of the pattern")
    assert len(shifts) > 15


def test_shear_moves_rows_by_tan_phi_times_distance_from_centre():
    diagonal = (np.eye(5, dtype=np.uint8) * 9)[None, None]
    out = T.RandomShear((45, 45), interpolation="nearest")(diagonal)[0, 0]
    # x' = x + tan(45) (y - 2): the diagonal point (k, k) lands on column 2k - 2.
    expected = np.zeros((5, 5), np.uint8)
    expected[1, 0] = expected[2, 2] = expected[3, 4] = 9
    np.testing.assert_array_equal(out, expected)


def test_affine_matches_torch_grid_sample():
    torch = pytest.importorskip("torch")
    images = np.random.default_rng(0).random((6, 2, 9, 9))
    augment = T.RandomAffine(40, translate=(0.2, 0.2), scale=(0.7, 1.3), shear=(-15, 15, -10, 10))
    matrices = augment.matrices(6, 9, 9, np.random.default_rng(1))
    ours = T.warp_affine(images, matrices)
    # Square images: pixel coordinates relative to the centre, times 2/W, are torch's
    # normalised (align_corners=False) coordinates, so theta = [A, k (A c + b - c)].
    linear, offset, centre, k = matrices[:, :, :2], matrices[:, :, 2], np.full(2, 4.0), 2 / 9
    theta = np.concatenate([linear, (k * (linear @ centre + offset - centre))[:, :, None]], 2)
    grid = torch.nn.functional.affine_grid(torch.tensor(theta), (6, 2, 9, 9), align_corners=False)
    expected = torch.nn.functional.grid_sample(torch.tensor(images), grid, mode="bilinear",
                                               padding_mode="zeros", align_corners=False)
    np.testing.assert_allclose(ours, expected.numpy(), atol=1e-12)


def test_affine_matrix_composition():
    augment = T.RandomAffine((30, 30), scale=(2, 2), shear=(10, 10, 0, 0))
    inverse = augment.matrices(1, 7, 7, np.random.default_rng(0))[0]
    theta, phi = np.deg2rad(30), np.tan(np.deg2rad(10))
    forward = 2 * np.array([[np.cos(theta), np.sin(theta)], [-np.sin(theta), np.cos(theta)]]) \
        @ np.array([[1, phi], [0, 1]])
    np.testing.assert_allclose(inverse[:, :2] @ forward, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(inverse[:, :2] @ [3, 3] + inverse[:, 2], [3, 3])  # centre fixed


def test_warp_affine_identity_nearest_and_errors():
    identity = np.tile(np.eye(2, 3), (4, 1, 1))
    np.testing.assert_array_equal(T.warp_affine(batch(), identity), batch())
    half = identity.copy()
    half[:, 0, 2] = 0.4
    np.testing.assert_array_equal(T.warp_affine(batch(), half, interpolation="nearest"), batch())
    with pytest.raises(ValueError, match=r"matrices must have shape \(4, 2, 3\)"):
        T.warp_affine(batch(), identity[:3])
    with pytest.raises(ValueError, match="interpolation"):
        T.warp_affine(batch(), identity, interpolation="cubic")


# ----------------------------------------------------------------------------- colour

def test_brightness_scales_and_clips():
    images = np.array([0.1, 0.4, 0.6], np.float32).reshape(1, 1, 1, 3)
    out = T.ColorJitter(brightness=(2, 2))(images)
    np.testing.assert_allclose(out.ravel(), [0.2, 0.8, 1.0])
    uint8 = T.ColorJitter(brightness=(2, 2))(np.array([[[[100, 200]]]], np.uint8))
    assert uint8.ravel().tolist() == [200, 255]


def test_contrast_zero_gives_the_mean_gray_and_saturation_zero_gives_luma():
    rgb = np.random.default_rng(0).random((2, 3, 4, 4))
    luma = np.einsum("c,nchw->nhw", [0.299, 0.587, 0.114], rgb)
    flat = T.ColorJitter(contrast=(0, 0))(rgb)
    np.testing.assert_allclose(flat, np.broadcast_to(luma.mean(axis=(1, 2))[:, None, None, None],
                                                     rgb.shape))
    gray = T.ColorJitter(saturation=(0, 0))(rgb)
    np.testing.assert_allclose(gray, np.repeat(luma[:, None], 3, axis=1))
    single = rgb[:, :1]
    np.testing.assert_allclose(T.ColorJitter(saturation=(0, 0))(single), single)


def test_contrast_doubles_distance_from_the_mean():
    images = np.array([0.3, 0.5, 0.7], np.float64).reshape(1, 1, 1, 3)
    out = T.ColorJitter(contrast=(2, 2))(images)
    np.testing.assert_allclose(out.ravel(), [0.1, 0.5, 0.9])


def test_jitter_value_range_for_other_scales():
    images = np.full((1, 1, 2, 2), 3.0)
    out = T.ColorJitter(brightness=(2, 2), value_range=(-5, 5))(images)
    np.testing.assert_allclose(out, 5.0)


# ----------------------------------------------------------------------------- erasing

def test_random_erasing_fills_one_rectangle():
    images = np.full((100, 2, 10, 10), 255, np.uint8)
    out = T.RandomErasing(p=1.0, scale=(0.1, 0.2), ratio=(0.5, 2.0), rng=0)(images)
    for image in out:
        erased = image[0] == 0
        rows, cols = np.flatnonzero(erased.any(axis=1)), np.flatnonzero(erased.any(axis=0))
        assert erased.sum() == len(rows) * len(cols)  # a filled rectangle
        assert np.all(np.diff(rows) == 1) and np.all(np.diff(cols) == 1)
        assert 5 <= erased.sum() <= 25
        np.testing.assert_array_equal(image[0], image[1])  # same box on every channel
    np.testing.assert_array_equal(T.RandomErasing(p=0.0)(images), images)


def test_cutout_square_clipped_at_the_border():
    images = np.ones((500, 1, 9, 9), np.float32)
    out = T.Cutout(3, value=0.5, rng=0)(images)
    counts = (out == 0.5).sum(axis=(1, 2, 3))
    assert set(counts) <= {4, 6, 9} and 9 in counts and 4 in counts
    assert np.all((out == 0.5) | (out == 1))


# ----------------------------------------------------------------------------- compose

def test_compose_applies_in_order_and_accepts_plain_callables():
    pipeline = T.Compose([T.RandomHorizontalFlip(p=1.0), T.RandomCrop(3), ScaleToUnit(),
                          lambda x: x * 2])
    out = pipeline(batch(), np.random.default_rng(0))
    assert out.shape == (4, 1, 3, 3) and out.dtype == np.float32
    assert out.max() <= 2.0
    seeded = T.Compose([T.RandomCrop(3), T.RandomVerticalFlip()])
    np.testing.assert_array_equal(seeded(batch(50), np.random.default_rng(3)),
                                  seeded(batch(50), np.random.default_rng(3)))
    with pytest.raises(TypeError, match="callable"):
        T.Compose([1])
    assert "RandomHorizontalFlip(p=1.0)" in repr(pipeline)
