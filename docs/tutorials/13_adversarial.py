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
# # Adversarial examples
#
# A classifier that is right on most test images can be made wrong on nearly all
# of them by changes a person does not notice: each pixel moved by a few percent, in the
# direction that raises the loss. This tutorial trains a small classifier on the
# embedded Fashion-MNIST subset, attacks it with FGSM and PGD, plots accuracy against
# the size of the change $\epsilon$, shows the perturbations, and ends with adversarial
# training, the defence that has held up best.
#
# `SMALL = True` trains on 5,000 images for 4 epochs and attacks 500 test images with
# 10-step PGD (about 30 s): clean accuracy 0.84, 0.21 under PGD at $\epsilon = 0.1$, and
# 0.54 there after adversarial training. `SMALL = False` uses all 10,000 training images,
# 8 epochs and the 2,000 test images with 40-step PGD (about two minutes): 0.86 clean,
# 0.10 under PGD at $\epsilon = 0.1$, 0.58 after adversarial training.

# %%
SMALL = True
N_TRAIN, N_TEST, PGD_STEPS, EPOCHS = (5000, 500, 10, 4) if SMALL else (10000, 2000, 40, 8)

from functools import partial

import matplotlib.pyplot as plt
import numpy as np

import visiongrad as vg
from visiongrad import adversarial as adv
from visiongrad import nn, optim
from visiongrad.data import FASHION_MNIST_CLASSES, load_dataset
from visiongrad.train import Trainer

train, test = (load_dataset("fashion-mnist-mini", split=split) for split in ("train", "test"))
x_train = (train.images[:N_TRAIN] / 255.0).astype(np.float32)  # pixels in the box [0, 1]
y_train = train.labels[:N_TRAIN]
x_test, y_test = (test.images[:N_TEST] / 255.0).astype(np.float32), test.labels[:N_TEST]


def classifier():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def fit(model, adversary=None):
    Trainer(model, optim.Adam(model.parameters(), lr=1e-3), epochs=EPOCHS, progress=False,
            restore_best=False, adversary=adversary).fit(x_train, y_train)
    return model.eval()


vg.manual_seed(0)
model = fit(classifier())
print(f"clean test accuracy {adv.robust_accuracy(model, (x_test, y_test), None):.3f}")

# %% [markdown]
# ## 1. The fast gradient sign method (FGSM)
#
# Goodfellow et al. explain adversarial examples by linearity: for a linear score
# $w^\top x$, the change $\delta = \epsilon\,\mathrm{sign}(w)$ is invisible per pixel
# ($|\delta_i| = \epsilon$) but moves the score by $\epsilon \|w\|_1$, which grows with
# the number of pixels. A network is linear enough that the same step on the gradient of
# the loss $J$ works:
#
# $$x_{\mathrm{adv}} = \mathrm{clip}_{[0, 1]}\big(x + \epsilon\,
#   \mathrm{sign}(\nabla_x J(x, y))\big).$$
#
# On the first layer of this network, the score change that FGSM's budget allows
# is large next to the scores themselves:

# %%
first_layer = model[1].weight.data
scores = np.abs(model[1](vg.tensor(x_test.reshape(len(x_test), -1))).data)
print(f"eps = 0.05: a first-layer unit can move by up to 0.05 * |w|_1 = "
      f"{0.05 * np.abs(first_layer).sum(axis=1).mean():.2f} on average; "
      f"its typical |score| is {np.median(scores):.2f}")

# %% [markdown]
# ## 2. Projected gradient descent (PGD)
#
# FGSM takes one step. PGD (Madry et al.) takes many small ones of length $\alpha$ and
# projects back onto the $\epsilon$-ball around $x$ after each:
#
# $$x_{t+1} = \Pi_{\|x' - x\|_\infty \le \epsilon}\big(x_t + \alpha\,
#   \mathrm{sign}(\nabla_x J(x_t, y))\big),$$
#
# so it follows the loss where it curves and finds stronger examples in the same
# budget. Accuracy against $\epsilon$ for both:

# %%
epsilons = [0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2]
fgsm_curve = adv.accuracy_curve(model, (x_test, y_test),
                                lambda eps: partial(adv.fgsm, eps=eps), epsilons)
pgd_curve = adv.accuracy_curve(model, (x_test, y_test),
                               lambda eps: adv.build_attack("pgd", eps, steps=PGD_STEPS),
                               epsilons)
plt.plot(epsilons, fgsm_curve, "o-", label="FGSM")
plt.plot(epsilons, pgd_curve, "s-", label=f"PGD, {PGD_STEPS} steps")
plt.xlabel("eps (L-inf, pixels in [0, 1])")
plt.ylabel("test accuracy under attack")
plt.legend()
plt.title("a standard classifier")
plt.show()
for eps, fgsm_accuracy, pgd_accuracy in zip(epsilons, fgsm_curve, pgd_curve, strict=True):
    print(f"eps {eps:.2f}: FGSM {fgsm_accuracy:.3f}, PGD {pgd_accuracy:.3f}")

# %% [markdown]
# ## 3. What the perturbations look like
#
# At $\epsilon = 0.1$ (a tenth of the pixel range) the images are still plainly what they
# were. The change (red up, blue down) is the sign pattern of the gradient: nearly every
# pixel moves by the full $\pm\epsilon$, except where the box clips it (the black
# background cannot get darker). Titles are the model's predictions, in red where the
# attack changed them.

# %%
EPS = 0.1
shown = np.arange(6)
images, labels = x_test[shown], y_test[shown]
attacked = adv.pgd(model, images, labels, eps=EPS, alpha=2.5 * EPS / PGD_STEPS,
                   steps=PGD_STEPS)
before = model(vg.tensor(images)).data.argmax(axis=1)
after = model(vg.tensor(attacked)).data.argmax(axis=1)
fig, axes = plt.subplots(3, len(shown), figsize=(2 * len(shown), 6.6))
for i in range(len(shown)):
    axes[0, i].imshow(images[i, 0], cmap="gray", vmin=0, vmax=1)
    axes[0, i].set_title(FASHION_MNIST_CLASSES[before[i]], fontsize=9)
    axes[1, i].imshow(attacked[i, 0] - images[i, 0], cmap="coolwarm", vmin=-EPS, vmax=EPS)
    axes[2, i].imshow(attacked[i, 0], cmap="gray", vmin=0, vmax=1)
    axes[2, i].set_title(FASHION_MNIST_CLASSES[after[i]], fontsize=9,
                         color="red" if after[i] != before[i] else "black")
for ax in axes.ravel():
    ax.axis("off")
axes[0, 0].text(-4, 14, "original", rotation=90, va="center")
axes[1, 0].text(-4, 14, "change", rotation=90, va="center")
axes[2, 0].text(-4, 14, "adversarial", rotation=90, va="center")
plt.show()

# %% [markdown]
# ## 4. Adversarial training
#
# The defence that holds up trains on the attack's images instead of the clean ones,
# a min-max problem:
#
# $$\min_\theta\ \mathbb{E}_{(x, y)} \Big[\max_{\|\delta\|_\infty \le \epsilon}
#   J(x + \delta, y; \theta)\Big].$$
#
# `AdversarialTraining` is the `Trainer`'s adversary; FGSM from a random start inside
# the ball (Wong et al., "Fast is better than free") makes the inner maximum cheap:
# one extra gradient per batch.

# %%
vg.manual_seed(0)
robust = fit(classifier(), adv.AdversarialTraining(method="fgsm", eps=EPS, seed=0))
robust_curve = adv.accuracy_curve(robust, (x_test, y_test),
                                  lambda eps: adv.build_attack("pgd", eps, steps=PGD_STEPS),
                                  epsilons)
plt.plot(epsilons, pgd_curve, "s-", label="standard training")
plt.plot(epsilons, robust_curve, "o-", label=f"adversarial training (eps {EPS})")
plt.axvline(EPS, color="gray", ls="--")
plt.xlabel("eps of the PGD attack")
plt.ylabel("test accuracy under PGD")
plt.legend()
plt.show()
print(f"clean accuracy: standard {pgd_curve[0]:.3f}, adversarially trained "
      f"{robust_curve[0]:.3f}; under PGD at eps {EPS}: "
      f"{pgd_curve[epsilons.index(EPS)]:.3f} and {robust_curve[epsilons.index(EPS)]:.3f}")

# %% [markdown]
# Robustness costs some clean accuracy and holds only up to about the $\epsilon$ it was
# trained for. `visiongrad attack` evaluates a trained run against every attack of
# `adversarial.METHODS` (DeepFool, Carlini-Wagner and the score-only Square attack too).
