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
# # Convolutional networks and what their layers see
#
# A convolution slides small filters over the image; each output pixel is a dot product
# of a filter with the patch under it. This tutorial applies hand-made filters, trains a
# small convnet and looks at its first-layer filters and its feature maps.
#
# `SMALL = True` trains on 2,000 images for 2 epochs (seconds); `SMALL = False` on all
# 10,000 embedded images for 5 epochs (a few minutes), which sharpens the filters.

# %%
SMALL = True
N_TRAIN, EPOCHS = (2000, 2) if SMALL else (10000, 5)

import matplotlib.pyplot as plt
import numpy as np

import visiongrad as vg
from visiongrad import functional as F
from visiongrad import nn, optim
from visiongrad.data import load_dataset
from visiongrad.imaging import image_grid
from visiongrad.train import Trainer
from visiongrad.visualize import layer_outputs

data = load_dataset("fashion-mnist-mini", split="train")
x = (data.images[:N_TRAIN] / 255.0).astype(np.float32)
y = data.labels[:N_TRAIN]

# %% [markdown]
# ## The convolution
#
# $y[n, f, i, j] = b_f + \sum_{c, u, v} w[f, c, u, v]\; x[n, c, s i + u - p, s j + v - p]$,
# with stride $s$ and zero padding $p$. The output size is
# $H_{out} = \lfloor (H + 2p - K) / s \rfloor + 1$. Two hand-made 3 x 3 filters, the
# Sobel edge detectors:

# %%
sobel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=np.float32)
w = vg.tensor(np.stack([sobel, sobel.T])[:, None])          # (2 filters, 1 channel, 3, 3)
image = vg.tensor(x[:1])                                     # (1, 1, 28, 28)
edges = F.conv2d(image, w, None, stride=1, padding=1).data   # (1, 2, 28, 28)
print("output shape", edges.shape, "= (28 + 2*1 - 3) // 1 + 1 =", (28 + 2 - 3) // 1 + 1)
fig, axes = plt.subplots(1, 3, figsize=(7, 2.5))
for ax, picture, title in zip(axes, [x[0, 0], edges[0, 0], edges[0, 1]],
                              ["image", "vertical edges", "horizontal edges"], strict=True):
    ax.imshow(picture, cmap="gray")
    ax.set_title(title)
    ax.axis("off")
plt.show()

# %% [markdown]
# ## A small convnet
#
# conv 5x5 -> ReLU -> 2x2 max pool -> conv 3x3 -> ReLU -> max pool -> linear. Max pooling
# keeps the largest value of each window, $y = \max_{(u,v) \in \text{window}} x_{u,v}$,
# and passes the gradient only to that maximum.

# %%
vg.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
nn.summary(model, (1, 28, 28))
trainer = Trainer(model, optim.Adam(model.parameters(), lr=2e-3), epochs=EPOCHS,
                  progress=False)
trainer.fit(x[:-500], y[:-500], x[-500:], y[-500:])
print("validation accuracy per epoch", np.round(trainer.history["val_accuracy"], 3))

# %% [markdown]
# ## What the first layer learned
#
# The 16 first-layer filters, each 5 x 5: oriented edges and blobs appear even after a
# short training.

# %%
filters = model[0].weight.data                  # (16, 1, 5, 5)
plt.imshow(np.squeeze(image_grid(filters, columns=8)), cmap="gray")
plt.axis("off")
plt.title("first-layer filters")
plt.show()

# %% [markdown]
# ## Feature maps
#
# The activations after the first and the second ReLU for one image: early layers respond
# to edges, later ones to larger parts of the garment, at a coarser resolution.

# %%
first, second = layer_outputs(model, ["1", "4"], vg.tensor(x[:1]))  # layers by name
fig, axes = plt.subplots(2, 8, figsize=(10, 2.8))
for i in range(8):
    axes[0, i].imshow(first.data[0, i], cmap="viridis")
    axes[1, i].imshow(second.data[0, i], cmap="viridis")
    axes[0, i].axis("off")
    axes[1, i].axis("off")
axes[0, 0].set_title("relu 1 (28 x 28)", loc="left", fontsize=9)
axes[1, 0].set_title("relu 2 (14 x 14)", loc="left", fontsize=9)
plt.show()
