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
# # Recurrent networks, the character model and captioning
#
# A recurrent network reads a sequence one step at a time and carries a hidden state.
# This tutorial checks the vanilla RNN step against its formula, trains a character-level
# LSTM on the embedded Shakespeare and samples from it, then captions composed scenes with
# an attention LSTM and shows where it looks for each word.
#
# `SMALL = True`: 300 steps of the character model and 500 scenes for the captioner
# (seconds); the samples are still babble. `SMALL = False`: 3,000 steps and
# 4,000 scenes (many minutes): words and short lines appear, and the captions name the
# items in the right places.

# %%
SMALL = True
CHAR_STEPS, SCENES = (300, 500) if SMALL else (3000, 4000)

import matplotlib.pyplot as plt
import numpy as np

import visiongrad as vg
from visiongrad import functional as F
from visiongrad import optim
from visiongrad.data import CharVocabulary, compose_scenes, load_text
from visiongrad.models.char_lm import CharRNN
from visiongrad.recipes import caption

# %% [markdown]
# ## One step of a vanilla RNN
#
# $h_t = \tanh(x_t W_x + h_{t-1} W_h + b)$; the same weights at every step. Its backward
# pass multiplies by $W_h^\top$ and by $1 - h_t^2$ at each step back in time, which is why
# gradients vanish or explode over long sequences (and why the LSTM's additive cell
# state, $c_t = f \odot c_{t-1} + i \odot g$, helps).

# %%
rng = np.random.default_rng(0)
N, D, H = 2, 4, 3
x, h_prev = rng.standard_normal((N, D)), rng.standard_normal((N, H))
Wx, Wh, b = rng.standard_normal((D, H)), rng.standard_normal((H, H)), rng.standard_normal(H)
h = F.rnn_step(vg.tensor(x), vg.tensor(h_prev), vg.tensor(Wx), vg.tensor(Wh), vg.tensor(b))
print("difference from the formula:", np.abs(h.data - np.tanh(x @ Wx + h_prev @ Wh + b)).max())

# %% [markdown]
# ## A character-level language model
#
# Embedding -> LSTM -> linear: at each position the model predicts the next character,
# $p(c_{t+1} \mid c_{\le t}) = \mathrm{softmax}(W h_t + b)$, and is trained on the
# cross-entropy $-\frac{1}{T} \sum_t \log p(c_{t+1})$ over windows of the text.

# %%
text = load_text()[:200_000]
vocabulary = CharVocabulary.from_text(text)
encoded = np.asarray(vocabulary.encode(text))
vg.manual_seed(0)
model = CharRNN(vocabulary, embedding_dim=32, hidden_size=96, num_layers=1)
opt = optim.Adam(model.parameters(), lr=3e-3)
T, batch, losses = 48, 32, []
for _ in range(CHAR_STEPS):
    starts = rng.integers(0, len(encoded) - T - 1, batch)
    windows = np.stack([encoded[s:s + T + 1] for s in starts])
    loss, _ = model.loss(windows[:, :-1], windows[:, 1:])
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(float(loss.data))
plt.plot(losses)
plt.axhline(np.log(len(vocabulary.idx_to_char)), ls="--", c="gray", label="log V (uniform)")
plt.xlabel("step")
plt.ylabel("cross-entropy (nats / char)")
plt.legend()
plt.show()
print(model.sample("ROMEO:", 200, temperature=0.8, seed=0))

# %% [markdown]
# ## Captioning with attention
#
# Scenes of Fashion-MNIST items come with captions ("a bag left of a sneaker"). A small
# convnet encodes the scene into a grid of features $a_i$; at each word the LSTM forms
# attention weights $\alpha_{t,i} = \mathrm{softmax}_i(\text{score}(h_{t-1}, a_i))$ and reads
# the context $\sum_i \alpha_{t,i} a_i$. The recipe `visiongrad.recipes.caption` does the
# training (`visiongrad caption` on the command line); here it runs tiny.

# %%
config = caption.Config(attention=True, scenes=SCENES, encoder_epochs=2 if SMALL else 4,
                        epochs=15 if SMALL else 20,
                        hidden_dim=96, wordvec_dim=32)
scenes = compose_scenes(SCENES, "train", seed=0, size=config.size)
pipeline = caption.CaptionPipeline(config, scenes.word_to_idx)
caption.train_encoder(pipeline, scenes, log=lambda message: None)
caption.train_captioner(pipeline, pipeline.features(scenes.images), scenes,
                        log=lambda message: None)
test_scenes = compose_scenes(4, "test", seed=1, size=config.size)
captions, weights = pipeline.caption(test_scenes.images)
for text_out, reference in zip(captions, test_scenes.captions, strict=True):
    print(f"{text_out!r:45s} reference: {' '.join(reference[0])!r}")

# %% [markdown]
# Where the captioner looked for each word of the first test scene (brighter: more
# attention):

# %%
words = captions[0].split()
attention = np.asarray(weights[0])
side = int(round(np.sqrt(attention.shape[-1]))) if attention.ndim == 2 else attention.shape[-1]
fig, axes = plt.subplots(1, len(words) + 1, figsize=(2 * (len(words) + 1), 2.2))
axes[0].imshow(test_scenes.images[0].transpose(1, 2, 0).squeeze(), cmap="gray")
axes[0].set_title("scene")
for t, word in enumerate(words):
    axes[t + 1].imshow(attention[t].reshape(side, side), cmap="magma")
    axes[t + 1].set_title(word)
for ax in axes:
    ax.axis("off")
plt.show()
