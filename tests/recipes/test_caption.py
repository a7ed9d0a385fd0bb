"""The captioning recipe's attention measure, by hand."""

import numpy as np

from visiongrad.data.scenes import SceneSet
from visiongrad.recipes.caption import attention_on_items, layout_match


def test_attention_share_inside_the_named_box():
    images = np.zeros((1, 1, 64, 64), np.uint8)
    # a bag (class 8) in the top-left 32x32 quarter
    scenes = SceneSet(images, [np.array([[0, 0, 32, 32]])], [np.array([8])], [[["a", "bag"]]])
    weights = np.zeros((1, 3, 8, 8))
    weights[0, :, 0, 0] = 0.5  # half on a cell inside the box, half outside
    weights[0, :, 7, 7] = 0.5
    weights[0, 0] = (np.arange(64).reshape(8, 8) % 2 == 0) / 32  # at "a": a quarter inside
    result = attention_on_items(weights, ["a bag", ], scenes)
    assert result["share_inside_box"] == 0.5 and result["uniform_share"] == 0.25
    assert result["share_inside_box_step_before"] == 0.25
    assert result["item_words"] == 1 and result["words_naming_absent_items"] == 0
    assert attention_on_items(weights, ["a coat"], scenes)["words_naming_absent_items"] == 1


def test_encoder_says_what_is_where_and_a_trained_one_is_reused(tmp_path):
    from visiongrad.recipes.caption import CaptionPipeline, run
    from visiongrad.recipes.caption import Config as CaptionConfig

    config = CaptionConfig(scenes=20, val_scenes=2, test_scenes=2, encoder_epochs=1, epochs=1,
                           batch_size=10, hidden_dim=8, wordvec_dim=4)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = run(config, tmp_path / "a", log=lambda line: None)
    assert len(first["encoder_loss"]) == 1 and 0 < first["encoder_loss"][0] < 1
    pipeline = CaptionPipeline(config, {"<NULL>": 0})
    logits = pipeline.encoder(np.zeros((3, 1, 64, 64), np.float32))
    assert logits.shape == (3, 10, 8, 8)  # one score per class and cell of the 8x8 map
    assert pipeline.captioner.input_dim == 10 * 8 * 8  # class probabilities, every cell
    probabilities = pipeline.encoder.features(np.zeros((3, 1, 64, 64), np.float32)).data
    np.testing.assert_allclose(probabilities, 1 / (1 + np.exp(-logits.data.reshape(3, -1))),
                               rtol=1e-5)
    fmap = pipeline.encoder.attention_map(np.zeros((2, 1, 64, 64), np.float32)).data
    assert fmap.shape == (2, 64 + 10 + 2, 8, 8)
    np.testing.assert_allclose(fmap[0, -2, 0], np.linspace(-1, 1, 8))  # x across a row
    np.testing.assert_allclose(fmap[0, -1, :, 0], np.linspace(-1, 1, 8))  # y down a column
    from visiongrad.recipes.caption import load_pipeline
    trained = load_pipeline(tmp_path / "a" / "checkpoint.safetensors").encoder
    second = run(config, tmp_path / "b", log=lambda line: None, encoder=trained)
    assert second["encoder_loss"] == []
    reused = load_pipeline(tmp_path / "b" / "checkpoint.safetensors").encoder.state_dict()
    for name, value in trained.state_dict().items():
        np.testing.assert_array_equal(np.asarray(reused[name]), np.asarray(value))


def test_layout_match_ignores_only_the_item_classes():
    refs = [["a bag to the left of a coat", "a coat to the right of a bag"]]
    assert layout_match(["a shirt to the left of a dress"], refs) == 1.0
    assert layout_match(["a coat to the right of a shirt"], refs) == 1.0
    assert layout_match(["a bag above a coat"], refs) == 0.0
    assert layout_match(["a bag on the left", "a bag to the left of a bag"], refs * 2) == 0.5
