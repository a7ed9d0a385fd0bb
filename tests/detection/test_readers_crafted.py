"""VOC and COCO files crafted against the detection readers (issue 28, items 3, 6, 12 and
14): declarations hidden in UTF-16, NaN boxes and sizes, an image of 40000 x 40000 pixels
in 250 bytes, deep nesting, unhashable ids and odd numbers; each is one DataFormatError
naming the file, within the memory bound. Ends with a hypothesis fuzz of both readers."""

from __future__ import annotations

import copy
import json

import pytest
from fuzzing import memory_bound, traced_peak
from helpers import set_in
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from visiongrad.data.errors import DataFormatError
from visiongrad.detection.readers import CocoDataset, read_voc_xml

from .test_readers import VOC, coco_dict, voc_file, write

BOMB = ('<?xml version="1.0" encoding="{encoding}"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        '<annotation>&lol2;</annotation>')


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-le", "utf-16-be"])
def test_voc_declarations_are_refused_in_any_encoding(tmp_path, encoding):
    path = tmp_path / f"bomb-{encoding}.xml"
    declared = encoding.upper().replace("-LE", "LE").replace("-BE", "BE")
    path.write_bytes(BOMB.format(encoding=declared).encode(encoding))
    with pytest.raises(DataFormatError, match=f"bomb-{encoding}.xml: XML with a DOCTYPE or "
                                              "ENTITY declaration is refused"):
        read_voc_xml(path)


def test_voc_utf32_is_malformed_not_parsed(tmp_path):
    path = tmp_path / "utf32.xml"
    path.write_bytes(BOMB.format(encoding="UTF-32").encode("utf-32"))
    with pytest.raises(DataFormatError, match="utf32.xml: (malformed XML|XML with a DOCTYPE)"):
        read_voc_xml(path)


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e999"])
def test_voc_non_finite_boxes_and_sizes_are_refused(tmp_path, value):
    box = voc_file(tmp_path, [("dog", 0, (1, 1, value, 80))], "box.xml")
    with pytest.raises(DataFormatError, match=r"box.xml: object 0 \(dog\) needs a number in "
                                              r"<xmax>, got .* \(finite numbers only\)"):
        read_voc_xml(box)
    size = tmp_path / "size.xml"
    size.write_text(VOC.format(objects="").replace("<width>100</width>",
                                                   f"<width>{value}</width>"))
    with pytest.raises(DataFormatError, match="size.xml: <size> needs a number in <width>"):
        read_voc_xml(size)


def test_coco_image_of_forty_thousand_squared_is_refused_before_masks(tmp_path):
    data = {"images": [{"id": 1, "height": 40000, "width": 40000}],
            "categories": [{"id": 1}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 9, 9]}]}
    path = write(tmp_path, data, "huge.json")
    assert path.stat().st_size < 250

    def masks(file):
        return CocoDataset(file).targets(1, masks=True)

    peak, error = traced_peak(masks, path)
    assert isinstance(error, DataFormatError), error
    assert "huge.json: image 1 declares 40000 x 40000 pixels, more than the 67108864" \
        in str(error)
    assert peak < memory_bound(path)


def test_coco_masks_of_one_image_are_capped(tmp_path):
    data = {"images": [{"id": 1, "height": 8192, "width": 8192}], "categories": [{"id": 1}],
            "annotations": [{"id": i, "image_id": 1, "category_id": 1, "bbox": [0, 0, 9, 9]}
                            for i in range(20)]}
    coco = CocoDataset(write(tmp_path, data, "many.json"))
    with pytest.raises(DataFormatError, match="many.json: the 20 masks of image 1 would take "
                                              "1342177280 bytes"):
        coco.targets(1, masks=True)


def edited(change):
    data = coco_dict()
    change(data)
    return data


COCO_CASES = {
    "deep": ("[" * 100_000 + "]" * 100_000, "malformed JSON"),
    "digits": ('{"images": [{"id": ' + "9" * 5000 + "}]}", "malformed JSON"),
    "list_id": (edited(set_in(["images", 0, "id"], [1])), "image 0: an id must be"),
    "dict_image_id": (edited(set_in(["annotations", 0, "image_id"], {"a": 1})),
                      "annotation 0's image_id: an id must be"),
    "list_category": (edited(set_in(["categories", 0, "id"], [3])), "category 0: an id"),
    "string_width": (edited(set_in(["images", 0, "width"], "30")), "height and width must be"),
    "null_width": (edited(set_in(["images", 0, "width"], None)), "height and width must be"),
    "nan_height": ('{"images": [{"id": 1, "height": NaN, "width": 3}], "annotations": [], '
                   '"categories": []}', "height and width must be"),
    "float_width": (edited(set_in(["images", 0, "width"], 30.5)), "height and width must be"),
    "huge_bbox": (edited(set_in(["annotations", 0, "bbox"], [10**400, 0, 1, 1])),
                  "bbox must be 4 finite numbers"),
    "bool_bbox": (edited(set_in(["annotations", 0, "bbox"], [True, 0, 1, 1])),
                  "bbox must be 4 finite numbers"),
    "string_polygon": (edited(set_in(["annotations", 0, "segmentation"], [["a"] * 6])),
                       "a polygon needs an even number >= 6 of finite coordinates"),
}


@pytest.mark.parametrize("case", sorted(COCO_CASES))
def test_coco_odd_values_are_one_clear_error_naming_the_file(tmp_path, case):
    data, reason = COCO_CASES[case]
    path = write(tmp_path, data, f"{case}.json")
    with pytest.raises(DataFormatError, match=f"{case}.json: .*{reason}"):
        CocoDataset(path).targets(1, masks=True)


# ------------------------------------------------------------------ fuzzing

FUZZ = settings(max_examples=80, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                               max_size=3), max_leaves=8)
COCO_PATHS = [["images", 0, "id"], ["images", 0, "height"], ["images", 0, "width"],
              ["images", 0], ["categories", 0, "id"], ["annotations", 0, "bbox"],
              ["annotations", 0, "bbox", 2], ["annotations", 1, "segmentation"],
              ["annotations", 0, "segmentation", 0], ["annotations", 2, "segmentation", "size"],
              ["annotations", 2, "segmentation", "counts"], ["annotations", 0, "image_id"],
              ["annotations", 1, "category_id"], ["annotations"], ["images"]]


def check_reader(function, path) -> None:
    """The three properties: loads or fails in DataFormatError naming the file; memory
    within the bound."""
    peak, error = traced_peak(function, path)
    if error is not None:
        assert isinstance(error, DataFormatError), f"{type(error).__name__}: {error}"
        assert path.name in str(error)
    assert peak < memory_bound(path), peak


@FUZZ
@given(edits=st.lists(st.tuples(st.sampled_from(range(len(COCO_PATHS))), JSON_VALUES),
                      min_size=1, max_size=3))
def test_fuzzed_coco_files_load_or_fail_in_one_clear_error(tmp_path, edits):
    data = coco_dict()
    for where, value in edits:
        try:
            set_in(COCO_PATHS[where], copy.deepcopy(value))(data)
        except (KeyError, IndexError, TypeError):
            continue
    path = tmp_path / "fuzzed.json"
    path.write_text(json.dumps(data, allow_nan=True))
    check_reader(lambda file: [CocoDataset(file).targets(image_id, masks=True)
                               for image_id in (1, 2) if image_id in CocoDataset(file).images],
                 path)


VOC_TAGS = ["width", "height", "xmin", "ymin", "xmax", "ymax", "name", "difficult"]


@FUZZ
@given(edits=st.lists(st.tuples(st.sampled_from(VOC_TAGS),
                                st.text(max_size=6) | st.floats().map(str)
                                | st.sampled_from(["&lol;", "<!ENTITY x 'y'>", "]]>", "<a>"])),
                      min_size=1, max_size=3),
       encoding=st.sampled_from(["utf-8", "utf-16", "latin-1"]), cut=st.integers(0, 400))
def test_fuzzed_voc_files_load_or_fail_in_one_clear_error(tmp_path, edits, encoding, cut):
    text = voc_file(tmp_path, [("dog", 0, (1, 1, 100, 80)), ("cat", 1, (10, 20, 30, 40))],
                    "seed.xml").read_text()
    for tag, value in edits:
        start, end = text.find(f"<{tag}>"), text.find(f"</{tag}>")
        text = text[:start + len(tag) + 2] + value + text[end:]
    content = text.encode(encoding, "replace")
    path = tmp_path / "fuzzed.xml"
    path.write_bytes(content[:len(content) - cut % 50] if cut > 350 else content)
    check_reader(read_voc_xml, path)
