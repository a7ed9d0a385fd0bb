"""Every recipe is reachable as ``recipes.<name>.run(Config(...))``: those that work on a
trained run (compress, quantize, adversarial) load it from the config's ``checkpoint``."""

import numpy as np
import pytest

from visiongrad.recipes import adversarial, classify, compress, quantize


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    classify.run(classify.Config(model="two_layer", epochs=1, out=str(out)))
    return out


def test_compress_runs_from_its_config_alone(trained, tmp_path):
    result = compress.run(compress.Config(out=str(tmp_path / "c"), checkpoint=str(trained),
                                          prune=0.5, prune_steps=1, retrain_epochs=0))
    assert (tmp_path / "c" / compress.VGZ_NAME).is_file()
    assert 0.0 <= result["accuracy_after"] <= 1.0
    assert result["file_bytes"] < result["float32_bytes"]


def test_quantize_runs_from_its_config_alone(trained, tmp_path):
    (tmp_path / "q").mkdir()
    result = quantize.run(quantize.Config(out=str(tmp_path / "q"), checkpoint=str(trained),
                                          calibration=100), log=lambda *_: None)
    assert abs(result["accuracy"]["int8"] - result["accuracy"]["float32"]) < 0.05


def test_an_attack_runs_from_its_config_alone(trained, tmp_path):
    result = adversarial.run(adversarial.Config(method="fgsm", eps=0.1, images=64,
                                                epsilons=(0.0, 0.1), checkpoint=str(trained)),
                             log=lambda *_: None)
    assert result["robust_accuracy"] <= result["clean_accuracy"]
    assert np.isclose(result["curve"]["accuracy"][0], result["clean_accuracy"])


@pytest.mark.parametrize("recipe, config", [
    (compress, {"out": "c"}), (quantize, {"out": "q"}), (adversarial, {})])
def test_without_a_checkpoint_or_a_model_the_recipe_says_so(recipe, config):
    with pytest.raises(ValueError, match="checkpoint"):
        recipe.run(recipe.Config(**config))


def test_the_dataset_defaults_to_the_runs_own(tmp_path):
    run = tmp_path / "digits-run"
    classify.run(classify.Config(model="two_layer", dataset="digits", epochs=1, out=str(run)))
    (tmp_path / "q").mkdir()
    result = quantize.run(quantize.Config(out=str(tmp_path / "q"), checkpoint=str(run),
                                          calibration=50), log=lambda *_: None)
    assert result["test_images"] == 500  # the digits' test split, not Fashion-MNIST's 2,000
