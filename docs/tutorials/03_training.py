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
# # Training a network and babysitting it
#
# The course's checklist before a long run: check the initial loss, overfit a tiny
# subset, find a learning rate, then train and watch the curves (loss, accuracies, the
# ratio of update size to weight size).
#
# `SMALL = True` trains a two-layer network on 2,000 images for 3 epochs (seconds).
# `SMALL = False` uses all 10,000 embedded images and 10 epochs (a minute or two), and the
# validation accuracy climbs well above the small run's.

# %%
SMALL = True
N_TRAIN, EPOCHS = (2000, 3) if SMALL else (10000, 10)

import math

import matplotlib.pyplot as plt
import numpy as np

import visiongrad as vg
from visiongrad import nn, optim
from visiongrad.data import load_dataset, train_val_split
from visiongrad.train import Trainer, check_initial_loss, overfit_small_subset

data = load_dataset("fashion-mnist-mini", split="train")
x = (data.images[:N_TRAIN] / 255.0).astype(np.float32)
y = data.labels[:N_TRAIN]
x_train, y_train, x_val, y_val = train_val_split(x, y, val_fraction=0.2, rng=0)
print(x_train.shape, x_val.shape)


def two_layer_net(hidden=100):
    return nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10))


# %% [markdown]
# ## 1. The initial loss
#
# With small random weights every class gets probability about $1/C$, so the softmax
# loss $-\log p_{y}$ starts near $\log C = \log 10 \approx 2.303$. Far from it, something
# is wrong (weights too large, a wrong loss, labels off by one).

# %%
vg.manual_seed(0)
print(check_initial_loss(two_layer_net(), x_train[:256], y_train[:256]))

# %% [markdown]
# ## 2. Overfit a tiny subset
#
# A healthy network with no regularisation drives the training accuracy on 50 images to
# 1.0; if it cannot, the model or the optimiser has a bug.

# %%
vg.manual_seed(0)
model = two_layer_net()
result = overfit_small_subset(model, optim.Adam(model.parameters(), lr=1e-3), x_train, y_train,
                              num_samples=50, epochs=30)
print({key: value for key, value in result.items() if key != "trainer"})

# %% [markdown]
# ## 3. A coarse learning-rate search
#
# Learning rates span orders of magnitude, so try them on a log scale for one short epoch
# each: too small and the loss barely moves, too large and it explodes.

# %%
rates = [1e-4, 1e-3, 1e-2, 1e-1]
final = []
for lr in rates:
    vg.manual_seed(0)
    model = two_layer_net()
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=lr, momentum=0.9), epochs=1,
                      progress=False, restore_best=False)
    trainer.fit(x_train, y_train, x_val, y_val)
    final.append(trainer.history["val_accuracy"][-1])
plt.semilogx(rates, final, "o-")
plt.xlabel("learning rate")
plt.ylabel("validation accuracy after one epoch")
plt.show()
best_lr = rates[int(np.argmax(final))]
print("best learning rate", best_lr)

# %% [markdown]
# ## 4. Train and watch the curves
#
# SGD with momentum: $v \leftarrow \mu v - \eta \nabla L$, $w \leftarrow w + v$. The loss
# curve should fall and flatten; a gap between training and validation accuracy is
# overfitting. The update/weight ratio $\|\Delta w\| / \|w\|$ should be near $10^{-3}$:
# much smaller and learning is slow, much larger and it is unstable.

# %%
vg.manual_seed(0)
model = two_layer_net()
trainer = Trainer(model, optim.SGD(model.parameters(), lr=best_lr, momentum=0.9),
                  epochs=EPOCHS, progress=False, ratio_every=5)
trainer.fit(x_train, y_train, x_val, y_val)
history = trainer.history
fig, axes = plt.subplots(1, 3, figsize=(12, 3))
axes[0].plot(history["loss"])
axes[0].axhline(math.log(10), ls="--", c="gray")
axes[0].set_title("training loss per iteration")
epochs = range(1, len(history["val_accuracy"]) + 1)
axes[1].plot(epochs, history["train_accuracy"], "o-", label="train")
axes[1].plot(epochs, history["val_accuracy"], "o-", label="validation")
axes[1].legend()
axes[1].set_title("accuracy per epoch")
for name, ratios in history["update_ratio"].items():
    axes[2].semilogy(history["update_ratio_iteration"][:len(ratios)], ratios, label=name)
axes[2].set_title("update / weight ratio")
axes[2].legend(fontsize=7)
plt.show()
print(f"best validation accuracy {max(history['val_accuracy']):.3f}")
