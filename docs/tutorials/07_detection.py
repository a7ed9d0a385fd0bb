# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Detection and segmentation
#
# Detection answers "what is where" with boxes, segmentation with a label per pixel. This
# tutorial composes scenes of Fashion-MNIST items with their ground truth, then computes
# the quantities every detector is built and judged on: intersection over union,
# non-maximum suppression and the segmentation's mean IoU. The detectors themselves
# (R-CNN to Mask R-CNN, SSD, YOLO, FCN) train from `visiongrad detect` and
# `visiongrad segment`; their figures are in the guide.
#
# `SMALL = True` composes 8 scenes for the figures and 200 for the segmentation score;
# `SMALL = False` scores 2,000 scenes (seconds more; the score barely moves).

# %%
SMALL = True
N_SCORED = 200 if SMALL else 2000

import matplotlib.pyplot as plt
import numpy as np

from visiongrad.detection import (
    CLASSES,
    box_iou,
    compose_detection_scenes,
    confusion_matrix,
    nms,
    segmentation_metrics,
)
from visiongrad.imaging import draw_boxes, grey_to_rgb, overlay_masks

scenes = compose_detection_scenes(8, "train", seed=0)
print(scenes.images.shape, "boxes of the first scene (x1, y1, x2, y2):")
print(scenes.boxes[0])

# %% [markdown]
# ## Boxes and masks
#
# Each item has a box $(x_1, y_1, x_2, y_2)$, a class and an instance mask; the semantic
# map gives every pixel its class (0 is background).

# %%
fig, axes = plt.subplots(2, 4, figsize=(10, 5))
for i in range(4):
    rgb = grey_to_rgb(scenes.images[i, 0], scale=4)
    names = [CLASSES[label] for label in scenes.labels[i]]
    axes[0, i].imshow(draw_boxes(rgb, scenes.boxes[i], scenes.labels[i], names, scale=4))
    axes[1, i].imshow(overlay_masks(rgb, scenes.masks[i], scenes.labels[i], scale=4))
for ax in axes.ravel():
    ax.axis("off")
axes[0, 0].set_title("boxes", loc="left")
axes[1, 0].set_title("instance masks", loc="left")
plt.show()

# %% [markdown]
# ## Intersection over union
#
# $\mathrm{IoU}(A, B) = \frac{|A \cap B|}{|A \cup B|}$: 1 for the same box, 0 for disjoint
# ones. A detection counts as correct when its IoU with a ground-truth box is at least a
# threshold (0.5 in VOC; COCO averages over 0.5 to 0.95).

# %%
a = np.array([[0.0, 0.0, 10.0, 10.0]])
b = np.array([[5.0, 0.0, 15.0, 10.0], [0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]])
print("IoU:", box_iou(a, b))
print("by hand for the first pair: 50 / (100 + 100 - 50) =", 50 / 150)

# %% [markdown]
# ## Non-maximum suppression
#
# A detector proposes many overlapping boxes per object. NMS keeps the highest-scoring
# box, drops every remaining box whose IoU with it exceeds a threshold, and repeats.
# Here, 20 noisy copies of each true box of a scene, scored by their own IoU with it:

# %%
rng = np.random.default_rng(0)
truth = scenes.boxes[0]
proposals = np.concatenate([box + rng.normal(0, 3, (20, 4)) for box in truth])
scores = box_iou(proposals, truth).max(1) + rng.normal(0, 0.05, len(proposals))
keep = nms(proposals, scores, iou_threshold=0.3)
print(f"{len(proposals)} proposals -> {len(keep)} after NMS for {len(truth)} items")
rgb = grey_to_rgb(scenes.images[0, 0], scale=4)
fig, axes = plt.subplots(1, 2, figsize=(8, 4))
axes[0].imshow(draw_boxes(rgb, proposals, np.ones(len(proposals), int), [""] * len(proposals),
                          scale=4))
axes[0].set_title("proposals")
axes[1].imshow(draw_boxes(rgb, proposals[keep], np.ones(len(keep), int), [""] * len(keep),
                          scale=4))
axes[1].set_title("after NMS")
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown]
# ## Scoring a segmentation
#
# From the confusion matrix $C$ (rows: true class, columns: predicted), the IoU of class
# $c$ is $C_{cc} / (\sum_j C_{cj} + \sum_i C_{ic} - C_{cc})$ and the mean IoU averages
# it over the classes. A baseline with no learning at all: call every bright pixel a
# "t-shirt" and the rest background. The scenes' backgrounds are textured, so brightness
# alone fails even at finding the background: every IoU is low, which is what the FCN of
# `visiongrad segment` learns to fix.

# %%
scored = compose_detection_scenes(N_SCORED, "test", seed=1)
prediction = np.where(scored.images[:, 0] > 20, 1, 0)
metrics = segmentation_metrics(confusion_matrix(prediction, scored.semantic, len(CLASSES)))
print({key: np.round(value, 3) for key, value in metrics.items()})
