"""Image classification: train a model from ``models`` on a labelled dataset with the
Trainer (validation held out, best weights kept, a checkpoint every epoch, exact resume),
or fine-tune a trained one on another dataset.

>>> from visiongrad.recipes import classify
>>> config = classify.Config(model="two_layer", epochs=2, out="run1")  # doctest: +SKIP
>>> trainer = classify.run(config)                                      # doctest: +SKIP

Every field of :class:`Config` and :class:`FinetuneConfig` is checked when the config is
built (``ValueError`` naming the field and the value), whether it comes from Python, the
command line, a ``--config`` file or the options a checkpoint stored
(:meth:`Config.from_options`): the same checks everywhere.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .checks import check_flag, check_int, check_number, check_path, check_text
from .classify_network import (
    CHECKPOINT_NAME,
    build_model,
    check_choice,
    check_input_shape,
    fit_normalizer,
    load_network,
    network_info,
)
from .errors import RecipeError, counted, recipe_errors

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "lbfgs")
SCHEDULES = ("none", "step", "exponential", "cosine")
FREEZE = ("none", "features")

MAX_EPOCHS = 100_000
MAX_BATCH_SIZE = 1 << 20
MAX_SEED = 2**63 - 1
"""Bounds of the counts a config may ask for: beyond them a run would never end or ask for
more memory than a machine has, so they are refused up front."""


class FromOptions:
    """``from_options``, shared by the configs below."""

    @classmethod
    def from_options(cls, options: Mapping):
        """The config of stored options (a checkpoint's, a ``--config`` file's, the command
        line's): each field from its key, checked as any config's; other keys (options of
        the command, not of the run) are ignored."""
        fields = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in options.items() if key in fields})


@dataclasses.dataclass
class Config(FromOptions):
    """A classify run: what to train, on what, how, and where to write it.

    Parameters
    ----------
    model : str
        A name in ``models.available()``.
    dataset, data_dir : str
        ``data.load_dataset``'s name and folder (None: the standard place).
    epochs, batch_size : int
        Epochs in all (a resumed run continues up to it) and the minibatch size.
    optimizer, lr, weight_decay : str, float, float
        One of :data:`OPTIMIZERS` (momentum and Nesterov in the course's form, mu = 0.9),
        its positive learning rate and non-negative L2 strength (L-BFGS takes none).
    schedule : str
        A per-epoch learning-rate schedule, one of :data:`SCHEDULES`.
    ema : float or None
        The decay of an exponential moving average of the weights (``optim.EMA``, updated
        after every step) that validation, the best epoch and the checkpoint use; None:
        the weights as trained.
    augment : bool
        Random horizontal flips and 2-pixel crops while training.
    val_fraction : float
        The fraction of the training split held out for validation, in (0, 1).
    seed : int
        Seed of the split, the initial weights and the shuffling.
    out : str
        The run folder (checkpoint, plots, metrics).
    tensorboard, distributed : bool
        TensorBoard event files; MPI data-parallel training (see the Trainer).
    ensemble, backend, address
        ``ensemble`` members (None: one model), trained ``"local"`` or on ``"ray"``
        (at ``address``, None: a Ray started here).
    adversarial, eps, steps, alpha, trades_beta
        Adversarial training (:class:`visiongrad.adversarial.AdversarialTraining`): None,
        or ``"fgsm"`` (random start), ``"pgd"`` or ``"trades"``, at L-inf radius ``eps`` in
        pixel space [0, 1], ``steps`` attack steps of length ``alpha`` (None: the method's
        default), TRADES' robustness weight ``trades_beta``.
    """

    model: str = "three_layer_convnet"
    dataset: str = "fashion-mnist-mini"
    data_dir: str | None = None
    epochs: int = 5
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 1e-3
    schedule: str = "none"
    weight_decay: float = 0.0
    ema: float | None = None
    augment: bool = False
    val_fraction: float = 0.1
    seed: int = 0
    out: str = "visiongrad-run"
    tensorboard: bool = False
    distributed: bool = False
    ensemble: int | None = None
    backend: str = "local"
    address: str | None = None
    adversarial: str | None = None
    eps: float = 0.1
    steps: int = 7
    alpha: float | None = None
    trades_beta: float = 6.0

    def __post_init__(self):
        from visiongrad import models

        check_text("model", self.model)
        check_choice("model", self.model, sorted(models.available()))
        check_text("dataset", self.dataset)
        check_path("data_dir", self.data_dir, optional=True)
        check_int("epochs", self.epochs, 1, MAX_EPOCHS)
        check_int("batch_size", self.batch_size, 1, MAX_BATCH_SIZE)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_number("lr", self.lr, "a positive number", lambda v: v > 0)
        check_choice("schedule", self.schedule, SCHEDULES)
        if self.ema is not None:
            check_number("ema", self.ema, "a decay between 0 and 1", lambda v: 0 < v < 1)
        check_number("weight_decay", self.weight_decay, "a non-negative number",
                     lambda v: v >= 0)
        if self.optimizer == "lbfgs" and self.weight_decay:
            raise ValueError("optimizer lbfgs takes no weight_decay")
        check_flag("augment", self.augment)
        check_number("val_fraction", self.val_fraction, "a fraction between 0 and 1",
                     lambda v: 0 < v < 1)
        check_int("seed", self.seed, 0, MAX_SEED)
        check_path("out", self.out)
        check_flag("tensorboard", self.tensorboard)
        check_flag("distributed", self.distributed)
        if self.ensemble is not None:
            check_int("ensemble", self.ensemble, 1, 1000)
        check_choice("backend", self.backend, ("local", "ray"))
        check_text("address", self.address, optional=True)
        self._check_adversarial()

    def _check_adversarial(self):
        from visiongrad.adversarial import ADVERSARIAL_METHODS

        if self.adversarial is not None:
            check_choice("adversarial", self.adversarial, ADVERSARIAL_METHODS)
            if self.ensemble is not None:
                raise ValueError("adversarial training does not combine with ensemble")
        check_number("eps", self.eps, "a positive number", lambda v: v > 0)
        check_int("steps", self.steps, 1, 1_000_000)
        if self.alpha is not None:
            check_number("alpha", self.alpha, "a positive number", lambda v: v > 0)
        check_number("trades_beta", self.trades_beta, "a positive number", lambda v: v > 0)



def load_split(name: str, split: str, data_dir: str | None):
    """``data.load_dataset`` with a missing folder, an unknown name or an empty split as a
    :class:`RecipeError`."""
    import os

    from visiongrad import data

    if data_dir is not None and not os.path.isdir(data_dir):
        raise RecipeError(f"data folder not found: {data_dir}")
    with recipe_errors(FileNotFoundError, KeyError, ValueError, TypeError):
        dataset = data.load_dataset(name, split=split, data_dir=data_dir)
    if not len(dataset.labels):
        raise RecipeError(f"the {split} split of {name} holds no images")
    return dataset


def split_off_validation(images: np.ndarray, labels: np.ndarray, fraction: float):
    """Hold out a random, stratified ``fraction`` of a training split (seeded generator)."""
    from visiongrad.data import train_val_split

    with recipe_errors(ValueError, context="cannot hold out validation images: "):
        parts = train_val_split(images, labels, val_fraction=fraction)
    if not len(parts[1]) or not len(parts[3]):
        raise RecipeError(f"--val-fraction {fraction} of {len(labels)} images leaves no "
                          f"{'validation' if not len(parts[3]) else 'training'} images; "
                          f"use a larger dataset or another fraction")
    return parts


def build_optimizer(name: str, parameters, lr: float, weight_decay: float):
    """One of :data:`OPTIMIZERS` (momentum and Nesterov in the course's form, mu = 0.9;
    L-BFGS takes ``lr`` and no ``weight_decay``, which PyTorch's has not)."""
    from visiongrad import optim

    check_choice("optimizer", name, OPTIMIZERS)
    if name == "lbfgs":
        if weight_decay:
            raise RecipeError("--optimizer lbfgs takes no --weight-decay")
        with recipe_errors(ValueError):
            return optim.LBFGS(parameters, lr=lr, max_iter=4)
    classes = {"sgd": optim.SGD, "momentum": optim.Momentum, "nesterov": optim.Nesterov,
               "adagrad": optim.AdaGrad, "rmsprop": optim.RMSProp, "adam": optim.Adam,
               "adamw": optim.AdamW}
    with recipe_errors(ValueError):
        return classes[name](parameters, lr=lr, weight_decay=weight_decay)


def build_schedule(name: str, optimizer, epochs: int):
    """A per-epoch learning-rate schedule (``None`` for ``"none"``)."""
    from visiongrad.optim import lr_scheduler

    check_choice("schedule", name, SCHEDULES)
    if name == "step":
        return lr_scheduler.StepLR(optimizer, step_size=_step_size(epochs), gamma=0.1)
    if name == "exponential":
        return lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    if name == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    return None


def _step_size(epochs: int) -> int:
    """The step schedule's period: the rate falls tenfold twice in a run of ``epochs``."""
    return max(1, epochs // 3)


def extend_schedule(scheduler, optimizer, epochs: int) -> None:
    """Stretch a restored schedule whose shape depends on the run's length (cosine's
    ``T_max``, step's period) over ``epochs`` in all, and set the rate of the next epoch
    from it: a resumed run extended to ``epochs`` trains its remaining epochs at the rates
    a fresh run of ``epochs`` has there (a cosine run resumed at its end would otherwise
    train at 0, then climb again)."""
    from visiongrad.optim import lr_scheduler

    if isinstance(scheduler, lr_scheduler.CosineAnnealingLR):
        scheduler.T_max = epochs
    elif isinstance(scheduler, lr_scheduler.StepLR):
        scheduler.step_size = _step_size(epochs)
    else:
        return
    for group, base_lr in zip(optimizer.param_groups, scheduler.base_lrs, strict=True):
        group["lr"] = scheduler.lr_at(base_lr, scheduler.last_epoch)


def training_adversary(config: Config, normalize):
    """The Trainer's ``adversary`` for ``config.adversarial`` (None without), attacking in
    pixel space through the run's standardisation."""
    if config.adversarial is None:
        return None
    from visiongrad.adversarial import AdversarialTraining

    return AdversarialTraining(config.adversarial, eps=config.eps, steps=config.steps,
                               alpha=config.alpha, beta=config.trades_beta,
                               mean=normalize.mean_, std=normalize.std_)


def fit_network(model, config: Config, train_images: np.ndarray, train_labels: np.ndarray,
                val_images: np.ndarray, val_labels: np.ndarray, normalize,
                info: dict | None = None, checkpoint=None, resume: bool = False,
                summary_writer=None):
    """Train ``model`` as ``config`` says; return the fitted Trainer.

    ``info`` (see :func:`~visiongrad.recipes.classify_network.network_info`) goes into the
    Trainer's checkpoints, so that the model can be rebuilt and fed. With ``checkpoint``
    the Trainer writes it after every epoch; ``resume`` first restores it (exact resume).
    ``summary_writer`` (TensorBoard's) receives the Trainer's scalars.
    """
    from visiongrad.data import DataLoader, transforms
    from visiongrad.optim import EMA
    from visiongrad.train.trainer import Trainer

    optimizer = build_optimizer(config.optimizer, model.parameters(), config.lr,
                                config.weight_decay)
    augment = [transforms.RandomHorizontalFlip(),
               transforms.RandomCrop(train_images.shape[-2:], padding=2)
               ] if config.augment else []
    loader = DataLoader((train_images, train_labels), batch_size=config.batch_size,
                        shuffle=True, transform=transforms.Compose([*augment, normalize]))
    trainer = Trainer(model, optimizer,
                      scheduler=build_schedule(config.schedule, optimizer, config.epochs),
                      epochs=config.epochs, config=info, checkpoint_path=checkpoint,
                      summary_writer=summary_writer, distributed=config.distributed,
                      adversary=training_adversary(config, normalize),
                      ema=None if config.ema is None else EMA(model, decay=config.ema))
    if resume:
        with recipe_errors(FileNotFoundError, ValueError, KeyError, TypeError,
                           context=f"cannot resume from {checkpoint}: "):
            trainer.load_checkpoint(checkpoint)
        if trainer.epoch > config.epochs:
            raise RecipeError(f"cannot resume {checkpoint} for "
                              f"{counted(config.epochs, 'epoch')} in all: it has trained "
                              f"{trainer.epoch} already (give --epochs {trainer.epoch} or more)")
        extend_schedule(trainer.scheduler, optimizer, config.epochs)
    trainer.fit(loader, x_val=normalize(val_images), y_val=val_labels)
    return trainer


def make_folder(path: str) -> Path:
    """The default ``output`` of the recipes: ``path`` as a folder, created if needed."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def run(config: Config, *, resume: str | Path | None = None, commands: Sequence[str] = (),
        options: Mapping | None = None, summary_writer_class=None, writes: bool = True,
        output=make_folder):
    """Train ``config.model`` on ``config.dataset``; return ``(trainer, checkpoint)``:
    the fitted Trainer and its checkpoint's path.

    The checkpoint ``checkpoint.safetensors`` in the run folder (``output(config.out)``,
    made once the data and model are ready) is written after every epoch and holds the
    best validation epoch's weights at the end. With ``resume`` (a checkpoint's path) the
    run goes on from that checkpoint, in its folder, up to ``config.epochs``.
    ``commands`` (the command lines that made the run) and ``options`` (what to record as
    its options; default: the config's fields) go into the checkpoint. Only ``writes``
    (rank 0 of a distributed run) prints and writes. ``summary_writer_class`` (such as
    tensorboardX's ``SummaryWriter``) gets the Trainer's scalars in ``RUN/tensorboard``.
    """
    import visiongrad as vg

    vg.manual_seed(config.seed)
    dataset = load_split(config.dataset, "train", config.data_dir)
    model = build_model(config.model, dataset.images.shape[1:], len(dataset.classes))
    x_train, y_train, x_val, y_val = split_off_validation(dataset.images, dataset.labels,
                                                          config.val_fraction)
    normalize = fit_normalizer(x_train)
    if resume is not None:
        checkpoint = Path(resume)
    else:
        checkpoint = (output(config.out) if writes else Path(config.out)) / CHECKPOINT_NAME
    if not writes:
        return fit_network(model, config, x_train, y_train, x_val, y_val, normalize,
                           resume=resume is not None, checkpoint=checkpoint), checkpoint
    print(f"{'resuming' if resume is not None else 'training'} {config.model} on "
          f"{len(y_train)} {config.dataset} images ({len(y_val)} held out for validation) for "
          f"{counted(config.epochs, 'epoch')} in all; output {checkpoint.parent}")
    options = dataclasses.asdict(config) if options is None else dict(options)
    info = network_info(options, dataset.images, dataset.classes, normalize, commands)
    writer = (summary_writer_class(logdir=str(checkpoint.parent / "tensorboard"))
              if summary_writer_class is not None else None)
    try:
        trainer = fit_network(model, config, x_train, y_train, x_val, y_val, normalize, info,
                              checkpoint=checkpoint, resume=resume is not None,
                              summary_writer=writer)
    finally:
        if writer is not None:
            writer.close()
    if trainer.stop_reason is not None:
        print(f"training stopped early: {trainer.stop_reason}")
    trainer.save_checkpoint(checkpoint)
    return trainer, checkpoint


# ---------------------------------------------------------------------- fine-tuning


@dataclasses.dataclass
class FinetuneConfig(FromOptions):
    """Fine-tuning a classify checkpoint on another dataset: a new head for its classes,
    the rest trained at ``body_lr`` (``freeze="none"``) or frozen (``"features"``), on
    ``labels_per_class`` images of each class (None: every training image)."""

    checkpoint: str
    dataset: str = "fashion-mnist-mini"
    data_dir: str | None = None
    labels_per_class: int | None = None
    freeze: str = "none"
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    body_lr: float = 1e-3
    augment: bool = False
    seed: int = 0
    out: str = "visiongrad-finetune"

    def __post_init__(self):
        check_path("checkpoint", self.checkpoint)
        check_text("dataset", self.dataset)
        check_path("data_dir", self.data_dir, optional=True)
        if self.labels_per_class is not None:
            check_int("labels_per_class", self.labels_per_class, 1, MAX_BATCH_SIZE)
        check_choice("freeze", self.freeze, FREEZE)
        check_int("epochs", self.epochs, 1, MAX_EPOCHS)
        check_int("batch_size", self.batch_size, 1, MAX_BATCH_SIZE)
        for name in ("lr", "body_lr"):
            check_number(name, getattr(self, name), "a positive number", lambda v: v > 0)
        check_flag("augment", self.augment)
        check_int("seed", self.seed, 0, MAX_SEED)
        check_path("out", self.out)


def labelled_subset(labels: np.ndarray, per_class: int | None, seed: int) -> np.ndarray:
    """Sorted indices of ``per_class`` images of each class, drawn without replacement
    with ``numpy.random.default_rng(seed)`` (every index for ``None``)."""
    if per_class is None:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    counts = np.bincount(labels)
    smallest = int(counts.min()) if len(counts) else 0
    if smallest < per_class:
        raise RecipeError(f"--labels-per-class {per_class} is more than the training split "
                          f"holds of its smallest class ({smallest})")
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == c), per_class,
                                              replace=False) for c in range(len(counts))]))


def adapt(model, num_classes: int, freeze: str, lr: float, body_lr: float):
    """Replace ``model``'s head for ``num_classes``, freeze its features or not; return an
    Adam optimizer: the head at ``lr`` and (``freeze="none"``) the rest at ``body_lr``."""
    from visiongrad import models, optim

    with recipe_errors(TypeError, ValueError, context="cannot replace the head: "):
        head = models.replace_head(model, num_classes)
    if freeze == "features":
        models.freeze(model, except_head=True)
        return optim.Adam(head.parameters(), lr=lr)
    head_ids = {id(p) for p in head.parameters()}
    body = [p for p in model.parameters() if id(p) not in head_ids]
    return optim.Adam([{"params": head.parameters(), "lr": lr}, {"params": body}], lr=body_lr)


def finetune(config: FinetuneConfig, *, options: Mapping | None = None,
             commands: Sequence[str] = (), output=make_folder) -> tuple[dict, Path]:
    """Fine-tune ``config.checkpoint`` (a checkpoint or its run folder); write the new
    checkpoint into the folder ``output(config.out)``; return ``(metrics, folder)``, the
    metrics holding the test accuracy, the history and the options."""
    import visiongrad as vg
    from visiongrad.data import DataLoader, transforms
    from visiongrad.train.trainer import Trainer, evaluate

    path = Path(config.checkpoint)
    model, normalize, info = load_network(str(path / CHECKPOINT_NAME if path.is_dir()
                                              else path))
    train = load_split(config.dataset, "train", config.data_dir)
    check_input_shape(info, train.images.shape[1:], f"{config.dataset} train")
    keep = labelled_subset(train.labels, config.labels_per_class, config.seed)
    vg.manual_seed(config.seed)
    optimizer = adapt(model, len(train.classes), config.freeze, config.lr, config.body_lr)
    folder = output(config.out)
    print(f"fine-tuning {info['model']} from {config.checkpoint} on {len(keep)} "
          f"{config.dataset} images ({len(train.classes)} classes), features "
          f"{'frozen' if config.freeze == 'features' else 'trained'}; output {folder}")
    options = dataclasses.asdict(config) if options is None else dict(options)
    saved = {**info, "classes": list(train.classes), "options": options,
             "commands": [*info.get("commands", []), *commands]}
    shift = ([transforms.RandomCrop(train.images.shape[-2:], padding=2)]
             if config.augment else [])
    loader = DataLoader((train.images[keep], train.labels[keep]),
                        batch_size=config.batch_size, shuffle=True,
                        transform=transforms.Compose([*shift, normalize]))
    trainer = Trainer(model, optimizer, epochs=config.epochs, config=saved)
    trainer.fit(loader)
    trainer.save_checkpoint(folder / CHECKPOINT_NAME)
    test = load_split(config.dataset, "test", config.data_dir)
    accuracy = float(evaluate(model, normalize(test.images), test.labels,
                              num_classes=len(train.classes))["accuracy"])
    print(f"test accuracy {accuracy:.4f} on {len(test.labels)} {config.dataset} images")
    return {"model": info["model"], "pretrained": str(config.checkpoint),
            "dataset": config.dataset, "labelled_images": len(keep),
            "test_accuracy": accuracy,
            "history": {key: trainer.history[key] for key in ("epoch_loss", "train_accuracy")},
            "options": options}, folder
