"""torchvision's pure-Python detection code as a reference: its compiled ops do not load on
this CPU torch, so the meta registrations that need them are replaced by an empty module
before import (only pure-Python functions are used: box_iou, box_convert, BoxCoder,
Matcher, AnchorGenerator)."""

from __future__ import annotations

import sys
import types

import pytest


@pytest.fixture(scope="session")
def tv():
    """A namespace with torch and torchvision's pure-Python detection modules."""
    torch = pytest.importorskip("torch", reason="PyTorch is a test-only reference")
    sys.modules.setdefault("torchvision._meta_registrations",
                           types.ModuleType("torchvision._meta_registrations"))
    boxes = pytest.importorskip("torchvision.ops.boxes")
    from torchvision.models.detection import _utils, anchor_utils
    return types.SimpleNamespace(torch=torch, boxes=boxes, utils=_utils, anchors=anchor_utils)
