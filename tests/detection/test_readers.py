"""detection/readers.py on small crafted files: VOC XML and COCO JSON with boxes, polygons
and RLE masks; bad annotations get a DataFormatError naming the file and the problem;
images without objects give empty arrays."""

from __future__ import annotations

import json

import numpy as np
import pytest

from visiongrad.data.errors import DataFormatError
from visiongrad.detection import rle
from visiongrad.detection.readers import CocoDataset, read_voc_xml

VOC = """<annotation><filename>000001.jpg</filename>
<size><width>100</width><height>80</height><depth>3</depth></size>
{objects}</annotation>"""
OBJECT = ("<object><name>{name}</name><difficult>{difficult}</difficult><bndbox>"
          "<xmin>{box[0]}</xmin><ymin>{box[1]}</ymin><xmax>{box[2]}</xmax><ymax>{box[3]}</ymax>"
          "</bndbox></object>")


def voc_file(tmp_path, objects, name="a.xml"):
    text = VOC.format(objects="".join(OBJECT.format(name=n, difficult=d, box=b)
                                      for n, d, b in objects))
    path = tmp_path / name
    path.write_text(text)
    return path


def test_voc_reads_boxes_names_difficult(tmp_path):
    path = voc_file(tmp_path, [("dog", 0, (1, 1, 100, 80)), ("cat", 1, (10, 20, 30, 40))])
    ann = read_voc_xml(path, classes=["cat", "dog"])
    np.testing.assert_array_equal(ann["boxes"], [[0, 0, 100, 80], [9, 19, 30, 40]])
    assert list(ann["names"]) == ["dog", "cat"] and list(ann["labels"]) == [1, 0]
    assert list(ann["difficult"]) == [False, True] and ann["size"] == (80, 100)
    empty = read_voc_xml(voc_file(tmp_path, [], "empty.xml"))
    assert empty["boxes"].shape == (0, 4) and empty["labels"].shape == (0,)


@pytest.mark.parametrize("objects, message", [
    ([("dog", 0, (0, 1, 10, 10))], "outside"),
    ([("dog", 0, (1, 1, 101, 10))], "outside"),
    ([("dog", 0, (20, 1, 10, 10))], "degenerate"),
    ([("horse", 0, (1, 1, 10, 10))], "unknown class 'horse'"),
    ([("dog", 0, (1, 1, "ten", 10))], "needs a number"),
])
def test_voc_bad_annotations(tmp_path, objects, message):
    with pytest.raises(DataFormatError, match=message) as info:
        read_voc_xml(voc_file(tmp_path, objects), classes=["cat", "dog"])
    assert "a.xml" in str(info.value)


def test_voc_malformed_and_entity_bombs(tmp_path):
    broken = tmp_path / "broken.xml"
    broken.write_text("<annotation><size><width>3</width>")
    with pytest.raises(DataFormatError, match="malformed XML"):
        read_voc_xml(broken)
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><annotation>&lol2;</annotation>')
    with pytest.raises(DataFormatError, match="DOCTYPE or ENTITY"):
        read_voc_xml(bomb)
    other = tmp_path / "other.xml"
    other.write_text("<html/>")
    with pytest.raises(DataFormatError, match="not <annotation>"):
        read_voc_xml(other)
    with pytest.raises(DataFormatError, match="cannot be read"):
        read_voc_xml(tmp_path / "missing.xml")


def coco_dict():
    mask = np.zeros((20, 30), np.uint8)
    mask[5:10, 3:9] = 1
    return {"images": [{"id": 1, "height": 20, "width": 30}, {"id": 2, "height": 20, "width": 30}],
            "categories": [{"id": 3, "name": "bag"}, {"id": 7, "name": "shoe"}],
            "annotations": [
                {"id": 1, "image_id": 1, "category_id": 3, "bbox": [2, 2, 10, 8], "area": 50,
                 "iscrowd": 0, "segmentation": [[2, 2, 12, 2, 12, 10, 2, 10]]},
                {"id": 2, "image_id": 1, "category_id": 7, "bbox": [3, 5, 6, 5], "area": 30,
                 "iscrowd": 1, "segmentation": rle.encode(mask)},
                {"id": 3, "image_id": 1, "category_id": 7, "bbox": [20, 0, 10, 20],
                 "area": 200, "iscrowd": 0,
                 "segmentation": {"size": [20, 30], "counts": [400, 200]}}]}


def write(tmp_path, data, name="c.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_coco_reads_boxes_polygons_and_rle(tmp_path):
    coco = CocoDataset(write(tmp_path, coco_dict()))
    targets = coco.targets(1, masks=True)
    np.testing.assert_array_equal(targets["boxes"],
                                  [[2, 2, 12, 10], [3, 5, 9, 10], [20, 0, 30, 20]])
    np.testing.assert_array_equal(targets["labels"], [3, 7, 7])
    np.testing.assert_array_equal(targets["iscrowd"], [False, True, False])
    assert targets["masks"][1].sum() == 30 and targets["masks"][2][:, 20:].all()
    assert targets["masks"][0][3:9, 3:11].all() and not targets["masks"][0][15:].any()
    empty = coco.targets(2, masks=True)
    assert empty["boxes"].shape == (0, 4) and empty["masks"].shape == (0, 20, 30)
    assert coco.categories == {3: "bag", 7: "shoe"}


def bad(change):
    data = coco_dict()
    change(data)
    return data


@pytest.mark.parametrize("data, message", [
    ("{not json", "malformed JSON"),
    ([1, 2], "top level"),
    (bad(lambda d: d.pop("categories")), "'categories' must be a list"),
    (bad(lambda d: d["annotations"][0].update(bbox=[2, 2, 0, 8])), "degenerate bbox"),
    (bad(lambda d: d["annotations"][0].update(bbox=[25, 2, 10, 8])), "outside"),
    (bad(lambda d: d["annotations"][0].update(bbox=[2, 2, "x", 8])), "4 finite numbers"),
    (bad(lambda d: d["annotations"][0].update(category_id=9)), "unknown category 9"),
    (bad(lambda d: d["annotations"][0].update(image_id=5)), "unknown image 5"),
    (bad(lambda d: d["annotations"][0].update(segmentation=[[1, 2, 3]])), "polygon"),
    (bad(lambda d: d["annotations"][1]["segmentation"].update(size=[5, 5])), "RLE size"),
    (bad(lambda d: d["images"].append({"id": 1, "height": 2, "width": 2})), "twice"),
])
def test_coco_bad_annotations(tmp_path, data, message):
    with pytest.raises(DataFormatError, match=message) as info:
        CocoDataset(write(tmp_path, data))
    assert "c.json" in str(info.value)


def test_coco_bad_rle_counts_named_when_decoded(tmp_path):
    data = bad(lambda d: d["annotations"][2]["segmentation"].update(counts=[1, 2]))
    coco = CocoDataset(write(tmp_path, data))
    with pytest.raises(DataFormatError, match="annotation 3"):
        coco.targets(1, masks=True)
