"""``visiongrad predict``."""

import csv

import numpy as np
from PIL import Image

from visiongrad.cli import main

FASHION_CLASSES = 10


def test_predict_image_files_and_split(trained, tiny_fashion, tmp_path, capsys):
    _, checkpoint = trained
    paths = []
    for index, mode in enumerate(("L", "RGB")):
        path = tmp_path / f"shirt{index}.png"
        Image.new(mode, (28, 28), color=100 if mode == "L" else (100, 50, 0)).save(path)
        paths.append(str(path))
    csv_path = tmp_path / "predictions.csv"
    assert main(["predict", checkpoint, *paths, "--csv", str(csv_path)]) == 0
    assert "shirt1.png" in capsys.readouterr().out
    rows = list(csv.reader(csv_path.open()))
    assert rows[0][:2] == ["image", "label"] and len(rows[0]) == 2 + FASHION_CLASSES
    probabilities = np.array([[float(p) for p in row[2:]] for row in rows[1:]])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    assert [row[1] for row in rows[1:]] == [rows[0][2 + int(np.argmax(p))]
                                           for p in probabilities]
    assert main(["predict", checkpoint, "--dataset", "fashion-mnist", "--data-dir",
                 str(tiny_fashion), "--limit", "5"]) == 0
    assert capsys.readouterr().out.count("fashion-mnist/test/") == 5


def test_image_of_the_wrong_size(trained, tmp_path, user_error):
    _, checkpoint = trained
    path = tmp_path / "big.png"
    Image.new("L", (32, 30)).save(path)
    user_error(["predict", checkpoint, str(path)], "big.png", "32x30", "28x28")
