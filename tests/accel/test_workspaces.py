"""The batch cut into cache-sized blocks, a multiple of the core count of them. (That the
workspace is never returned or saved is tested through conv2d, tests/ops/test_conv.py.)"""

import pytest

from visiongrad.accel import workspaces


def test_one_byte_blocks_are_one_example_each(monkeypatch):
    monkeypatch.setattr(workspaces, "CHUNK_BYTES", 1)
    assert workspaces.batch_chunks(3, 100) == [slice(0, 1), slice(1, 2), slice(2, 3)]


@pytest.mark.parametrize("cores", [1, 2, 3])
@pytest.mark.parametrize("n, per_example", [(128, 451_584), (256, 12_544), (5, 1 << 30),
                                             (1, 100), (7, 1)])
def test_batch_chunks_are_equal_and_a_multiple_of_the_cores(monkeypatch, cores, n,
                                                            per_example):
    """The blocks tile the batch in order, differ in size by at most one example, stay
    within CHUNK_BYTES (when one example fits), and come in a multiple of the core count
    (unless there are fewer examples than that)."""
    monkeypatch.setattr(workspaces, "available_cores", lambda: cores)
    chunks = workspaces.batch_chunks(n, per_example)
    assert chunks[0].start == 0 and chunks[-1].stop == n
    assert all(a.stop == b.start for a, b in zip(chunks, chunks[1:], strict=False))
    sizes = [chunk.stop - chunk.start for chunk in chunks]
    assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1
    assert len(chunks) % cores == 0 or len(chunks) == n
    assert max(sizes) == 1 or max(sizes) * per_example <= workspaces.CHUNK_BYTES


