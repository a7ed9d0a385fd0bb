import numpy as np
import pytest

import visiongrad as vg
from visiongrad import optim
from visiongrad.detection import compose_detection_scenes, roi_heads
from visiongrad.detection import fast_rcnn as fast_rcnn_module
from visiongrad.detection.boxes import box_iou
from visiongrad.detection.fast_rcnn import FastRCNN
from visiongrad.detection.nets import Backbone
from visiongrad.detection.windows import grouping_proposals
from visiongrad.ops.roi import roi_align_reference
from visiongrad.recipes.detect import Config as SceneConfig
from visiongrad.recipes.detect import build_model, load, save, targets_of

from .models_helpers import SIZE, TINY, assert_detections, scenes


def small(**kwargs):
    return FastRCNN(image_size=SIZE, channels=TINY, roi_batch=16, hidden=16, **kwargs)


def test_proposals_are_grouping_proposals_kept_while_training(monkeypatch):
    data = scenes(3)
    model = small()
    model.eval()
    for boxes, image in zip(model.proposals(data.images), data.images, strict=True):
        assert np.array_equal(boxes, grouping_proposals(image[0]))
    assert not model.cached_proposals  # nothing kept at test time: its cost is measured
    calls = []

    def counted(image):
        calls.append(image)
        return grouping_proposals(image)

    monkeypatch.setattr(fast_rcnn_module, "grouping_proposals", counted)
    model.train()
    first = model.proposals(data.images)
    again = model.proposals(data.images[::-1])
    assert len(calls) == 3 and len(model.cached_proposals) == 3
    assert all(a is b for a, b in zip(first, again[::-1], strict=True))
    bounded = small(cache_size=2)
    bounded.train()
    bounded.proposals(data.images)
    assert len(bounded.cached_proposals) == 2


def test_training_candidates_are_proposals_and_ground_truth(monkeypatch):
    data = scenes(2)
    targets = targets_of(data, range(2))
    model = small()
    seen = []
    original = roi_heads.sample_boxes

    def recording(candidates, *rest):
        seen.append(candidates)
        return original(candidates, *rest)

    monkeypatch.setattr(roi_heads, "sample_boxes", recording)
    model.train()
    model.loss(data.images, targets)
    for candidates, image, target in zip(seen[0], data.images, targets, strict=True):
        expected = np.concatenate([grouping_proposals(image[0]), target["boxes"]])
        assert np.array_equal(candidates, expected)


def test_roi_features_are_roi_align_of_one_shared_map():
    """The head reads every proposal's RoI align (torchvision's kernel as loops) of the map
    computed once for the batch, which equals each image's map computed on its own."""
    data = scenes(2)
    model = small()
    model.eval()
    with vg.no_grad():
        _, p4 = model.features(data.images)
        _, alone = model.features(data.images[1:])
        proposals = model.proposals(data.images)
        rois = np.concatenate([np.column_stack([np.full(len(b), i, np.float32), b])
                               for i, b in enumerate(proposals)])
        pooled = roi_align_reference(p4.data, rois, 7, 0.25, sampling_ratio=2, aligned=True)
        second = rois[rois[:, 0] == 1] * [0, 1, 1, 1, 1]
        np.testing.assert_allclose(
            pooled[rois[:, 0] == 1],
            roi_align_reference(alone.data, second, 7, 0.25, sampling_ratio=2, aligned=True),
            rtol=1e-5, atol=1e-5)
        logits, deltas = model.roi_heads(p4, rois)
        hidden = model.box_head(vg.tensor(pooled.astype(np.float32)))
        np.testing.assert_allclose(logits.data, model.cls_score(hidden).data, atol=1e-5)
        np.testing.assert_allclose(deltas.data, model.bbox_pred(hidden).data, atol=1e-5)
    assert logits.shape == (len(rois), 11) and deltas.shape == (len(rois), 44)


def test_empty_images_give_a_finite_loss_and_no_detections():
    model = small()
    blank = np.zeros((2, 1, SIZE, SIZE), np.uint8)
    assert all(len(p) == 0 for p in model.proposals(blank))  # nothing to group
    empty = {"boxes": np.zeros((0, 4)), "labels": []}
    loss, parts = model.loss(blank, [empty, empty])
    assert loss.item() == 0 and parts == {"classifier": 0.0, "box": 0.0}
    found = model.predict(blank)
    assert_detections(found, 2)
    assert all(len(f["boxes"]) == 0 and f["boxes"].shape == (0, 4) for f in found)
    textured = scenes(2).images  # proposals on the background, but no objects
    loss, parts = model.loss(textured, [empty, empty])
    assert np.isfinite(loss.item()) and parts["classifier"] > 0 and parts["box"] == 0
    loss.backward()
    assert_detections(model.predict(textured), 2)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="multiple of 8"):
        FastRCNN(image_size=36)
    with pytest.raises(ValueError, match="cache_size"):
        FastRCNN(image_size=SIZE, cache_size=-1)
    model = small()
    with pytest.raises(ValueError, match="one entry per image"):
        model.loss(np.zeros((2, 1, SIZE, SIZE)), [])
    with pytest.raises(ValueError, match=f"images must be {SIZE}x{SIZE}"):
        model.predict(np.zeros((1, 1, 16, 16)))
    with pytest.raises(ValueError, match=r"images must have shape \(N, 1, H, W\)"):
        model.predict(np.zeros((1, SIZE, SIZE)))


def test_overfits_a_few_single_item_scenes():
    """Trained on four one-item scenes whose item a proposal covers (IoU >= 0.7), the best
    detection of each is its item, of its class, at IoU > 0.5."""
    data = compose_detection_scenes(12, "train", 0, size=SIZE, max_items=1, min_scale=12,
                                    max_scale=16)
    chosen = [i for i in range(len(data))
              if box_iou(data.boxes[i], grouping_proposals(data.images[i, 0])).max() >= 0.7][:4]
    assert len(chosen) == 4
    images, targets = data.images[chosen], targets_of(data, chosen)
    vg.manual_seed(0)
    model = FastRCNN(image_size=SIZE, channels=(8, 16, 16, 16), hidden=32, roi_batch=16)
    opt = optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(60):
        model.train()
        loss, _ = model.loss(images, targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
    found = model.predict(images)
    assert_detections(found, 4)
    for entry, target in zip(found, targets, strict=True):
        assert entry["labels"][0] == target["labels"][0]
        assert box_iou(entry["boxes"][:1], target["boxes"])[0, 0] > 0.5


def test_recipe_builds_it_pretrains_it_and_round_trips_a_checkpoint(tmp_path):
    config = SceneConfig(model="fast_rcnn", size=SIZE, pretrain_scenes=8)
    model = build_model(config)
    assert isinstance(model, FastRCNN) and isinstance(model.backbone, Backbone)
    images = compose_detection_scenes(2, "test", 0, size=SIZE).images
    before = model.predict(images)
    restored, stored = load(save(model, config, tmp_path / "checkpoint"))
    assert stored == config and isinstance(restored, FastRCNN)
    for a, b in zip(before, restored.predict(images), strict=True):
        assert np.array_equal(a["boxes"], b["boxes"]) and np.array_equal(a["scores"], b["scores"])
