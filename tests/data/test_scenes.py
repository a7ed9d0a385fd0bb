"""Composed captioning scenes: reproducible, fixed splits, captions that say what the
layout shows, pixels only inside the boxes, bad arguments."""

import numpy as np
import pytest

from visiongrad.data import compose_scenes, decode_captions, scene_vocabulary
from visiongrad.data.scenes import ITEM_WORDS, MIN_GAP, SceneSet


@pytest.fixture(scope="module")
def scenes():
    return compose_scenes(60, "train", seed=5)


def test_reproducible_and_splits_differ(scenes):
    again = compose_scenes(60, "train", seed=5)
    np.testing.assert_array_equal(again.images, scenes.images)
    assert again.captions == scenes.captions
    for other in (compose_scenes(10, "train", seed=6), compose_scenes(10, "val", seed=5),
                  compose_scenes(10, "test", seed=5)):
        assert not np.array_equal(other.images, scenes.images[:10])


def _centre(box):
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])


def test_captions_match_the_layout(scenes):
    size = scenes.images.shape[-1]
    for boxes, labels, refs in zip(scenes.boxes, scenes.labels, scenes.captions, strict=True):
        words = refs[0]
        named = [w for w in words if w in ITEM_WORDS]
        assert sorted(named) == sorted(ITEM_WORDS[k] for k in labels)
        centres = {ITEM_WORDS[k]: [] for k in labels}
        for box, k in zip(boxes, labels, strict=True):
            centres[ITEM_WORDS[k]].append(_centre(box))
        first, last = centres[named[0]], centres[named[-1]]
        text = " ".join(words)
        if len(labels) == 1:
            x, y = first[0] - size / 2
            if text.endswith("on the left"):
                assert x <= -MIN_GAP
            elif text.endswith("on the right"):
                assert x >= MIN_GAP
            elif text.endswith("at the top"):
                assert y <= -MIN_GAP
            elif text.endswith("at the bottom"):
                assert y >= MIN_GAP
            else:
                assert text.endswith("in the middle") and max(abs(x), abs(y)) <= size / 10
            continue
        axis, sign = {"to the left of": (0, 1), "to the right of": (0, -1), "above": (1, 1),
                      "below": (1, -1), "from left to right": (0, 1),
                      "from right to left": (0, -1), "from top to bottom": (1, 1),
                      "from bottom to top": (1, -1)}[next(
                          phrase for phrase in ("to the left of", "to the right of", "above",
                                                "below", "from left to right",
                                                "from right to left", "from top to bottom",
                                                "from bottom to top") if phrase in text)]
        # some item of the first-named class lies before some item of the last-named one
        gaps = [sign * (b[axis] - a[axis]) for a in first for b in last]
        assert max(gaps) >= MIN_GAP, (text, boxes)
        assert len(refs) == 2  # the same layout told from the other end
        assert sorted(w for w in refs[1] if w in ITEM_WORDS) == sorted(named)
        assert [w for w in refs[1] if w in ITEM_WORDS][0] == named[-1]


def test_pixels_only_inside_boxes(scenes):
    for image, boxes in zip(scenes.images, scenes.boxes, strict=True):
        inside = np.zeros(image.shape[1:], dtype=bool)
        for x0, y0, x1, y1 in boxes:
            assert image[0, y0:y1, x0:x1].max() > 0
            inside[y0:y1, x0:x1] = True
        assert image[0][~inside].max(initial=0) == 0


def test_encoded_captions_round_trip(scenes):
    vocab = scene_vocabulary()
    encoded = scenes.encoded()
    assert (encoded[:, 0] == vocab["<START>"]).all()
    idx_to_word = {index: word for word, index in vocab.items()}
    assert decode_captions(encoded, idx_to_word) == [" ".join(refs[0]) for refs in scenes.captions]
    assert scenes.presence().sum(1).tolist() == [len(set(k)) for k in scenes.labels]


def test_coverage_marks_the_cells_inside_each_box():
    images = np.zeros((1, 1, 64, 64), np.uint8)
    # a bag (8) over x 0..20, y 0..20 and a coat (4) over x 30..50, y 40..60
    scenes = SceneSet(images, [np.array([[0, 0, 20, 20], [30, 40, 50, 60]])],
                      [np.array([8, 4])], [[["a", "bag"]]])
    cover = scenes.coverage(8)  # cell centres at 4, 12, 20, ..., 60
    assert cover.shape == (1, 10, 8, 8) and cover.dtype == np.float32
    bag, coat = np.zeros((8, 8)), np.zeros((8, 8))
    bag[0:2, 0:2] = 1           # centres 4, 12 < 20
    coat[5:7, 4:6] = 1          # x centres 36, 44 in [30, 50); y centres 44, 52 in [40, 60)
    np.testing.assert_array_equal(cover[0, 8], bag)
    np.testing.assert_array_equal(cover[0, 4], coat)
    assert cover.sum() == bag.sum() + coat.sum()
    np.testing.assert_array_equal(scenes.coverage(1)[0, :, 0, 0], np.zeros(10))
    with pytest.raises(ValueError, match="grid"):
        scenes.coverage(0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        compose_scenes(2, "dev")
    with pytest.raises(ValueError, match="max_items"):
        compose_scenes(2, max_items=4)
    with pytest.raises(ValueError, match="count"):
        compose_scenes(-1)
    with pytest.raises(ValueError, match="item_size"):
        compose_scenes(2, size=30)
