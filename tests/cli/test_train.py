"""``visiongrad train``."""

from visiongrad.train.checkpoint import load_checkpoint


def test_train_writes_checkpoint_and_plots(trained):
    out, checkpoint = trained
    for name in ("loss.png", "accuracy.png", "update_ratios.png"):
        assert (out / name).stat().st_size > 5_000
    options = load_checkpoint(checkpoint)["config"]["options"]
    # the config file chose sgd; the command line's adam wins, the config's epochs stay
    assert options["optimizer"] == "adam" and options["epochs"] == 1
    assert options["batch_size"] == 16 and options["lr"] == 1e-3
    assert options["augment"] is True and options["schedule"] == "step"


def test_unknown_model_and_optimizer(tiny_fashion, user_error):
    data = ["--dataset", "fashion-mnist", "--data-dir", str(tiny_fashion)]
    user_error(["train", "--model", "resnet9000", *data], "'resnet9000'")
    user_error(["train", "--model", "two_layer", "--optimizer", "adamx", *data],
                      "'adamx'", "adamw")
    user_error(["summary", "alexnet9"], "unknown model 'alexnet9'")


def test_missing_data_folder(tmp_path, user_error):
    missing = str(tmp_path / "nowhere")
    user_error(["train", "--model", "two_layer", "--dataset", "fashion-mnist",
                               "--data-dir", missing], missing)
