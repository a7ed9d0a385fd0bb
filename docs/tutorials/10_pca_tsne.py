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
# # PCA, eigenfaces and t-SNE
#
# Principal component analysis finds the directions along which the data vary most;
# images of faces projected on the first few make up "eigenfaces". t-SNE instead places
# points in 2-D so that neighbours stay neighbours, which shows the classes as clusters.
#
# `SMALL = True` embeds 500 images with 300 t-SNE iterations (seconds). `SMALL = False`
# embeds 2,000 images with 1,000 iterations (about a minute), the setting whose
# leave-one-out 1-NN accuracy `benchmarks/README.md` records (0.76 on the full
# Fashion-MNIST). The faces come with scikit-image.

# %%
SMALL = True
N_TSNE, TSNE_ITERATIONS = (500, 300) if SMALL else (2000, 1000)

import matplotlib.pyplot as plt
import numpy as np

from visiongrad.classic import PCA, TSNE, Eigenfaces
from visiongrad.data import FASHION_MNIST_CLASSES, load_dataset

data = load_dataset("fashion-mnist-mini", split="train")
X = data.images.reshape(len(data.images), -1) / 255.0
y = data.labels

# %% [markdown]
# ## PCA
#
# Centre the data, $\tilde X = X - \bar x$, and take its singular value decomposition
# $\tilde X = U S V^\top$. The rows of $V^\top$ are the principal directions, and
# component $k$ explains the fraction $S_k^2 / \sum_j S_j^2$ of the variance. Keeping
# $k$ components, $x \approx \bar x + \sum_{i \le k} (v_i \cdot (x - \bar x))\, v_i$.

# %%
pca = PCA(n_components=50).fit(X)
plt.plot(np.cumsum(pca.explained_variance_ratio_), "o-", ms=3)
plt.xlabel("components kept")
plt.ylabel("fraction of variance explained")
plt.show()

# %%
fig, axes = plt.subplots(2, 8, figsize=(10, 2.8))
for i in range(8):
    axes[0, i].imshow(pca.components_[i].reshape(28, 28), cmap="coolwarm")
    axes[0, i].set_title(f"v{i + 1}", fontsize=9)
for i, k in enumerate([1, 2, 5, 10, 20, 30, 50]):
    model = pca if k == 50 else PCA(n_components=k).fit(X)
    axes[1, i].imshow(model.inverse_transform(model.transform(X[:1])).reshape(28, 28),
                      cmap="gray")
    axes[1, i].set_title(f"k={k}", fontsize=9)
axes[1, 7].imshow(X[0].reshape(28, 28), cmap="gray")
axes[1, 7].set_title("original", fontsize=9)
for ax in axes.ravel():
    ax.axis("off")
plt.show()

# %% [markdown]
# ## Eigenfaces
#
# The same on faces (Turk and Pentland): each face is the mean face plus a weighted sum
# of eigenfaces, and the distance from "face space", $\|x - \hat x\|$, tells a face from
# something that is not one.

# %%
try:
    from skimage.data import lfw_subset
except ImportError:
    lfw_subset = None
    print("scikit-image is not installed: pip install scikit-image for the faces")
if lfw_subset is not None:
    faces = lfw_subset()[:100]                     # (100, 25, 25) faces, then non-faces
    model = Eigenfaces(n_components=10).fit(faces[:50])
    fig, axes = plt.subplots(1, 6, figsize=(9, 1.8))
    axes[0].imshow(model.mean_.reshape(25, 25), cmap="gray")
    axes[0].set_title("mean face", fontsize=9)
    for i in range(5):
        axes[i + 1].imshow(model.components_[i].reshape(25, 25), cmap="gray")
        axes[i + 1].set_title(f"eigenface {i + 1}", fontsize=9)
    for ax in axes:
        ax.axis("off")
    plt.show()
    held_out = model.distance_from_face_space(faces[50:100])
    print("mean distance from face space: held-out faces",
          round(float(np.mean(held_out)), 2),
          "non-faces", round(float(np.mean(model.distance_from_face_space(lfw_subset()[100:]))), 2))

# %% [markdown]
# ## t-SNE
#
# t-SNE turns distances into neighbour probabilities $p_{j|i} \propto
# \exp(-\|x_i - x_j\|^2 / 2\sigma_i^2)$ (each $\sigma_i$ set by the perplexity) and
# places 2-D points whose Student-t similarities
# $q_{ij} \propto (1 + \|y_i - y_j\|^2)^{-1}$ match them, minimising
# $\mathrm{KL}(P \,\|\, Q)$ by gradient descent. It runs on the 50 PCA codes.

# %%
codes = pca.transform(X[:N_TSNE])
embedding = TSNE(n_iter=TSNE_ITERATIONS, seed=0).fit_transform(codes)
plt.figure(figsize=(6, 5))
for c in range(10):
    points = embedding[y[:N_TSNE] == c]
    plt.scatter(points[:, 0], points[:, 1], s=6, label=FASHION_MNIST_CLASSES[c])
plt.legend(fontsize=7, markerscale=2, loc="best")
plt.axis("off")
plt.show()
