import numpy as np
import pytest
from helpers import assert_gradcheck

from visiongrad import optim
from visiongrad.autograd import Tensor
from visiongrad.detection import compose_detection_scenes
from visiongrad.detection.boxes import box_iou
from visiongrad.detection.yolo import YOLODetector, yolo_loss
from visiongrad.recipes.detect import Config as SceneConfig
from visiongrad.recipes.detect import build_model, load, make_scenes, save

from .models_helpers import SIZE, TINY, assert_detections, scenes

STRIDE = 8  # TINY's deepest stage: a 4 x 4 grid on SIZE = 32


def outputs_of(boxes_per_cell: dict) -> np.ndarray:
    """Sigmoid outputs (1, 4, 4, 2, 5) of 0.5 but the given (row, col, b) -> (x, y, r, q)."""
    outputs = np.full((1, 4, 4, 2, 5), 0.5)
    for (row, col, b), values in boxes_per_cell.items():
        outputs[0, row, col, b, :4] = values
    return outputs


def test_assignment_the_centres_cell_and_its_best_predictor():
    model = YOLODetector(num_classes=4, image_size=SIZE, channels=TINY)
    # centre (13, 21): column 1, row 2, offsets (0.625, 0.625); 12 x 12 pixels
    truth = np.array([[7, 15, 19, 27], [12, 19, 14, 23], [24, 0, 32, 8]], float)
    small, right = np.sqrt(4 / SIZE), np.sqrt(12 / SIZE)
    for best in (0, 1):  # the predictor whose box overlaps most is responsible
        outputs = outputs_of({(2, 1, best): (0.5, 0.5, right, right),
                              (2, 1, 1 - best): (0.5, 0.5, small, small)})
        # the smaller box (listed first) shares the cell and loses it to the larger
        found = model.assign(outputs, [{"boxes": truth[[1, 0, 2]], "labels": [1, 2, 3]}])
        # centre (28, 4): column 3, row 0; both predictors there tie, the first is taken
        assert np.argwhere(found.responsible).tolist() == [[0, 0, 3, 0], [0, 2, 1, best]]
        assert np.argwhere(found.occupied).tolist() == [[0, 0, 3], [0, 2, 1]]
        assert np.allclose(found.coords[0, 2, 1, best], [0.625, 0.625, right, right])
        assert np.allclose(found.coords[0, 0, 3, 0], [0.5, 0.5, 0.5, 0.5])
        # predicted box (6, 14, 18, 26) against (7, 15, 19, 27): 121 / (144 + 144 - 121);
        # the default outputs' box in cell (0, 3) is (24, 0, 32, 8) itself
        assert found.confidence[0, 2, 1, best] == pytest.approx(121 / 167)
        assert found.confidence.sum() == pytest.approx(121 / 167 + 1)
        assert np.array_equal(found.classes[0, 2, 1], [0, 1, 0])  # label 2 -> index 1
        assert np.array_equal(found.classes[0, 0, 3], [0, 0, 1])
        assert np.all(found.coords[found.responsible == 0] == 0)


def reference_loss(raw, targets, num_boxes, lambda_coord=5.0, lambda_noobj=0.5):
    """The paper's loss by loops over images, objects and predictors."""
    n, s = raw.shape[:2]
    out = 1 / (1 + np.exp(-raw[..., :5 * num_boxes].reshape(n, s, s, num_boxes, 5)))
    logits = raw[..., 5 * num_boxes:]
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    total, responsible = 0.0, np.zeros((n, s, s, num_boxes), bool)
    for i, target in enumerate(targets):
        owners = {}
        for box, label in zip(target["boxes"], target["labels"], strict=True):
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            cell = (min(int(cy // STRIDE), s - 1), min(int(cx // STRIDE), s - 1))
            area = (box[2] - box[0]) * (box[3] - box[1])
            if cell not in owners or area > owners[cell][2]:
                owners[cell] = (box, label, area)
        for (row, col), (box, label, _) in owners.items():
            ious = []
            for b in range(num_boxes):
                x, y, r, q, _ = out[i, row, col, b]
                px, py, w, h = (col + x) * STRIDE, (row + y) * STRIDE, r * r * SIZE, q * q * SIZE
                ious.append(box_iou([[px - w / 2, py - h / 2, px + w / 2, py + h / 2]],
                                    [box])[0, 0])
            b = int(np.argmax(ious))
            responsible[i, row, col, b] = True
            x, y, r, q, conf = out[i, row, col, b]
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            total += lambda_coord * ((x - (cx / STRIDE - col)) ** 2 + (y - (cy / STRIDE - row)) ** 2
                                     + (r - np.sqrt((box[2] - box[0]) / SIZE)) ** 2
                                     + (q - np.sqrt((box[3] - box[1]) / SIZE)) ** 2)
            total += (conf - ious[b]) ** 2
            total += ((probs[i, row, col] - np.eye(probs.shape[-1])[label - 1]) ** 2).sum()
    total += lambda_noobj * (out[..., 4][~responsible] ** 2).sum()
    return total / n


def random_targets(rng, count_per_image):
    targets = []
    for count in count_per_image:
        corner = rng.uniform(0, 20, (count, 2))
        boxes = np.concatenate([corner, corner + rng.uniform(3, 12, (count, 2))], 1)
        targets.append({"boxes": boxes, "labels": rng.integers(1, 4, count)})
    targets[0]["boxes"][1] = targets[0]["boxes"][0] + [1, 1, -1, -1]  # a shared cell
    return targets


def terms_of(model, raw, targets, assigned=None):
    outputs, classes = model.split(raw)
    if assigned is None:
        assigned = model.assign(outputs.data, targets)
    return yolo_loss(outputs, classes, assigned), assigned


def test_loss_is_the_papers_sum_squared_error_float64():
    rng = np.random.default_rng(0)
    model = YOLODetector(num_classes=4, image_size=SIZE, channels=TINY)
    raw = rng.normal(size=(3, 4, 4, 2 * 5 + 3))
    targets = random_targets(rng, (4, 0, 3))
    terms, _ = terms_of(model, Tensor(raw), targets)
    assert sum(t.item() for t in terms.values()) == pytest.approx(
        reference_loss(raw, targets, 2), rel=1e-12)
    # loss() is the same formula on the network's own outputs
    model.eval()
    data = scenes(3)
    checked = [{"boxes": b, "labels": lab} for b, lab in zip(data.boxes, data.labels, strict=True)]
    checked = [{"boxes": t["boxes"], "labels": np.minimum(t["labels"], 3)} for t in checked]
    loss, parts = model.loss(data.images, checked)
    reference = reference_loss(model(data.images).data.astype(np.float64), checked, 2)
    assert loss.item() == pytest.approx(reference, rel=1e-4)
    assert sum(parts.values()) == pytest.approx(loss.item(), rel=1e-5)


def test_loss_gradcheck_float64_on_the_heads_raw_outputs():
    rng = np.random.default_rng(1)
    model = YOLODetector(num_classes=4, image_size=SIZE, channels=TINY)
    raw = rng.normal(size=(2, 4, 4, 2 * 5 + 3))
    targets = random_targets(rng, (3, 2))
    _, assigned = terms_of(model, Tensor(raw), targets)  # conf^ held constant, as in training
    assert assigned.responsible.sum() >= 4

    def total(x):
        terms, _ = terms_of(model, x, targets, assigned)
        return terms["coord"] + terms["object"] + terms["no_object"] + terms["class"]

    assert_gradcheck(total, [raw], max_coords=None)


def test_empty_images_and_prediction_scores():
    model = YOLODetector(image_size=SIZE, channels=TINY)
    blank = np.zeros((2, 1, SIZE, SIZE), np.uint8)
    loss, parts = model.loss(blank, [{"boxes": np.zeros((0, 4)), "labels": []}] * 2)
    assert np.isfinite(loss.item()) and parts["no_object"] > 0
    assert parts["coord"] == parts["object"] == parts["class"] == 0
    assert loss.item() == pytest.approx(parts["no_object"])
    assert_detections(model.predict(blank), 2)
    none = YOLODetector(image_size=SIZE, channels=TINY, score_thresh=1.0).predict(blank)
    for entry in none:
        assert entry["boxes"].shape == (0, 4) and entry["scores"].shape == (0,)
        assert entry["labels"].shape == (0,) and entry["labels"].dtype == np.int64
    # the best detection is the predictor and class of highest conf x p(c), its box decoded
    model.eval()
    images = scenes(1).images
    outputs, classes = (t.data for t in model.split(model(images)))
    score = outputs[..., 4, None] * classes[:, :, :, None, :]
    cell = np.unravel_index(score.argmax(), score.shape)
    found = model.predict(images)[0]
    assert found["scores"][0] == pytest.approx(score.max())
    assert found["labels"][0] == cell[-1] + 1
    assert np.allclose(found["boxes"][0], np.clip(model.decode(outputs)[cell[:-1]], 0, SIZE))


def test_bad_input_is_named():
    model = YOLODetector(image_size=SIZE, channels=TINY)
    with pytest.raises(ValueError, match="32x32"):
        model(np.zeros((1, 1, 16, 16)))
    with pytest.raises(ValueError, match="images"):
        model(np.zeros((1, 3, SIZE, SIZE)))
    with pytest.raises(ValueError, match="multiple of the grid's stride 8"):
        YOLODetector(image_size=36, channels=TINY)
    image = np.zeros((1, 1, SIZE, SIZE))
    with pytest.raises(ValueError, match="labels must be >= 1"):
        model.loss(image, [{"boxes": [[0, 0, 4, 4]], "labels": [0]}])
    with pytest.raises(ValueError, match="labels must be < num_classes"):
        model.loss(image, [{"boxes": [[0, 0, 4, 4]], "labels": [11]}])


def test_overfits_single_items():
    """A few hundred steps on 64 scenes of one item: the best detection of each training
    scene covers its item (IoU > 0.5) with the right class on most of them."""
    data = compose_detection_scenes(64, "train", 0, size=SIZE, max_items=1, min_scale=12,
                                    max_scale=16)
    model = YOLODetector(image_size=SIZE, channels=(8, 16, 32, 32))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    targets = [{"boxes": b, "labels": lab} for b, lab in zip(data.boxes, data.labels, strict=True)]
    rng = np.random.default_rng(0)
    for _ in range(200):
        batch = rng.choice(64, 32, replace=False)
        model.train()
        loss, _ = model.loss(data.images[batch], [targets[i] for i in batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
    found = model.predict(data.images)
    hits = [len(f["boxes"]) and box_iou(f["boxes"][:1], t["boxes"])[0, 0] > 0.5
            and f["labels"][0] == t["labels"][0] for f, t in zip(found, targets, strict=True)]
    assert np.mean(hits) >= 0.9


def test_registered_and_checkpoint_round_trip(tmp_path):
    config = SceneConfig(model="yolo", size=32)
    model = build_model(config)
    assert isinstance(model, YOLODetector) and model.grid_size == 4
    images = make_scenes(config, "test", 2).images
    before = model.predict(images)
    restored, stored = load(save(model, config, tmp_path / "checkpoint"))
    assert stored == config
    for a, b in zip(before, restored.predict(images), strict=True):
        assert all(np.array_equal(a[k], b[k]) for k in ("boxes", "scores", "labels"))
