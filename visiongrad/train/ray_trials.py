"""Search trials as Ray tasks, on a local Ray started on demand or on a running cluster."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence


def ray_module():
    """The ``ray`` package; a one-line ImportError naming the install command."""
    try:
        import ray
    except ImportError:
        raise ImportError("--backend ray needs Ray: pip install 'visiongrad[distributed]'") \
            from None
    return ray


def _run_trial(objective: Callable, setting: Mapping) -> dict:
    """The task: :func:`visiongrad.train.search.run_trial` in a Ray worker, without
    progress bars or lines (:func:`~visiongrad.train.progress.quiet_progress`): Ray sends a
    worker's output to the driver's log, where a bar's redraws are spam; the driver reports
    the trials' progress."""
    from visiongrad.train.progress import quiet_progress
    from visiongrad.train.search import run_trial

    with quiet_progress():
        return run_trial(objective, setting)


class RayTrials:
    """``run_trials`` for :func:`~visiongrad.train.search` and
    :func:`~visiongrad.train.halving.successive_halving`: every trial of a stage as one
    Ray task (one CPU each), the rows gathered in the settings' order.

    Parameters
    ----------
    address : str, optional
        A running cluster's address (``ray start --head`` prints it, e.g.
        ``"10.0.0.1:6379"``, or ``"auto"``). Default: connect to Ray if this process
        already did, else start a local Ray on this machine's cores, without dashboard.
    cpus_per_trial : float
        CPUs Ray reserves for each trial.

    A trial whose task raised (or whose worker died) becomes a row with score ``nan``,
    status ``"failed"`` and the error's last line as ``"message"``; the search goes on.
    The objective is shipped once per stage (``ray.put``) to the workers, which must be
    able to import visiongrad (installed on every machine of a cluster).

    Each trial runs its products on one BLAS thread, here as in turn in one process
    (:func:`~visiongrad.train.search.trial_threads`), and seeds itself from its setting,
    so a seeded search writes the local search's results, whichever worker runs a trial
    and however many trials a worker ran before.
    """

    def __init__(self, address: str | None = None, cpus_per_trial: float = 1.0):
        if not cpus_per_trial > 0:
            raise ValueError(f"cpus_per_trial must be positive, got {cpus_per_trial!r}")
        self.address, self.cpus_per_trial = address, float(cpus_per_trial)

    def connect(self):
        """Ray, connected (started locally when there is no address and no Ray yet)."""
        ray = ray_module()
        if not ray.is_initialized():
            if self.address is not None:
                ray.init(address=self.address, log_to_driver=True)
            else:
                ray.init(num_cpus=os.cpu_count() or 1, include_dashboard=False)
        return ray

    def __call__(self, objective: Callable, settings: Sequence[Mapping],
                 on_row: Callable[[int, int], None] | None = None) -> list[dict]:
        """The rows of ``settings``' trials; ``on_row(rows back, trials)`` after each row
        (for progress: the rows come back in the settings' order)."""
        ray = self.connect()
        task = ray.remote(num_cpus=self.cpus_per_trial, max_retries=0)(_run_trial)
        shipped = ray.put(objective)
        pending = [task.remote(shipped, dict(setting)) for setting in settings]
        rows = []
        for reference in pending:
            try:
                rows.append(ray.get(reference))
            except (ray.exceptions.RayTaskError, ray.exceptions.WorkerCrashedError) as error:
                message = str(error).strip().splitlines()
                rows.append({"score": math.nan, "status": "failed", "seconds": None,
                             "message": message[-1] if message else type(error).__name__})
            if on_row is not None:
                on_row(len(rows), len(pending))
        return rows

    def __repr__(self) -> str:
        return f"RayTrials(address={self.address!r}, cpus_per_trial={self.cpus_per_trial:g})"
