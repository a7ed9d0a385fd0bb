import numpy as np
import pytest

from visiongrad.detection import evaluate_coco
from visiongrad.detection.recipes import (
    SceneConfig,
    build_model,
    coco_detections,
    load,
    make_scenes,
    save,
)
from visiongrad.train.checkpoint import save_checkpoint


def test_config_checks_name_the_field():
    with pytest.raises(ValueError, match="model"):
        SceneConfig(model="yolo")
    with pytest.raises(ValueError, match="multiple of 16"):
        SceneConfig(size=40)
    with pytest.raises(ValueError, match="epochs"):
        SceneConfig(epochs=0)
    with pytest.raises(ValueError, match="lr"):
        SceneConfig(lr=-1.0)
    assert SceneConfig(model="localize").max_items == 1


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
