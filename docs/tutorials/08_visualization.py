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
# # Visualisation and style transfer
#
# Gradients with respect to the *input* image explain a network's decision (saliency) and
# can change the image itself: style transfer optimises the pixels so that the image's
# deep features match a content photo and its feature correlations match a style photo.
#
# `SMALL = True` trains the classifier for one epoch on 2,000 images and transfers style
# at 64 x 64 pixels for 10 L-BFGS iterations (seconds). `SMALL = False` trains on 10,000
# images and runs 100 iterations at 128 x 128 (a few minutes), where the style's
# textures cover the whole picture. (The photos come with scikit-image.)

# %%
SMALL = True
N_TRAIN, SIZE, ITERATIONS = (2000, 64, 10) if SMALL else (10000, 128, 100)

import matplotlib.pyplot as plt
import numpy as np

import visiongrad as vg
from visiongrad import nn, optim
from visiongrad.data import FASHION_MNIST_CLASSES, load_dataset
from visiongrad.imaging import read_photo, skimage_photo
from visiongrad.train import Trainer
from visiongrad.visualize import feature_network, gram_matrix, occlusion, saliency, style_transfer

data = load_dataset("fashion-mnist-mini", split="train")
x = (data.images[:N_TRAIN] / 255.0).astype(np.float32)
y = data.labels[:N_TRAIN]
vg.manual_seed(0)
model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
Trainer(model, optim.Adam(model.parameters(), lr=2e-3), epochs=1, progress=False,
        restore_best=False).fit(x, y)
model.eval()

# %% [markdown]
# ## Saliency and occlusion
#
# The saliency map is $M_{ij} = \max_c \left| \partial s_y / \partial x_{c,i,j} \right|$:
# which pixels would change the class score most. Occlusion asks the same question by
# experiment: slide a grey patch over the image and record how much the score drops.

# %%
images, labels = x[:4], y[:4]
maps = saliency(model, images, labels)
drops = occlusion(model, images, labels, patch=6, stride=2)
fig, axes = plt.subplots(3, 4, figsize=(8, 6))
for i in range(4):
    axes[0, i].imshow(images[i, 0], cmap="gray")
    axes[0, i].set_title(FASHION_MNIST_CLASSES[labels[i]], fontsize=9)
    axes[1, i].imshow(maps[i], cmap="hot")
    axes[2, i].imshow(np.squeeze(drops[i]), cmap="viridis")
for ax in axes.ravel():
    ax.axis("off")
axes[1, 0].set_title("saliency", loc="left", fontsize=9)
axes[2, 0].set_title("occlusion", loc="left", fontsize=9)
plt.show()

# %% [markdown]
# ## Style as feature correlations
#
# The Gram matrix of a layer's features $F$ (C channels x HW positions) is
# $G = F F^\top / (C H W)$: which channels fire together, wherever they are. Style
# transfer minimises
#
# $$\alpha \frac{\|F(x) - F(c)\|^2}{\|F(c)\|^2}
#   + \sum_l w_l \frac{\|G_l(x) - G_l(s)\|^2}{\|G_l(s)\|^2} + \lambda\, \mathrm{TV}(x)$$
#
# over the pixels of $x$, starting from the content photo $c$.

# %%
features = vg.tensor(np.random.default_rng(0).standard_normal((1, 4, 8, 8)))
G = gram_matrix(features).data
flat = features.data.reshape(4, 64)
print("Gram matrix equals F F^T / (C H W):", np.allclose(G[0], flat @ flat.T / flat.size))

# %%
content_path, style_path = skimage_photo("chelsea"), skimage_photo("gravel")
if content_path is None:
    print("scikit-image is not installed: pip install scikit-image for the photos")
else:
    content = read_photo(content_path, SIZE)[None]  # (1, 3, H, W) in [0, 1]
    style = read_photo(style_path, SIZE)[None]
    result = style_transfer(content, style, network=feature_network("random"),
                            iterations=ITERATIONS)
    fig, axes = plt.subplots(1, 3, figsize=(9, 3))
    for ax, picture, title in zip(axes, [content, style, result],
                                  ["content", "style", "result"], strict=True):
        ax.imshow(np.clip(np.asarray(picture)[0].transpose(1, 2, 0), 0, 1))
        ax.set_title(title)
        ax.axis("off")
    plt.show()
