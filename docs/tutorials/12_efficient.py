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
# # Efficient methods: pruning, weight sharing, Huffman coding, int8
#
# A trained network holds far more precision than it needs. Deep Compression (Han, Mao
# and Dally, 2016) removes most of it in three stages, each measured here on a small
# fully connected network (LeNet-300-100) trained on the embedded Fashion-MNIST subset:
#
# 1. **pruning**: remove the weights of smallest magnitude, then retrain the rest;
# 2. **weight sharing**: cluster the surviving weights with k-means, so each weight is a
#    small index into a codebook;
# 3. **Huffman coding** of those indices, whose distribution is far from uniform.
#
# Then, separately, **int8 quantization**: 8-bit integer weights and activations, run by
# integer kernels.
#
# `SMALL = True` trains on 5,000 images for 4 epochs and retrains for 1 (about 15 s): the
# network is stored 33 times smaller (1,041 KiB to 31 KiB) at a test accuracy of 0.83
# (0.81 before: retraining the pruned network helps an undertrained one), and int8 is 4
# times smaller at the float accuracy. `SMALL = False` uses the 10,000 training images,
# 10 epochs and 3 of retraining (about a minute): 0.84 before, 34 times smaller at 0.86.
# The `visiongrad compress` command runs the same pipeline on a trained run.

# %%
SMALL = True
N_TRAIN, EPOCHS, RETRAIN_EPOCHS = (5000, 4, 1) if SMALL else (10000, 10, 3)

import matplotlib.pyplot as plt
import numpy as np

import visiongrad as vg
from visiongrad import compress, nn, optim
from visiongrad.data import load_dataset
from visiongrad.train import Trainer, evaluate

train, test = (load_dataset("fashion-mnist-mini", split=split) for split in ("train", "test"))
x_train = (train.images[:N_TRAIN] / 255.0).astype(np.float32)
y_train = train.labels[:N_TRAIN]
x_test, y_test = (test.images / 255.0).astype(np.float32), test.labels


def fit(model, optimizer, epochs):
    Trainer(model, optimizer, epochs=epochs, batch_size=64, progress=False,
            restore_best=False).fit(x_train, y_train)
    return model.eval()


def accuracy(model):
    return float(evaluate(model.eval(), x_test, y_test)["accuracy"])


def float32_bytes(model):
    return 4 * sum(p.size for p in model.parameters())


vg.manual_seed(0)
model = nn.Sequential(nn.Flatten(), nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100),
                      nn.ReLU(), nn.Linear(100, 10))
fit(model, optim.Adam(model.parameters(), lr=1e-3), EPOCHS)
baseline = model.state_dict()
results = {"float32": (float32_bytes(model), accuracy(model))}
print(f"{sum(p.size for p in model.parameters()):,} parameters, "
      f"{float32_bytes(model) / 1024:.0f} KiB in float32, test accuracy "
      f"{results['float32'][1]:.3f}")

# %% [markdown]
# ## 1. Pruning
#
# Magnitude pruning keeps weight $w$ when $|w| > \tau$, with one threshold $\tau$ over all
# layers chosen so that a fraction $s$ (the sparsity) of the weights goes: a mask
# $m = [|w| > \tau]$ and $w \leftarrow m \odot w$. Without retraining, accuracy holds up
# to a surprisingly high sparsity, then collapses:

# %%
sparsities = [0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98]
no_retrain = []
for sparsity in sparsities:
    model.load_state_dict(baseline)
    if sparsity:
        compress.apply_masks(model, compress.magnitude_masks(model, sparsity))
    no_retrain.append(accuracy(model))

# %% [markdown]
# Retraining lets the surviving weights compensate. `MaskedOptimizer` zeros the pruned
# weights' gradients and the optimizer state there at every step, so they stay exactly
# zero:

# %%
SPARSITY = 0.9
model.load_state_dict(baseline)
masks = compress.magnitude_masks(model, SPARSITY)
compress.apply_masks(model, masks)
pruned_before_retraining = accuracy(model)
fit(model, compress.MaskedOptimizer(optim.Adam(model.parameters(), lr=1e-3), model, masks),
    RETRAIN_EPOCHS)
density = {row["name"]: row["density"] for row in compress.sparsity_table(model)}
print(f"{SPARSITY:.0%} pruned: accuracy {pruned_before_retraining:.3f} -> "
      f"{accuracy(model):.3f} after retraining; density per layer "
      + ", ".join(f"{name} {value:.2f}" for name, value in density.items()))

weights = model[1].weight.data
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
axes[0].plot(sparsities, no_retrain, "o-", label="pruned, not retrained")
axes[0].plot([SPARSITY], [accuracy(model)], "r*", ms=12, label="pruned and retrained")
axes[0].set_xlabel("sparsity (fraction of weights removed)")
axes[0].set_ylabel("test accuracy")
axes[0].legend()
axes[1].hist(baseline["1.weight"].ravel(), bins=100, alpha=0.5, label="before")
axes[1].hist(weights[weights != 0].ravel(), bins=100, alpha=0.7, label="kept, retrained")
axes[1].set_title("first layer's weights")
axes[1].legend()
plt.show()
results[f"pruned {SPARSITY:.0%}"] = (None, accuracy(model))

# %% [markdown]
# ## 2. Weight sharing by k-means
#
# The non-zero weights of each layer are clustered into $k = 2^b - 1$ values (index 0 is
# kept for the pruned zeros): Lloyd's algorithm alternates assigning each weight to its
# nearest centroid $c_j$ and moving each centroid to the mean of its weights,
# minimising $\sum_i \min_j (w_i - c_j)^2$. Centroids start spread linearly over
# $[\min w, \max w]$, which the paper found keeps the rare large weights well
# represented. Fine-tuning then trains the centroids: the gradient of centroid $c_j$ is
# the sum of the gradients of the weights that share it.

# %%
BITS = 5
shared = compress.share_weights(model, bits=BITS, init="linear")
shared_before_tuning = accuracy(model)
fit(model, optim.Adam(model.parameters(), lr=1e-4), RETRAIN_EPOCHS)
compress.materialize(model)
print(f"{2**BITS - 1} shared values per layer: accuracy {shared_before_tuning:.3f}, "
      f"{accuracy(model):.3f} after fine-tuning the centroids")

weights = model[1].weight.data
values, counts = np.unique(weights[weights != 0], return_counts=True)
plt.figure(figsize=(11, 3))
plt.hist(baseline["1.weight"].ravel(), bins=200, color="lightgray", label="original weights")
plt.vlines(values, 0, counts, color="C3", label="shared values (height: how many weights)")
plt.yscale("log")
plt.legend()
plt.title("first layer after pruning and weight sharing")
plt.show()
results["pruned + shared"] = (None, accuracy(model))

# %% [markdown]
# ## 3. Huffman coding
#
# Each weight is now a 5-bit index, but the indices are far from equally likely (zero,
# the pruned weights, is 90% of them). A Huffman code gives symbol $i$ of frequency $p_i$
# a code of about $-\log_2 p_i$ bits, approaching the entropy
# $H = -\sum_i p_i \log_2 p_i$ bits per symbol; `code_lengths` builds the optimal prefix
# code from the counts.

# %%
_, indices = compress.cluster_weights(weights, bits=BITS)
counts = np.bincount(indices.ravel(), minlength=2**BITS)
lengths = compress.code_lengths(counts)
p = counts[counts > 0] / counts.sum()
coded = compress.encode(indices.ravel(), lengths)
print(f"first layer: {BITS} bits per weight fixed, "
      f"{(counts * lengths).sum() / counts.sum():.2f} with Huffman "
      f"(entropy {-(p * np.log2(p)).sum():.2f}); {len(coded):,} bytes for "
      f"{indices.size:,} weights")

# %% [markdown]
# A Huffman code spends at least one bit on every symbol, so with the zeros this frequent
# it stays well above the entropy. That is why the pruned positions are stored apart, as
# the gaps between non-zero weights, and only the non-zero weights' indices are coded.

# %% [markdown]
# The `.vgz` format stores every layer this way: the pruned weights as sparse relative
# indices, the shared values as codebook indices, both Huffman-coded. Decoding gives the
# same weights back, so the same accuracy:

# %%
state = model.state_dict()
cluster_bits = {name: BITS for name in compress.prunable_weights(model)}
fixed_data, _ = compress.encode_vgz(state, {"model": "lenet_300_100"}, cluster_bits,
                                    use_huffman=False)
vgz_data, _ = compress.encode_vgz(state, {"model": "lenet_300_100"}, cluster_bits)
decoded, _ = compress.decode_vgz(vgz_data)
model.load_state_dict(decoded)
results["pruned + shared"] = (len(fixed_data), accuracy(model))
results["pruned + shared + Huffman"] = (len(vgz_data), accuracy(model))

# %% [markdown]
# ## 4. int8 quantization
#
# Post-training quantization maps each float tensor to 8-bit integers with an affine
# map $x \approx s\,(q - z)$: per output channel for the weights (int8, $z = 0$), per
# tensor for the activations (uint8), their ranges observed on a few hundred
# calibration images. A layer then sums integer products exactly in int32 and rescales
# once: $y = s_x s_w \sum_k (q_x - z_x)\, q_w + b$. Here on the original, unpruned
# network:

# %%
model.load_state_dict(baseline)
int8_model = compress.quantize_model(model.eval(), x_train[:500])
table = compress.layer_table(model, int8_model, x_test[:200])
for row in table:
    print(f"layer {row['layer']} ({row['kind']}): {row['float32_bytes']:,} -> "
          f"{row['int8_bytes']:,} bytes, SQNR {row['sqnr_db']:.1f} dB")
int8_accuracy = float((int8_model(x_test).data.argmax(axis=1) == y_test).mean())
results["int8"] = (sum(row["int8_bytes"] for row in table), int8_accuracy)

# %% [markdown]
# ## Size and accuracy

# %%
full = results["float32"][0]
print(f"{'':28s} {'bytes':>9s} {'rate':>6s} {'accuracy':>9s}")
for name, (size, acc) in results.items():
    rate = f"{full / size:5.1f}x" if size else ""
    print(f"{name:28s} {size or '':>9} {rate:>6s} {acc:9.3f}")
sized = {name: value for name, value in results.items() if value[0]}
plt.figure(figsize=(7, 2.8))
plt.barh(list(sized), [size / 1024 for size, _ in sized.values()], color="C0")
for row, (size, acc) in enumerate(sized.values()):
    plt.text(size / 1024 * 1.1, row, f"accuracy {acc:.3f}", va="center")
plt.xscale("log")
plt.xlim(10, 10_000)
plt.gca().invert_yaxis()
plt.xlabel("model size (KiB, log scale)")
plt.title("what each method buys")
plt.show()
