"""``visiongrad predict``."""

import csv
import struct
import zlib

import numpy as np
from PIL import Image

from visiongrad.cli import main
from visiongrad.cli.images import read_images

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


def huge_png(path, width, height):
    """A valid PNG header declaring ``width`` x ``height`` grey pixels, with a tiny body:
    decoding it would take gigabytes."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def test_huge_image_is_refused_from_its_header(trained, tmp_path, user_error):
    _, checkpoint = trained
    path = tmp_path / "bomb.png"
    huge_png(path, 9000, 9000)  # above visiongrad's limit (8192 x 8192), below Pillow's
    user_error(["predict", checkpoint, str(path), "--resize"], "bomb.png", "9000x9000",
               "refused before decoding")
    huge_png(path, 30000, 30000)  # above Pillow's own limit too
    user_error(["predict", checkpoint, str(path), "--resize"], "bomb.png",
               "refused before decoding")
    user_error(["predict", checkpoint, str(tmp_path / "absent.png")],
               "image not found", "absent.png")


def test_resize_and_invert(tmp_path, capsys):
    pixels = np.full((56, 40), 200, dtype=np.uint8)
    pixels[:28] = 20  # dark top half, light bottom half
    Image.fromarray(pixels).save(tmp_path / "photo.png")
    batch = read_images([str(tmp_path / "photo.png")], channels=1, size=(28, 28),
                        resize=True, invert=True)
    assert batch.shape == (1, 1, 28, 28)
    assert np.all(batch[0, 0, :13] == 235) and np.all(batch[0, 0, 15:] == 55)
    Image.new("RGB", (28, 28), (255, 0, 0)).save(tmp_path / "red.png")
    grey = read_images([str(tmp_path / "red.png")], channels=1, size=(28, 28))
    assert np.all(grey == 76)
    assert capsys.readouterr().err.strip() == (
        f"visiongrad: warning: {tmp_path / 'red.png'}: colour image (RGB) converted to "
        "grayscale (mode='L')")


def test_predict_with_resize_and_invert_runs_end_to_end(trained, tmp_path, capsys):
    _, checkpoint = trained
    Image.new("L", (100, 80), 230).save(tmp_path / "bag.png")
    assert main(["predict", checkpoint, str(tmp_path / "bag.png"), "--resize",
                 "--invert"]) == 0
    assert "bag.png" in capsys.readouterr().out
