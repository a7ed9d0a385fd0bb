"""The Trainer (the course's Solver) and batched evaluation of a classifier.

The model protocol
------------------
A model is an ``nn.Module`` whose call maps a float32 ``Tensor`` of images of shape
(N, C, H, W) to a ``Tensor`` of class scores (logits) of shape (N, num_classes). Models
that need flat vectors flatten inside (every model in ``visiongrad.models`` does). The
Trainer calls ``model.train()`` before each training epoch and ``model.eval()`` for
evaluation, and reads ``model.parameters()``, ``model.named_parameters()``,
``model.state_dict()`` and ``model.load_state_dict()``.

One training path: ``Trainer.fit`` iterates a :class:`~visiongrad.data.DataLoader` (arrays
are wrapped in a shuffling one); augmentation is the loader's ``transform``.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable, Iterator, Mapping

import numpy as np
from tqdm.auto import tqdm

from .. import functional as F
from .. import random as vg_random
from ..autograd import Tensor, tensor
from ..data.loader import DataLoader
from ..distributed.setup import data_parallel
from ..optim.lbfgs import LBFGS
from .checkpoint import copy_model_state, load_model_state, load_trainer_checkpoint, save_checkpoint
from .predict import evaluate, evaluation_mode, predict_logits, predict_proba
from .progress import Progress, progress_shown

__all__ = ["Trainer", "TrainingDiverged", "evaluate", "evaluation_mode", "predict_logits",
           "predict_proba"]


class TrainingDiverged(RuntimeError):
    """Raised by ``Trainer.fit`` (with ``raise_on_explosion=True``) when the loss explodes.

    Examples
    --------
    >>> from visiongrad import train
    >>> issubclass(train.TrainingDiverged, Exception)
    True
    """


def _check_data(name: str, x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim < 2 or y.ndim != 1 or len(x) != len(y) or not len(x):
        raise ValueError(f"{name} needs images (N, ...) and labels (N,) with N > 0, got shapes "
                         f"{x.shape} and {y.shape}")
    if y.dtype.kind not in "iu":
        raise TypeError(f"{name} labels must be integers, got dtype {y.dtype}")
    return x, y


def _current_lr(optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])


class Trainer:
    """Minibatch training of a classifier with validation, checkpoints and exact resume.

    The model must follow the protocol in this module's docstring: images (N, C, H, W)
    float32 in, logits (N, num_classes) out.

    Parameters
    ----------
    model : nn.Module
    optimizer : optim.Optimizer
        Stepped once per minibatch (``LBFGS`` with a closure re-evaluating the batch);
        its learning rate is ``param_groups[0]["lr"]``.
    scheduler : optional
        A learning-rate schedule stepped once per epoch, after validation
        (``ReduceLROnPlateau`` receives the validation loss).
    batch_size : int
        The minibatch size when ``fit`` is given arrays (a ``DataLoader`` has its own).
    epochs : int
        Total number of epochs; ``fit`` runs until ``self.epoch == epochs`` (after a
        resume it runs only the epochs that remain).
    loss_fn : callable
        ``loss_fn(logits, labels) -> scalar Tensor``; softmax cross-entropy by default.
    clip_grad_norm : float, optional
        Rescale the gradients so their global L2 norm is at most this before each step.
    ema : optional
        An exponential moving average of the weights (``optim.EMA``): updated after every
        step and used, swapped in, for validation, ``evaluate`` and ``predict_proba``.
    restore_best : bool
        At the end of ``fit``, load the weights of the epoch with the best validation
        accuracy (kept in memory and in checkpoints).
    checkpoint_path : str or path-like, optional
        Where ``fit`` writes a checkpoint every ``checkpoint_every`` epochs and after the
        last one (atomically, see :mod:`visiongrad.train.checkpoint`).
    ratio_every : int
        Record the update/weight ratio every this many iterations (0: never).
    explosion_factor : float
        Stop when the loss is NaN/infinite or above ``explosion_factor`` times the first
        iteration's loss (the course's rule: 3).
    raise_on_explosion : bool
        Raise :class:`TrainingDiverged` instead of stopping quietly.
    snapshot_every : int
        Keep a copy of the weights every this many epochs in ``self.snapshots`` (for a
        snapshot ensemble; 0: none). Snapshots are not stored in checkpoints.
    eval_batch_size : int
    progress : bool
        A bar during each epoch (on a terminal) and a line after it, with the whole run's
        time and ETA (:class:`~visiongrad.train.progress.Progress`); none in quiet_progress.
    config : mapping, optional
        Stored verbatim in checkpoints (how to rebuild the model, for example).
    summary_writer : optional
        Anything with ``add_scalar(tag, value, step)`` and ``flush()``, such as
        tensorboardX's ``SummaryWriter``: gets ``iteration/loss`` at every step and the
        epoch's ``history`` values as ``epoch/...`` (step: the epoch), flushed per epoch.
    distributed : bool or DistributedDataParallel
        Synchronous data-parallel training over MPI (run under ``mpiexec -n K``): ``True``
        builds a :class:`~visiongrad.distributed.DistributedDataParallel` on every rank of
        ``MPI.COMM_WORLD``. The loader's ``batch_size`` stays the global batch, each rank
        reads its shard, gradients and logged losses are those of the global batch, and
        only rank 0 writes checkpoints, progress and ``summary_writer`` scalars.
    adversary : optional
        Adversarial training: ``adversary.loss(model, images, labels, loss_fn)`` returns a
        batch's ``(scores, loss)`` under attack (``adversarial.AdversarialTraining``: FGSM,
        PGD, TRADES), the training accuracy that on the attacked images; the best epoch is
        that of the best ``adversary.robust_accuracy`` (``history["val_robust_accuracy"]``).

    Attributes
    ----------
    history : dict
        ``"loss"``: training loss per iteration; ``"epoch_loss"`` (the epoch's mean
        training loss per example), ``"train_accuracy"`` (the fraction of the epoch's
        training examples the model got right as it trained on them: augmented, in train
        mode, as a PyTorch loop's running accuracy), ``"val_accuracy"``, ``"val_loss"``,
        ``"lr"`` (the rate used during the epoch) and ``"epoch_seconds"``: one value per
        epoch; ``"update_ratio"``: ``{parameter name: [ratio, ...]}`` for every weight with
        two or more axes, ``||w_after - w_before|| / ||w_before||`` (that is ``||lr * update|| /
        ||w||``, ideally around 1e-3), sampled at the iterations in
        ``"update_ratio_iteration"``; ``"stop_reason"``: ``None`` or why training stopped
        early.
    epoch, iteration : int
        Epochs and minibatch steps completed.
    best_val_accuracy, best_epoch
        The best validation (robust, with an adversary) accuracy so far and its epoch (1-based).
    stop_reason : str or None
        Set when the explosion rule stopped training.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import train
    >>> import visiongrad as vg
    >>> from visiongrad import nn, optim
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    >>> x = np.random.default_rng(0).random((6, 1, 2, 2)).astype(np.float32)
    >>> y = np.array([0, 1, 2, 0, 1, 2])
    >>> opt = optim.Adam(model.parameters(), lr=0.1)
    >>> trainer = train.Trainer(model, opt, epochs=3, batch_size=3, progress=False)
    >>> trainer.fit(x, y, x, y).epoch, len(trainer.history['val_accuracy'])
    (3, 3)
    """

    def __init__(self, model, optimizer, *, scheduler=None, batch_size: int = 64,
                 epochs: int = 10, loss_fn: Callable = F.cross_entropy,
                 clip_grad_norm: float | None = None, ema=None, restore_best: bool = True,
                 checkpoint_path=None, checkpoint_every: int = 1, ratio_every: int = 10,
                 explosion_factor: float = 3.0, raise_on_explosion: bool = False,
                 snapshot_every: int = 0, eval_batch_size: int = 256, progress: bool = True,
                 config: Mapping | None = None, summary_writer=None,
                 distributed=False, adversary=None):
        for name, value in (("batch_size", batch_size), ("eval_batch_size", eval_batch_size),
                            ("checkpoint_every", checkpoint_every)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name, value in (("epochs", epochs), ("ratio_every", ratio_every),
                            ("snapshot_every", snapshot_every)):
            if not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        if clip_grad_norm is not None and clip_grad_norm <= 0:
            raise ValueError(f"clip_grad_norm must be positive, got {clip_grad_norm}")
        if explosion_factor <= 1:
            raise ValueError(f"explosion_factor must be above 1, got {explosion_factor}")
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.batch_size, self.epochs, self.loss_fn = batch_size, epochs, loss_fn
        self.clip_grad_norm, self.ema, self.restore_best = clip_grad_norm, ema, restore_best
        self.checkpoint_path, self.checkpoint_every = checkpoint_path, checkpoint_every
        self.ratio_every, self.explosion_factor = ratio_every, explosion_factor
        self.raise_on_explosion, self.snapshot_every = raise_on_explosion, snapshot_every
        self.adversary, self.eval_batch_size = adversary, eval_batch_size
        self.parallel = data_parallel(model, distributed)
        if self.parallel is not None and isinstance(optimizer, LBFGS):
            raise ValueError("distributed training does not support LBFGS (its closure "
                             "re-evaluates the loss on one rank's shard only)")
        self.writes = self.parallel is None or self.parallel.is_writer  # checkpoints, logs
        self.summary_writer = summary_writer if self.writes else None
        self.progress = progress and self.writes and progress_shown()
        self.config = dict(config or {})
        self.history: dict = {"loss": [], "epoch_loss": [], "train_accuracy": [], "val_loss": [],
                              "val_accuracy": [], "lr": [], "epoch_seconds": [], "update_ratio": {},
                              "update_ratio_iteration": [], "stop_reason": None}
        self.epoch = self.iteration = 0
        self.best_val_accuracy: float = -math.inf
        self.best_epoch: int | None = None
        self.best_state: dict[str, np.ndarray] | None = None
        self.trained_state: dict[str, np.ndarray] | None = None  # set where best_state is in
        self.snapshots: list[dict[str, np.ndarray]] = []
        self._weights = [(name, p) for name, p in model.named_parameters() if p.data.ndim >= 2]
        self._loader: DataLoader | None = None
        self._loader_state: dict | None = None  # from a checkpoint, for the next fit's loader

    @property
    def stop_reason(self) -> str | None:
        return self.history["stop_reason"]

    # ------------------------------------------------------------------ training

    def fit(self, train, y_train: np.ndarray | None = None, x_val: np.ndarray | None = None,
            y_val: np.ndarray | None = None) -> Trainer:
        """Train until ``self.epochs`` epochs are done or the loss explodes; return self.

        Parameters
        ----------
        train : DataLoader or ndarray
            A :class:`~visiongrad.data.DataLoader` of training batches (its ``transform``
            does any augmentation), or images (N, C, H, W) with ``y_train``, which are
            wrapped in ``DataLoader((train, y_train), batch_size, shuffle=True)``.
        y_train : ndarray of int, shape (N,), optional
            Only with images.
        x_val, y_val : ndarray, optional
            Validation images (as the model takes them; integer images are scaled to
            [0, 1]) and labels, scored after every epoch; without them there is no
            best-model tracking.

        Notes
        -----
        Exact resume: a checkpoint holds visiongrad's generator and the loader's own
        generators (:meth:`DataLoader.state_dict`); after :meth:`load_checkpoint`, ``fit``
        with a loader built as before continues exactly as an uninterrupted run.
        """
        loader = self._training_loader(train, y_train)
        if (x_val is None) != (y_val is None):
            raise ValueError("give both x_val and y_val, or neither")
        if x_val is not None:
            x_val, y_val = _check_data("validation data", x_val, y_val)
        if self._loader_state is not None:
            loader.load_state_dict(self._loader_state)
            self._loader_state = None
        if self.parallel is not None:
            loader = self.parallel.shard(loader)
            self.parallel.synchronize()
        self._loader = loader
        if self.trained_state is not None:  # the best weights were swapped in: go on from these
            self.model.load_state_dict(self.trained_state)
            self.trained_state = None
        self._run = Progress(max(self.epochs, 1), done=min(self.epoch, self.epochs), write=None)
        while self.epoch < self.epochs and self.stop_reason is None:
            started = time.perf_counter()
            lr = _current_lr(self.optimizer)
            epoch_loss, train_accuracy = self._train_epoch(loader)
            if self.stop_reason is not None:
                break
            if self.parallel is not None:
                self.parallel.synchronize()
            self.epoch += 1
            self._end_epoch(lr, time.perf_counter() - started, epoch_loss, train_accuracy,
                            x_val, y_val)
            if self.writes and self.checkpoint_path is not None and (
                    self.epoch % self.checkpoint_every == 0 or self.epoch == self.epochs):
                self.save_checkpoint(self.checkpoint_path)
        if self.restore_best and self.best_state is not None:
            self.trained_state = copy_model_state(self.model)  # what a resumed run goes on from
            self.model.load_state_dict(copy.deepcopy(self.best_state))
        return self

    def _training_loader(self, train, labels) -> DataLoader:
        if isinstance(train, DataLoader):
            if labels is not None:
                raise ValueError("y_train goes with training images, not with a DataLoader")
            if not len(train):
                raise ValueError("the training DataLoader yields no batch")
            return train
        if labels is None:
            raise ValueError("fit needs a DataLoader, or training images and y_train")
        train, labels = _check_data("training data", train, labels)
        return DataLoader((train, labels), batch_size=self.batch_size, shuffle=True)

    def _train_epoch(self, loader: DataLoader) -> tuple[float, float]:
        """One pass over ``loader``; return the mean loss and accuracy per example."""
        self.model.train()
        bar = tqdm(loader, desc=f"epoch {self.epoch + 1}/{self.epochs}", leave=False,
                   disable=None if self.progress else True, unit="batch", total=len(loader))
        loss_sum = correct = seen = 0.0
        for images, labels in bar:
            loss, right, count = self._step(np.asarray(images, dtype=np.float32),
                                            np.asarray(labels))
            if self.stop_reason is not None:
                break
            loss_sum += loss * count
            correct += right
            seen += count
            bar.set_postfix(loss=f"{loss:.4f}", run=self._run.timing(
                self.epoch + (bar.n + 1) / len(loader)), refresh=False)
        bar.close()
        return loss_sum / max(seen, 1), correct / max(seen, 1)

    def _step(self, images: np.ndarray, labels: np.ndarray) -> tuple[float, int, int]:
        """One minibatch: forward, backward, explosion check, clip, update, ratios.

        Returns the batch's loss, how many of its examples the model got right and its
        size (those of the global batch in distributed training).
        """
        from .. import optim

        self.optimizer.zero_grad()
        logits, loss = self._forward_loss(images, labels)
        value = float(loss.item())
        right, count = int(np.sum(np.asarray(logits.data).argmax(axis=1) == labels)), len(labels)
        if self.parallel is not None:
            value, right, count = self.parallel.batch_totals(value, right, count)
        self.history["loss"].append(value)
        if self.summary_writer is not None:
            self.summary_writer.add_scalar("iteration/loss", value, self.iteration + 1)
        if self._exploded(value):
            return value, right, count
        loss.backward()
        if self.parallel is not None:
            self.parallel.average_gradients(len(labels))
        if self.clip_grad_norm is not None:
            optim.clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)
        sampling = self.ratio_every and self.iteration % self.ratio_every == 0
        before = [p.data.copy() for _, p in self._weights] if sampling else None
        if isinstance(self.optimizer, LBFGS):  # it re-evaluates the loss itself
            self.optimizer.step(lambda: self._closure(images, labels))
        else:
            self.optimizer.step()
        if self.ema is not None:
            self.ema.update()
        if sampling:
            self._record_update_ratios(before)
        self.iteration += 1
        return value, right, count

    def _closure(self, images: np.ndarray, labels: np.ndarray) -> Tensor:
        """Loss and gradients of one batch again, for optimizers that need a closure."""
        self.optimizer.zero_grad()
        loss = self._forward_loss(images, labels)[1]
        loss.backward()
        return loss

    def _forward_loss(self, images: np.ndarray, labels: np.ndarray) -> tuple[Tensor, Tensor]:
        """The batch's scores and loss (under attack when there is an adversary)."""
        if self.adversary is not None:
            return self.adversary.loss(self.model, images, labels, self.loss_fn)
        logits = self.model(tensor(images))
        return logits, self.loss_fn(logits, labels)

    def _exploded(self, value: float) -> bool:
        """Apply the explosion rule to the latest loss; set ``stop_reason`` if it fires."""
        initial = self.history["loss"][0]
        if math.isfinite(value) and value <= self.explosion_factor * initial:
            return False
        what = "is not finite" if not math.isfinite(value) else (
            f"exceeds {self.explosion_factor:g} x the initial loss {initial:.4g}")
        message = (f"stopped at epoch {self.epoch + 1}, iteration {self.iteration + 1}: loss "
                   f"{value:.4g} {what} (lr {_current_lr(self.optimizer):.3g}); lower the "
                   f"learning rate")
        self.history["stop_reason"] = message
        if self.raise_on_explosion:
            raise TrainingDiverged(message)
        if self.progress:
            tqdm.write(message)
        return True

    def _record_update_ratios(self, before: list[np.ndarray]) -> None:
        ratios = self.history["update_ratio"]
        for (name, parameter), old in zip(self._weights, before, strict=True):
            scale = float(np.linalg.norm(old))
            change = float(np.linalg.norm(parameter.data - old))
            ratios.setdefault(name, []).append(change / scale if scale > 0 else math.nan)
        self.history["update_ratio_iteration"].append(self.iteration)

    def _end_epoch(self, lr: float, seconds: float, epoch_loss: float, train_accuracy: float,
                   x_val, y_val) -> None:
        history = self.history
        for key, value in (("lr", lr), ("epoch_seconds", seconds), ("epoch_loss", epoch_loss),
                           ("train_accuracy", train_accuracy)):
            history[key].append(value)
        summary = (f"epoch {self.epoch}/{self.epochs}: loss {epoch_loss:.4f}, "
                   f"train acc {train_accuracy:.4f}")
        if x_val is not None:
            scores = self.evaluate(x_val, y_val)
            history["val_accuracy"].append(scores["accuracy"])
            history["val_loss"].append(scores["loss"])
            summary += f", val loss {scores['loss']:.4f}, val acc {scores['accuracy']:.4f}"
            score = scores["accuracy"]
            if self.adversary is not None:  # the best epoch is the most robust one
                with self._evaluation_weights():
                    score = self.adversary.robust_accuracy(self.model, x_val, y_val)
                history.setdefault("val_robust_accuracy", []).append(score)
                summary += f", val robust acc {score:.4f}"
            if score > self.best_val_accuracy:
                self.best_val_accuracy, self.best_epoch = score, self.epoch
                self.best_state = self._evaluation_state()
        if self.scheduler is not None:
            if type(self.scheduler).__name__ == "ReduceLROnPlateau":
                self.scheduler.step(history["val_loss"][-1] if history["val_loss"]
                                    else epoch_loss)
            else:
                self.scheduler.step()
        if self.snapshot_every and self.epoch % self.snapshot_every == 0:
            self.snapshots.append(self._evaluation_state())
        if self.summary_writer is not None:
            self._write_epoch_scalars()
        if self.progress:
            tqdm.write(self._run.step(f"{summary}, lr {lr:.3g}, {seconds:.1f} s"))

    def _write_epoch_scalars(self) -> None:
        """This epoch's ``history`` values to ``summary_writer`` (validation ones if any)."""
        tags = {"epoch_loss": "epoch/train_loss", "train_accuracy": "epoch/train_accuracy",
                "val_loss": "epoch/val_loss", "val_accuracy": "epoch/val_accuracy",
                "lr": "epoch/lr"}
        for key, tag in tags.items():
            if len(self.history[key]) == self.epoch:
                self.summary_writer.add_scalar(tag, self.history[key][-1], self.epoch)
        self.summary_writer.flush()

    # ------------------------------------------------------------------ evaluation

    @contextlib.contextmanager
    def _evaluation_weights(self) -> Iterator[None]:
        """The EMA weights swapped in for evaluation when there is an EMA."""
        with contextlib.nullcontext() if self.ema is None else self.ema.average_parameters():
            yield

    def _evaluation_state(self) -> dict[str, np.ndarray]:
        with self._evaluation_weights():
            return copy_model_state(self.model)

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> dict:
        """Accuracy, loss, per-class accuracy and confusion matrix of the model on (x, y)
        (:func:`classification_scores`), with the EMA weights when there is an EMA."""
        with self._evaluation_weights():
            return evaluate(self.model, x, y, batch_size=self.eval_batch_size)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (N, num_classes), batched, eval mode, no graph."""
        with self._evaluation_weights():
            return predict_proba(self.model, x, self.eval_batch_size)

    # ------------------------------------------------------------------ checkpoints

    def save_checkpoint(self, path) -> str:
        """Write everything needed to resume exactly; return the path written.

        Model (once ``fit`` restored the best epoch, its weights; the last epoch's apart, to
        resume from), optimizer, scheduler, EMA, best weights, history, config, counters, RNGs.
        """
        loader = self._loader.state_dict() if self._loader is not None else self._loader_state
        state = {"epoch": self.epoch, "iteration": self.iteration, "loader": loader,
                 "best_val_accuracy": self.best_val_accuracy, "best_epoch": self.best_epoch,
                 "best_state": self.best_state, "trained_state": self.trained_state,
                 "ema": None if self.ema is None else self.ema.state_dict()}
        return save_checkpoint(path, self.model, self.optimizer, scheduler=self.scheduler,
                               history=self.history, config=self.config, state=state)

    def load_checkpoint(self, path) -> Trainer:
        """Restore a checkpoint written by :meth:`save_checkpoint`; ``fit`` then resumes.

        The trainer must be built like the one that wrote it (same model architecture,
        optimizer and scheduler types). Also restores visiongrad's random generator; the
        loader's own generators are restored into the loader the next ``fit`` receives.

        Raises
        ------
        ValueError
            If the checkpoint's weights do not fit the model (names the keys and shapes),
            or (``CheckpointError``) its trainer state is missing or malformed.
        """
        contents, state = load_trainer_checkpoint(path)
        load_model_state(self.model, state.get("trained_state") or contents["model"],
                         source=f"checkpoint {path}")
        if contents["optimizer"] is not None:
            self.optimizer.load_state_dict(contents["optimizer"])
        if self.scheduler is not None and contents["scheduler"] is not None:
            self.scheduler.load_state_dict(contents["scheduler"])
        if self.ema is not None and state.get("ema") is not None:
            self.ema.load_state_dict(state["ema"])
        self.history = contents["history"]
        self.epoch, self.iteration = state["epoch"], state["iteration"]
        self.best_val_accuracy, self.best_epoch = state["best_val_accuracy"], state["best_epoch"]
        self.best_state, self.trained_state = state["best_state"], None
        self._loader_state = state.get("loader")
        vg_random.set_state(contents["rng"])
        return self
