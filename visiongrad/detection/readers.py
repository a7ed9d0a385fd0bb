"""Readers for real detection datasets: Pascal VOC XML annotations and COCO JSON.

Both check what they read and raise ``DataFormatError`` (a ValueError) naming the file and
the annotation: malformed XML/JSON, missing fields, boxes outside the image or with no
area, unknown classes, masks of the wrong size. An image without objects gives empty
arrays. XML with a DOCTYPE or ENTITY declaration is refused before the tree is built
(entity expansion "billion laughs" bombs need one; VOC files have none), in whatever
encoding the file declares. Numbers must be finite; a COCO image may have at most
``MAX_IMAGE_PIXELS`` pixels, and one image's masks at most ``MAX_MASK_BYTES`` bytes.

Boxes come back as float32 (x1, y1, x2, y2) in pixel-edge coordinates: VOC's inclusive
1-based corners (xmin, ymin, xmax, ymax) become (xmin - 1, ymin - 1, xmax, ymax), COCO's
[x, y, w, h] becomes (x, y, x + w, y + h).
"""

from __future__ import annotations

import json
import math
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.parsers import expat

import numpy as np

from ..data.errors import DataFormatError
from ..data.images import MAX_IMAGE_PIXELS
from . import rle

MAX_ANNOTATION_BYTES = 1 << 30

#: Most bytes the masks of one COCO image may take in :meth:`CocoDataset.targets`.
MAX_MASK_BYTES = 1 << 30


def _read_bytes(path, limit: int = MAX_ANNOTATION_BYTES) -> bytes:
    path = Path(path)
    try:
        size = os.path.getsize(path)
        if size > limit:
            raise DataFormatError(f"{path}: {size} bytes is more than the {limit} allowed")
        return path.read_bytes()
    except OSError as error:
        raise DataFormatError(f"{path}: cannot be read ({error.strerror or error})") from error


def _refuse_declarations(data: bytes, path) -> None:
    """Parse ``data`` once with expat, refusing any DOCTYPE or ENTITY declaration: expat
    decodes the file's own encoding (UTF-16 too), which a byte search would miss."""
    def refuse(*_):
        raise DataFormatError(f"{path}: XML with a DOCTYPE or ENTITY declaration is refused")

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = refuse
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        raise DataFormatError(f"{path}: malformed XML ({error})") from None


def read_voc_xml(path, classes=None) -> dict:
    """One Pascal VOC annotation file.

    Returns dict: ``filename`` (str), ``size`` (height, width), ``boxes`` (k, 4) float32,
    ``names`` (k,) class names, ``labels`` (k,) int64 (index in ``classes``, or -1 without
    ``classes``), ``difficult`` (k,) bool.

    Examples
    --------
    >>> import os, tempfile; path = os.path.join(tempfile.mkdtemp(), '000001.xml')
    >>> xml = '''<annotation><filename>000001.jpg</filename>
    ... <size><width>50</width><height>40</height><depth>3</depth></size>
    ... <object><name>dog</name><difficult>0</difficult>
    ... <bndbox><xmin>1</xmin><ymin>2</ymin><xmax>20</xmax><ymax>30</ymax></bndbox></object>
    ... </annotation>'''
    >>> _ = open(path, 'w').write(xml)
    >>> note = read_voc_xml(path, classes=['cat', 'dog'])
    >>> note['size'], note['boxes'], note['labels']
    ((40, 50), array([[ 0.,  1., 20., 30.]], dtype=float32), array([1]))
    """
    data = _read_bytes(path)
    _refuse_declarations(data, path)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as error:
        raise DataFormatError(f"{path}: malformed XML ({error})") from None
    if root.tag != "annotation":
        raise DataFormatError(f"{path}: root element is <{root.tag}>, not <annotation>")

    def number(node, tag: str, where: str) -> float:
        text = node.findtext(tag)
        try:
            value = float(text)
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value):
            raise DataFormatError(f"{path}: {where} needs a number in <{tag}>, got "
                                  f"{text!r:.40} (finite numbers only)")
        return value

    size = root.find("size")
    if size is None:
        raise DataFormatError(f"{path}: no <size> element")
    height, width = number(size, "height", "<size>"), number(size, "width", "<size>")
    if height < 1 or width < 1:
        raise DataFormatError(f"{path}: image size {width:g} x {height:g} is empty")
    boxes, names, difficult = [], [], []
    for i, obj in enumerate(root.findall("object")):
        name = (obj.findtext("name") or "").strip()
        where = f"object {i} ({name or 'no name'})"
        if not name:
            raise DataFormatError(f"{path}: {where} has no <name>")
        if classes is not None and name not in classes:
            raise DataFormatError(f"{path}: {where}: unknown class {name!r} (known: "
                                  f"{', '.join(classes)})")
        box = obj.find("bndbox")
        if box is None:
            raise DataFormatError(f"{path}: {where} has no <bndbox>")
        x1, y1, x2, y2 = (number(box, tag, where) for tag in ("xmin", "ymin", "xmax", "ymax"))
        if x2 < x1 or y2 < y1:
            raise DataFormatError(f"{path}: {where}: degenerate box ({x1:g}, {y1:g}, {x2:g}, "
                                  f"{y2:g}): xmax < xmin or ymax < ymin")
        if x1 < 1 or y1 < 1 or x2 > width or y2 > height:
            raise DataFormatError(f"{path}: {where}: box ({x1:g}, {y1:g}, {x2:g}, {y2:g}) lies "
                                  f"outside the {width:g} x {height:g} image (VOC corners "
                                  "run from 1 to the size)")
        boxes.append((x1 - 1, y1 - 1, x2, y2))
        names.append(name)
        difficult.append((obj.findtext("difficult") or "0").strip() == "1")
    return {"filename": (root.findtext("filename") or "").strip(),
            "size": (int(height), int(width)),
            "boxes": np.array(boxes, dtype=np.float32).reshape(-1, 4),
            "names": np.array(names, dtype=object),
            "labels": np.array([list(classes).index(n) if classes is not None else -1
                                for n in names], dtype=np.int64),
            "difficult": np.array(difficult, dtype=bool)}


def _is_finite(value) -> bool:
    """A JSON number (not a bool) that is finite as a float (an int past 1e308 is not)."""
    try:
        return isinstance(value, (int, float)) and not isinstance(value, bool) \
            and math.isfinite(value)
    except OverflowError:
        return False


class CocoDataset:
    """A COCO JSON annotation file, checked on reading; ``targets(image_id)`` gives one
    image's boxes, labels (category ids), crowd flags and masks (decoded on demand).

    Attributes: ``dataset`` (the checked dict, ready for ``evaluate_coco``), ``images``
    {id: image dict}, ``categories`` {id: name}.

    Examples
    --------
    >>> import json, os, tempfile; path = os.path.join(tempfile.mkdtemp(), 'instances.json')
    >>> truth = {'images': [{'id': 1, 'height': 10, 'width': 10}], 'categories': [{'id': 1}],
    ...          'annotations': [{'id': 1, 'image_id': 1, 'category_id': 1, 'bbox': [0, 0, 4, 4],
    ...                           'area': 16, 'iscrowd': 0}]}
    >>> _ = open(path, 'w').write(json.dumps(truth))
    >>> from visiongrad.detection import CocoDataset
    >>> coco = CocoDataset(path)
    >>> target = coco.targets(1)
    >>> target['boxes'], target['labels']
    (array([[0., 0., 4., 4.]], dtype=float32), array([1]))
    """

    def __init__(self, path):
        self.path = Path(path)
        try:
            dataset = json.loads(_read_bytes(path))
        except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError,
            # a number past Python's 4300 digits, or nesting deeper than the stack
            raise DataFormatError(f"{path}: malformed JSON ({type(error).__name__}: "
                                  f"{str(error):.200})") from None
        self.dataset = self._checked(dataset)
        self.images = {image["id"]: image for image in self.dataset["images"]}
        self.categories = {c["id"]: c.get("name", str(c["id"]))
                           for c in self.dataset["categories"]}
        self._by_image: dict = {image_id: [] for image_id in self.images}
        for ann in self.dataset["annotations"]:
            self._by_image[ann["image_id"]].append(ann)

    def _fail(self, message: str):
        raise DataFormatError(f"{self.path}: {message}")

    def _checked(self, dataset):
        if not isinstance(dataset, dict):
            self._fail("the top level must be an object with images, annotations, categories")
        for key in ("images", "annotations", "categories"):
            if not isinstance(dataset.get(key), list):
                self._fail(f"'{key}' must be a list")
        images, categories = {}, set()
        for i, image in enumerate(dataset["images"]):
            if not isinstance(image, dict) or not all(k in image for k in ("id", "height",
                                                                           "width")):
                self._fail(f"image {i} needs id, height and width")
            self._check_id(image["id"], f"image {i}")
            if image["id"] in images:
                self._fail(f"image id {image['id']} appears twice")
            self._check_size(image, i)
            images[image["id"]] = image
        for i, category in enumerate(dataset["categories"]):
            if not isinstance(category, dict) or "id" not in category:
                self._fail(f"category {i} needs an id")
            self._check_id(category["id"], f"category {i}")
            categories.add(category["id"])
        for i, ann in enumerate(dataset["annotations"]):
            self._check_annotation(i, ann, images, categories)
        return dataset

    def _check_id(self, value, where: str) -> None:
        """An id is an int or a short string (JSON gives nothing else that is hashable)."""
        if not (type(value) is int or isinstance(value, str) and len(value) <= 256):
            self._fail(f"{where}: an id must be an integer or a short string, got a "
                       f"{type(value).__name__}")

    def _check_size(self, image: dict, i: int) -> None:
        height, width = image["height"], image["width"]
        if not all(type(side) is int and side >= 1 for side in (height, width)):
            self._fail(f"image {image['id']!r:.40}: height and width must be positive "
                       f"integers, got {height!r:.40} and {width!r:.40}")
        if height * width > MAX_IMAGE_PIXELS:
            self._fail(f"image {image['id']!r:.40} declares {width} x {height} pixels, more than "
                       f"the {MAX_IMAGE_PIXELS} allowed")

    def _check_annotation(self, i, ann, images, categories):
        where = f"annotation {i}"
        if not isinstance(ann, dict) or not all(k in ann for k in ("image_id", "category_id",
                                                                   "bbox")):
            self._fail(f"{where} needs image_id, category_id and bbox")
        self._check_id(ann["image_id"], f"{where}'s image_id")
        self._check_id(ann["category_id"], f"{where}'s category_id")
        if ann["image_id"] not in images:
            self._fail(f"{where} names an unknown image {ann['image_id']!r:.40}")
        if ann["category_id"] not in categories:
            self._fail(f"{where} names an unknown category {ann['category_id']!r:.40}")
        bbox = ann["bbox"]
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(map(_is_finite, bbox))):
            self._fail(f"{where}: bbox must be 4 finite numbers [x, y, w, h]")
        x, y, w, h = bbox
        if w <= 0 or h <= 0:
            self._fail(f"{where}: degenerate bbox {bbox} (width and height must be > 0)")
        image = images[ann["image_id"]]
        slack = 1.0  # COCO's own boxes overrun their image by a fraction of a pixel
        if x < -slack or y < -slack or x + w > image["width"] + slack \
                or y + h > image["height"] + slack:
            self._fail(f"{where}: bbox {bbox} lies outside the {image['width']} x "
                       f"{image['height']} image {ann['image_id']}")
        segmentation = ann.get("segmentation")
        if isinstance(segmentation, list):
            for polygon in segmentation:
                if not isinstance(polygon, list) or len(polygon) < 6 or len(polygon) % 2 \
                        or not all(map(_is_finite, polygon)):
                    self._fail(f"{where}: a polygon needs an even number >= 6 of finite "
                               "coordinates")
        elif isinstance(segmentation, dict):
            if segmentation.get("size") != [image["height"], image["width"]]:
                self._fail(f"{where}: RLE size {segmentation.get('size')!r:.40} differs from "
                           f"the image's [{image['height']}, {image['width']}]")
        elif segmentation is not None:
            self._fail(f"{where}: segmentation must be polygons or an RLE dict")

    def targets(self, image_id, masks: bool = False) -> dict:
        """``boxes`` (k, 4) float32 xyxy, ``labels`` (k,) int64 category ids, ``iscrowd``
        (k,) bool, and with ``masks`` a (k, H, W) bool array (an annotation without
        segmentation is filled by its box)."""
        if image_id not in self.images:
            raise KeyError(f"{self.path}: no image with id {image_id!r}")
        anns, image = self._by_image[image_id], self.images[image_id]
        xywh = np.array([a["bbox"] for a in anns], dtype=np.float32).reshape(-1, 4)
        out = {"boxes": np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1),
               "labels": np.array([a["category_id"] for a in anns], dtype=np.int64),
               "iscrowd": np.array([bool(a.get("iscrowd", 0)) for a in anns], dtype=bool)}
        if masks:
            height, width = image["height"], image["width"]
            if len(anns) * height * width > MAX_MASK_BYTES:
                self._fail(f"the {len(anns)} masks of image {image_id!r:.40} would take "
                           f"{len(anns) * height * width} bytes, more than {MAX_MASK_BYTES}")
            stack = np.zeros((len(anns), height, width), dtype=bool)
            for i, ann in enumerate(anns):
                if ann.get("segmentation") is not None:
                    try:
                        stack[i] = rle.segmentation_to_mask(ann["segmentation"], height, width)
                    except (ValueError, TypeError, OverflowError) as error:
                        self._fail(f"annotation {ann.get('id', i)!r:.40}: {error}")
                else:
                    x1, y1, x2, y2 = np.rint(out["boxes"][i]).astype(int)
                    stack[i, max(y1, 0):y2, max(x1, 0):x2] = True
            out["masks"] = stack
        return out
