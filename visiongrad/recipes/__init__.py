"""Recipes: a whole training run of one task, from a config to a trained, scored and saved
model. The command line (``visiongrad caption|detect|segment|lm|generate|train ...``) turns
its options into a recipe's ``Config`` and calls the recipe; benchmarks call recipes too,
never ``visiongrad.cli``.

Every recipe module has the same shape:

- ``@dataclass class Config``: every setting the run depends on, with defaults, checked in
  ``__post_init__`` (a bad value is a ``ValueError`` naming the field and the value), and
  stored in the run's checkpoint where there is one;
- ``run(config, ...)``: trains on the shared loops (:class:`visiongrad.train.Trainer`, or
  :func:`visiongrad.train.epochs.descend_epoch` for models that compute their own loss),
  scores, and with ``out=folder`` writes the checkpoint there (atomically, through
  :mod:`visiongrad.train.checkpoint`); it returns the metrics. Any data the config cannot
  name (a text, images already loaded) is an argument after the config;
- the steps ``run`` is made of, public, for tests and benchmarks that need one of them.

The recipes (each imported on its own, ``from visiongrad.recipes import caption``):

- :mod:`~visiongrad.recipes.caption`: scene encoder and CaptioningRNN on composed scenes;
- :mod:`~visiongrad.recipes.detect` and :mod:`~visiongrad.recipes.segment`: the detectors
  and the FCN on composed scenes;
- :mod:`~visiongrad.recipes.char_lm`: the character-level language model (TBPTT);
- :mod:`~visiongrad.recipes.generate`: VAE, GANs, PixelCNN/PixelRNN, autoencoders.

Recipes sit above the model families (``models``, ``detection``, ``generative``, ...) and
``train``, below ``cli`` (pyproject.toml's import-linter contracts). This package imports
nothing on import, so ``visiongrad`` and the command line stay quick to start.
"""
