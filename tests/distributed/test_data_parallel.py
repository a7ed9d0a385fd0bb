"""Synchronous data-parallel training over MPI: two ranks against one process, and a
stalled or killed rank ending the job with a loadable checkpoint."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest
from mpi_launch import HERE, finish, run, start, worker

from visiongrad.train import load_checkpoint


def test_two_ranks_give_the_weights_of_one_process_after_20_steps(tmp_path):
    run(2, [str(HERE / "mpi_worker.py"), "equal", str(tmp_path)])
    module = worker()
    with np.load(tmp_path / "weights.npz") as saved:
        for name, batch_norm, batch_size, examples in module.configurations():
            single = module.train(batch_norm, batch_size, examples, distributed=False)
            start_state = module.make_model(batch_norm).state_dict()  # seed 0: not trained
            for key, value in single.items():
                if key.endswith("num_batches_tracked"):
                    assert int(saved[f"{name}.{key}"]) == int(value) == 20
                    continue
                np.testing.assert_allclose(saved[f"{name}.{key}"], value, rtol=2e-4,
                                           atol=2e-5, err_msg=f"{name}: {key}")
                assert not np.allclose(value, start_state[key]), f"{name}: {key} never moved"


def _pids(folder, ranks: int, deadline: float) -> list[int]:
    while time.monotonic() < deadline:
        files = [folder / f"pid.{rank}" for rank in range(ranks)]
        if all(f.exists() and f.read_text() for f in files) and (folder
                                                                   / "last.safetensors").exists():
            return [int(f.read_text()) for f in files]
        time.sleep(0.2)
    pytest.fail("the ranks did not start and write a checkpoint in time")


@pytest.mark.parametrize("how", ["stall", "kill"])
def test_a_stalled_or_killed_rank_ends_the_job_and_the_checkpoint_loads(tmp_path, how):
    started = time.monotonic()
    process = start(2, [str(HERE / "mpi_worker.py"), "stall", str(tmp_path)])
    pids = []
    try:
        pids = _pids(tmp_path, 2, started + 300)
        os.kill(pids[1], signal.SIGSTOP if how == "stall" else signal.SIGKILL)
        stopped = time.monotonic()
        code, out, err = finish(process, timeout=120)
        assert code != 0
        assert time.monotonic() - stopped < 120
        if how == "stall":  # rank 0's collective timed out and aborted the job
            assert "did not complete within 5 s: another rank has died or stalled" in err, \
                f"exit code {code}\nstdout:\n{out}\nstderr:\n{err}"
    finally:
        for pid in pids:  # a stopped rank that MPI failed to kill
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if process.poll() is None:
            process.kill()
            process.communicate()
    contents = load_checkpoint(tmp_path / "last.safetensors")
    assert contents["state"]["epoch"] >= 1
    assert set(contents["model"]) == {"0.weight", "0.bias", "3.weight", "3.bias"}
