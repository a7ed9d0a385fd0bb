import json
from dataclasses import replace

import numpy as np
import pytest

from visiongrad.detection import evaluate_coco
from visiongrad.recipes.detect import (
    Config as SceneConfig,
)
from visiongrad.recipes.detect import (
    build_model,
    coco_detections,
    evaluate,
    fit,
    load,
    make_scenes,
    pretrain_backbone,
    save,
    train,
)
from visiongrad.train.checkpoint import save_checkpoint


def test_config_checks_name_the_field():
    with pytest.raises(ValueError, match="model"):
        SceneConfig(model="detr")
    with pytest.raises(ValueError, match="multiple of 16"):
        SceneConfig(size=40)
    with pytest.raises(ValueError, match="epochs"):
        SceneConfig(epochs=0)
    with pytest.raises(ValueError, match="lr"):
        SceneConfig(lr=-1.0)
    with pytest.raises(ValueError, match="pretrain_scenes"):
        SceneConfig(pretrain_scenes=-1)
    with pytest.raises(ValueError, match="pretrain_epochs"):
        SceneConfig(pretrain_epochs=0)
    assert SceneConfig(model="localize").max_items == 1


def test_pretraining_teaches_the_backbone_alone():
    """The backbone learns to classify single-item crops (its loss falls); the rest of the
    model is untouched, and train() runs it first only when asked."""
    config = SceneConfig(model="fcn", size=32, pretrain_scenes=128, pretrain_epochs=5, seed=3)
    model = build_model(config)
    backbone = {k: v.data.copy() for k, v in model.backbone.named_parameters()}
    head = model.classifier.weight.data.copy()
    lines = []
    history = pretrain_backbone(model, config, lines.append)
    assert len(history) == 5 and history[-1] < 0.9 * history[0]
    assert all(line.startswith("pretraining epoch") for line in lines)
    assert any(not np.array_equal(v.data, backbone[k])
               for k, v in model.backbone.named_parameters())
    assert np.array_equal(model.classifier.weight.data, head)
    crops = make_scenes(config, "train", 4, size=16, max_items=1)
    assert crops.images.shape == (4, 1, 16, 16) and all(len(b) == 1 for b in crops.boxes)
    lines.clear()
    train(model, make_scenes(config, "train", 8), replace(config, epochs=1), lines.append)
    assert lines[0].startswith("pretraining epoch 1/5") and lines[-1].startswith("epoch 1/1")
    with pytest.raises(ValueError, match="no Backbone to pretrain"):
        pretrain_backbone(build_model(SceneConfig(model="rcnn", size=32)), config)


def test_fresh_scenes_every_epoch_from_the_runs_stream():
    config = SceneConfig(model="fcn", size=32, epochs=3, batch_size=4, seed=5)
    first = make_scenes(config, "train", 4)

    def run() -> tuple[list, list]:
        seeds, images = [], []

        def compose(seed):
            seeds.append(seed)
            fresh = make_scenes(replace(config, seed=seed), "train", 4)
            images.append(fresh.images)
            return fresh

        fit(build_model(config), first, config, lambda _: None, compose)
        return seeds, images

    seeds, images = run()
    assert len(seeds) == 2 and len(set(seeds)) == 2
    assert not np.array_equal(images[0], first.images)
    assert not np.array_equal(images[0], images[1])
    assert run()[0] == seeds


def test_checkpoint_round_trip_predicts_the_same(tmp_path):
    config = SceneConfig(model="faster_rcnn", size=32)
    model = build_model(config)
    images = make_scenes(config, "test", 2).images
    before = model.predict(images)
    path = save(model, config, tmp_path / "run" / "checkpoint", [1.0], {"AP": 0.5})
    restored, stored = load(path)
    assert stored == config
    after = restored.predict(images)
    for a, b in zip(before, after, strict=True):
        assert np.array_equal(a["boxes"], b["boxes"]) and np.array_equal(a["labels"], b["labels"])
    other = save_checkpoint(tmp_path / "other", build_model(config))
    with pytest.raises(ValueError, match="not a detection or segmentation checkpoint"):
        load(other)


def test_perfect_detections_score_one():
    config = SceneConfig(size=32)
    scenes = make_scenes(config, "val", 3)
    truth = [{"boxes": b, "scores": np.ones(len(b)), "labels": lab}
             for b, lab in zip(scenes.boxes, scenes.labels, strict=True)]
    scores = evaluate_coco(scenes.to_coco(), coco_detections(truth))
    assert scores["AP"] == pytest.approx(1.0) and scores["AP50"] == pytest.approx(1.0)


def test_segmentation_scores_are_strict_json_when_a_class_is_absent():
    config = SceneConfig(model="fcn", size=32)
    scenes = make_scenes(config, "test", 1, max_items=1)  # one item: most classes absent
    model = build_model(config)
    metrics = evaluate(model, config, scenes)
    seen = set(np.unique(scenes.semantic)) | set(np.unique(model.predict(scenes.images)))
    absent = [c for c in range(11) if c not in seen]  # in neither the truth nor the guess
    assert absent and all(metrics["per_class_IoU"][c] is None for c in absent)
    assert all(metrics["per_class_IoU"][c] is not None for c in seen)
    json.dumps(metrics, allow_nan=False)
