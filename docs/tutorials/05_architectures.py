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
# # CNN architectures and transfer learning
#
# The lecture's architectures are in the zoo under torchvision's names; this tutorial
# counts what they cost, looks at the residual connection that made depth trainable, and
# transfers features learned on five classes to five new ones with little data.
#
# `SMALL = True` pretrains on 2,500 images for 2 epochs and fine-tunes on 100 labelled
# images (well under a minute); `SMALL = False` pretrains on all 5,000 images of the
# first five classes for 5 epochs and fine-tunes on 500, and the gap between transfer and
# training from scratch shows more steadily.

# %%
SMALL = True
N_PRETRAIN, PRE_EPOCHS, N_FINETUNE = (2500, 2, 100) if SMALL else (5000, 5, 500)

import matplotlib.pyplot as plt
import numpy as np

import visiongrad as vg
from visiongrad import models, nn, optim
from visiongrad.data import load_dataset
from visiongrad.train import Trainer

# %% [markdown]
# ## What the architectures cost
#
# Parameters of a few zoo models at ImageNet's 1,000 classes (built with random weights;
# `models.available()` lists them all). ResNet-18 has fewer parameters than AlexNet
# despite being three times deeper: its convolutions are small, and one global average
# pool replaces the huge fully connected layers.

# %%
names = ["alexnet", "googlenet", "resnet18"]
counts = []
for name in names:
    net = models.create(name, num_classes=1000)
    counts.append(sum(p.data.size for p in net.parameters()) / 1e6)
plt.barh(names, counts)
plt.xlabel("millions of parameters")
plt.show()
print(models.available())

# %% [markdown]
# ## The residual connection
#
# A residual block computes $y = \mathrm{ReLU}(F(x) + x)$. Its gradient is
# $\partial y / \partial x = \partial F / \partial x + I$ (where the ReLU passes): the
# identity carries the gradient through however many blocks are stacked. Compare the
# input gradient of 20 stacked plain layers with 20 residual ones:

# %%
class Plain(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.linear = nn.Linear(width, width)

    def forward(self, x):
        return self.linear(x).relu()


class Residual(Plain):
    def forward(self, x):
        return (self.linear(x) + x).relu()


for block in (Plain, Residual):
    vg.manual_seed(0)
    net = nn.Sequential(*[block(32) for _ in range(20)])
    x = vg.tensor(np.random.default_rng(0).standard_normal((8, 32)), requires_grad=True)
    net(x).sum().backward()
    print(f"{block.__name__:8s} |d out / d x| = {np.abs(x.grad).mean():.2e}")

# %% [markdown]
# ## Transfer learning
#
# Pretrain a small convnet on T-shirts, trousers, pullovers, dresses and coats (classes
# 0-4). Then, for sandals, shirts, sneakers, bags and boots (5-9) with only a few labelled
# images, keep its convolutional features frozen and train a new linear head, against
# the same network trained from scratch on those few images.

# %%
data = load_dataset("fashion-mnist-mini", split="train")
test = load_dataset("fashion-mnist-mini", split="test")
images = (data.images / 255.0).astype(np.float32)
old, new = data.labels < 5, data.labels >= 5
x_old, y_old = images[old][:N_PRETRAIN], data.labels[old][:N_PRETRAIN]
x_new, y_new = images[new][:N_FINETUNE], data.labels[new][:N_FINETUNE] - 5
keep = test.labels >= 5
x_test, y_test = (test.images[keep] / 255.0).astype(np.float32), test.labels[keep] - 5


def features():
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten())


def accuracy(model, x, y):
    model.eval()
    with vg.no_grad():
        return float((model(vg.tensor(x)).data.argmax(1) == y).mean())


vg.manual_seed(0)
body = features()
pretrained = nn.Sequential(body, nn.Linear(32 * 7 * 7, 5))
Trainer(pretrained, optim.Adam(pretrained.parameters(), lr=2e-3), epochs=PRE_EPOCHS,
        progress=False, restore_best=False).fit(x_old, y_old)

body.requires_grad_(False)                       # freeze the features
transfer = nn.Sequential(body, nn.Linear(32 * 7 * 7, 5))
head = [p for p in transfer.parameters() if p.requires_grad]
Trainer(transfer, optim.Adam(head, lr=2e-3), epochs=20, progress=False,
        restore_best=False).fit(x_new, y_new)

vg.manual_seed(0)
scratch = nn.Sequential(features(), nn.Linear(32 * 7 * 7, 5))
Trainer(scratch, optim.Adam(scratch.parameters(), lr=2e-3), epochs=20, progress=False,
        restore_best=False).fit(x_new, y_new)

results = {"frozen pretrained features": accuracy(transfer, x_test, y_test),
           "from scratch": accuracy(scratch, x_test, y_test)}
plt.barh(list(results), list(results.values()))
plt.xlabel(f"test accuracy on the new classes ({N_FINETUNE} labelled images)")
plt.xlim(0, 1)
plt.show()
print(results)
