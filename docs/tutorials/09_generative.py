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
# # Generative models
#
# A variational autoencoder learns to map images to a small latent code and back, with
# the codes pushed towards a standard normal so that decoding *random* codes gives new
# images. This tutorial trains one, samples from it and walks between two images in its
# latent space; then it writes out the GAN losses.
#
# `SMALL = True` trains the VAE for 600 steps on 2,000 images (blurry but recognisable
# garments). `SMALL = False` trains 5,000 steps on all 10,000 embedded images (a few
# minutes): sharper samples and smoother walks.

# %%
SMALL = True
N_TRAIN, STEPS = (2000, 600) if SMALL else (10000, 5000)

import matplotlib.pyplot as plt
import numpy as np

import visiongrad as vg
from visiongrad import optim
from visiongrad.data import load_dataset
from visiongrad.generative import VAE, discriminator_loss, generator_loss
from visiongrad.imaging import image_grid

data = load_dataset("fashion-mnist-mini", split="train")
x = (data.images[:N_TRAIN] / 255.0).astype(np.float32)

# %% [markdown]
# ## The evidence lower bound
#
# The encoder gives $q(z \mid x) = \mathcal{N}(\mu(x), \sigma^2(x))$; the decoder
# $p(x \mid z)$. Training maximises the ELBO
#
# $$\log p(x) \ge \mathbb{E}_{q}[\log p(x \mid z)]
#   - \mathrm{KL}(q(z \mid x) \,\|\, \mathcal{N}(0, I)),$$
#
# with $\mathrm{KL} = \tfrac12 \sum_j (\mu_j^2 + \sigma_j^2 - \log \sigma_j^2 - 1)$ and
# $z = \mu + \sigma \odot \epsilon$, $\epsilon \sim \mathcal{N}(0, I)$ (the
# reparameterisation, so gradients flow through the sampling).

# %%
vg.manual_seed(0)
rng = np.random.default_rng(0)
vae = VAE(decoder="bernoulli", latent_dim=8, hidden_dim=256)
opt = optim.Adam(vae.parameters(), lr=1e-3)
losses = []
for _ in range(STEPS):
    batch = x[rng.integers(0, len(x), 64)]
    loss, terms = vae.loss(vg.tensor(batch), rng=rng)
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(float(loss.data))
plt.plot(losses)
plt.xlabel("step")
plt.ylabel("negative ELBO (nats per image)")
plt.show()
print({key: round(value, 3) for key, value in terms.items()})

# %% [markdown]
# ## Samples from the prior
#
# Draw $z \sim \mathcal{N}(0, I)$ and decode:

# %%
vae.eval()
samples = vae.sample(32, rng=np.random.default_rng(1))
plt.imshow(np.squeeze(image_grid(samples, columns=8)), cmap="gray")
plt.axis("off")
plt.show()

# %% [markdown]
# ## A walk in latent space
#
# Encode two images, take the means $\mu_a, \mu_b$, and decode
# $z = (1 - t)\,\mu_a + t\,\mu_b$ for $t$ from 0 to 1: the picture morphs from one garment
# into the other through plausible images.

# %%
with vg.no_grad():
    mu, _ = vae.encode(vg.tensor(x[[0, 1]]))
t = np.linspace(0, 1, 8)[:, None]
walk = vae.decode_mean(vg.tensor(((1 - t) * mu.data[0] + t * mu.data[1]).astype(np.float32)))
plt.imshow(np.squeeze(image_grid(walk, columns=8)), cmap="gray")
plt.axis("off")
plt.show()

# %% [markdown]
# ## The GAN losses
#
# A GAN trains a generator $G$ against a discriminator $D$. The discriminator minimises
# $-\mathbb{E}[\log D(x)] - \mathbb{E}[\log(1 - D(G(z)))]$; the generator minimises the
# non-saturating $-\mathbb{E}[\log D(G(z))]$. On logits, with $D = \sigma(\text{logit})$:

# %%
real, fake = vg.tensor(np.array([2.0, 1.0])), vg.tensor(np.array([-1.0, 0.5]))
sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
by_hand = -np.mean(np.log(sigmoid(real.data))) - np.mean(np.log(1 - sigmoid(fake.data)))
print("discriminator loss", float(discriminator_loss(real, fake).data), "by hand", by_hand)
print("generator loss", float(generator_loss(fake).data),
      "by hand", -np.mean(np.log(sigmoid(fake.data))))
