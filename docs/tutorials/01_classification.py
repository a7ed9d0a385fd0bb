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
# # Image classification: nearest neighbours and linear classifiers
#
# The first lecture's two classifiers on Fashion-MNIST: k-nearest neighbours, which
# memorises the training set, and linear classifiers (the multiclass SVM and softmax),
# which learn one template per class.
#
# `SMALL = True` uses 2,000 training images and runs in seconds. With `SMALL = False` it
# uses the whole embedded subset (10,000 training, 2,000 test images); on the full
# Fashion-MNIST (`load_dataset("fashion-mnist")`) `benchmarks/README.md` records kNN 0.855
# and softmax 0.845 test accuracy.

# %%
SMALL = True
N_TRAIN = 2000 if SMALL else 10000

import matplotlib.pyplot as plt
import numpy as np

from visiongrad.classic import KNearestNeighbor, LinearSVM, Softmax, pairwise_distances
from visiongrad.data import FASHION_MNIST_CLASSES, load_dataset

train = load_dataset("fashion-mnist-mini", split="train")
test = load_dataset("fashion-mnist-mini", split="test")
X_train = train.images[:N_TRAIN].reshape(N_TRAIN, -1) / 255.0
y_train = train.labels[:N_TRAIN]
X_test = test.images.reshape(len(test.images), -1) / 255.0
y_test = test.labels
print(X_train.shape, X_test.shape)

# %% [markdown]
# Each image is 28 x 28 grey pixels, flattened to a vector of D = 784 numbers.

# %%
fig, axes = plt.subplots(2, 10, figsize=(10, 2.2))
for c in range(10):
    for row, index in enumerate(np.flatnonzero(y_train == c)[:2]):
        axes[row, c].imshow(train.images[index, 0], cmap="gray")
        axes[row, c].axis("off")
    axes[0, c].set_title(FASHION_MNIST_CLASSES[c][:8], fontsize=8)
plt.show()

# %% [markdown]
# ## k-nearest neighbours
#
# The L2 distance between a test image $x$ and a training image $x'$ is
# $d(x, x') = \sqrt{\sum_p (x_p - x'_p)^2}$. Without a loop it comes from
# $\|x - x'\|^2 = \|x\|^2 + \|x'\|^2 - 2\, x \cdot x'$: one matrix product for all pairs.

# %%
D = pairwise_distances(X_test[:5], X_train, metric="l2")
by_hand = np.sqrt(((X_test[:5, None, :] - X_train[None, :, :]) ** 2).sum(-1))
print("max difference from the loop-free form:", np.abs(D - by_hand).max())

# %% [markdown]
# kNN predicts the majority label among the $k$ nearest training images. Small $k$
# follows noise, large $k$ blurs the classes; the test accuracy for a few values:

# %%
ks = [1, 3, 5, 10, 20]
accuracies = [KNearestNeighbor(k=k).fit(X_train, y_train).score(X_test, y_test) for k in ks]
plt.plot(ks, accuracies, "o-")
plt.xlabel("k")
plt.ylabel("test accuracy")
plt.title("kNN on Fashion-MNIST pixels")
plt.show()

# %% [markdown]
# ## Linear classifiers
#
# Scores $s = W x + b$, one row of $W$ per class. The multiclass SVM loss asks the right
# class's score to beat the others by a margin $\Delta$:
# $L_i = \sum_{j \ne y_i} \max(0, s_j - s_{y_i} + \Delta)$;
# the softmax loss is the cross-entropy of $p_j = e^{s_j} / \sum_k e^{s_k}$:
# $L_i = -\log p_{y_i}$. Both add $\lambda \|W\|^2$ and are minimised by minibatch SGD.

# %%
epochs = 10 if SMALL else 30
svm = LinearSVM(learning_rate=0.1, reg=1e-4, n_epochs=epochs, seed=0).fit(X_train, y_train)
softmax = Softmax(learning_rate=0.5, reg=1e-4, n_epochs=epochs, seed=0).fit(X_train, y_train)
print(f"SVM test accuracy {svm.score(X_test, y_test):.3f}")
print(f"softmax test accuracy {softmax.score(X_test, y_test):.3f}")

# %% [markdown]
# Each row of $W$ is a template: the image that scores highest for its class.

# %%
templates = softmax.W_.reshape(10, 28, 28)  # W_ (classes, D), learned by fit
fig, axes = plt.subplots(1, 10, figsize=(10, 1.4))
for c, ax in enumerate(axes):
    ax.imshow(templates[c], cmap="coolwarm")
    ax.set_title(FASHION_MNIST_CLASSES[c][:8], fontsize=8)
    ax.axis("off")
plt.show()
