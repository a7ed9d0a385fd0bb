"""The classify recipe as a library user calls it: ``run(Config(...))``, every field checked
when the config is built (from Python or from stored options)."""

import dataclasses

import pytest

from visiongrad.recipes import classify
from visiongrad.recipes.classify_network import load_network
from visiongrad.recipes.errors import RecipeError


@pytest.mark.parametrize("field, value, message", [
    ("model", "nonet", "unknown model 'nonet'"),
    ("epochs", 0, "epochs must be an integer from 1 to 100000, got 0"),
    ("epochs", 10**5000, "epochs must be an integer from 1 to 100000, got an integer of"),
    ("epochs", True, "epochs must be an integer"),
    ("batch_size", "64", "batch_size must be an integer from 1"),
    ("lr", float("nan"), "lr must be a positive number, got nan"),
    ("lr", 10**400, "lr must be a positive number"),
    ("weight_decay", -1e-4, "weight_decay must be a non-negative number"),
    ("val_fraction", 1.0, "val_fraction must be a fraction between 0 and 1"),
    ("seed", -1, "seed must be an integer from 0"),
    ("optimizer", "Adam", "unknown optimizer 'Adam'"),
    ("schedule", None, "unknown schedule None"),
    ("augment", "yes", "augment must be true or false, got 'yes'"),
    ("out", "", "out must be a non-empty string, got ''"),
    ("out", "x" * 300, "out is too long for a path"),
    ("ensemble", 0, "ensemble must be an integer from 1 to 1000, got 0"),
    ("ema", 1.0, "ema must be a decay between 0 and 1, got 1.0"),
], ids=lambda value: "huge" if isinstance(value, int) and value > 10**100 else None)
def test_every_config_field_is_checked_when_the_config_is_built(field, value, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        classify.Config(**{field: value})
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        classify.Config.from_options({"model": "fc", field: value} if field != "model"
                                     else {field: value})


def test_lbfgs_with_weight_decay_is_refused_and_other_commands_keys_are_ignored():
    with pytest.raises(ValueError, match="optimizer lbfgs takes no weight_decay"):
        classify.Config(optimizer="lbfgs", weight_decay=1e-4)
    config = classify.Config.from_options({"model": "fc", "method": "grid", "trials": 3})
    assert config == classify.Config(model="fc")
    with pytest.raises(ValueError, match="labels_per_class must be an integer from 1"):
        classify.FinetuneConfig(checkpoint="run", labels_per_class=0)


def test_run_trains_writes_a_checkpoint_that_load_network_rebuilds(tmp_path, capsys):
    config = classify.Config(model="fc", epochs=1, batch_size=256, out=str(tmp_path / "run"))
    trainer, checkpoint = classify.run(config)
    assert checkpoint == tmp_path / "run" / "checkpoint.safetensors" and trainer.epoch == 1
    model, normalize, info = load_network(str(tmp_path / "run"))  # a run folder will do
    assert info["model"] == "fc" and info["options"] == dataclasses.asdict(config)
    assert "training fc on" in capsys.readouterr().out
    with pytest.raises(RecipeError, match="data folder not found"):
        classify.run(dataclasses.replace(config, data_dir=str(tmp_path / "none")))


def test_ema_validates_on_the_average_and_an_extended_run_resumes_exactly(tmp_path, capsys):
    """--ema: the same training steps as without it (the average only reads the weights),
    validation on the averaged weights. Extending a run with resume trains on from the
    last epoch's weights and average, as the uninterrupted run: the checkpoint holds the
    best epoch's weights (here the average) for use, and the last epoch's apart."""
    import numpy as np

    def config(name, **changes):
        return classify.Config(**{"model": "fc", "epochs": 2, "batch_size": 256,
                                  "out": str(tmp_path / name), **changes})

    plain, _ = classify.run(config("plain"))
    averaged, _ = classify.run(config("ema", ema=0.9))
    assert averaged.history["loss"] == plain.history["loss"]
    assert averaged.history["val_loss"] != plain.history["val_loss"]
    first, checkpoint = classify.run(config("resumed", ema=0.9, epochs=1))
    resumed, _ = classify.run(config("resumed", ema=0.9), resume=checkpoint)
    for key in ("loss", "val_loss", "val_accuracy", "lr"):
        assert resumed.history[key] == averaged.history[key], key
    for ours, theirs in zip(resumed.ema.shadow, averaged.ema.shadow, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    for name, value in averaged.model.state_dict().items():
        np.testing.assert_array_equal(resumed.model.state_dict()[name], value)
    capsys.readouterr()
