"""Crafted and mutated files for every reader (issue 14, items 3 and 5): no crash, no error
but :class:`DataFormatError` naming the file, and no allocation out of proportion to the
file (tracemalloc peak, and one run under an address-space limit in a subprocess)."""

import gzip
import io
import pathlib
import pickle
import struct
import subprocess
import sys
import textwrap
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest
from fuzzing import EDITS, memory_bound, mutate, traced_peak
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from visiongrad.data import (
    DataFormatError,
    load_restricted_pickle,
    load_text,
    read_cifar10,
    read_idx,
    read_image,
    read_image_folder,
    read_npz,
)
from visiongrad.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

from .data_formats import cifar_batch, idx_bytes, py2_pickle, write_image
from .test_safe_pickle import EMPTY_LIST, SETITEM, STOP, array_ops, as_dict, dtype_ops, text

# ------------------------------------------------------------------ crafted bombs


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares width x height 8-bit grey pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def npz_declaring(shape) -> bytes:
    """An npz whose x.npy header declares ``shape`` but holds 16 bytes."""
    header = np.lib.format.header_data_from_array_1_0(np.zeros(2))
    header["shape"] = shape
    member = io.BytesIO()
    np.lib.format.write_array_header_1_0(member, header)
    member.write(b"\x00" * 16)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.npy", member.getvalue())
        archive.writestr("y.npy", npz_member(np.zeros(1, np.int64)))
    return buffer.getvalue()


def npz_member(array) -> bytes:
    member = io.BytesIO()
    np.lib.format.write_array(member, array)
    return member.getvalue()


def peak_bytes(function, *args):
    """Peak traced allocation while ``function(*args)`` runs (its error re-raised)."""
    tracemalloc.start()
    try:
        function(*args)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def assert_refused_cheaply(function, path, limit=8 << 20):
    peak = 0

    def call():
        with pytest.raises(DataFormatError, match=path.name):
            function(path)

    peak = peak_bytes(call)
    assert peak < limit, f"{path.name}: {peak} bytes allocated before refusing"


def test_npz_with_one_huge_label_makes_no_twenty_million_class_names(tmp_path):
    path = tmp_path / "bomb.npz"
    path.write_bytes(npz_bytes(x=np.zeros((1, 1, 2, 2), np.uint8), y=np.array([20_000_000])))
    assert path.stat().st_size < 1000
    assert_refused_cheaply(read_npz, path)
    with pytest.raises(DataFormatError, match="outside 0..1"):  # names given: a plain check
        read_npz(path, classes=["a", "b"])


@pytest.mark.parametrize("shape", [(2**40,), (10**9, 28, 28), (2**20, 2**20)])
def test_npz_header_declaring_more_than_it_holds(tmp_path, shape):
    path = tmp_path / "declares.npz"
    path.write_bytes(npz_declaring(shape))
    assert_refused_cheaply(read_npz, path)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_header_claiming_a_billion_images(tmp_path, compress):
    content = bytes([0, 0, 8, 3]) + struct.pack(">III", 10**9, 28, 28) + b"\x00" * 784
    path = tmp_path / ("bomb.idx.gz" if compress else "bomb.idx")
    path.write_bytes(gzip.compress(content) if compress else content)
    assert_refused_cheaply(read_idx, path)
    huge = bytes([0, 0, 0x0E, 3]) + struct.pack(">III", 2**32 - 1, 2**32 - 1, 2**32 - 1)
    path.write_bytes(gzip.compress(huge) if compress else huge)
    with pytest.raises(DataFormatError, match="more than the limit"):
        read_idx(path)


def test_pickle_asking_for_two_to_the_forty_elements(tmp_path):
    folder = tmp_path / "cifar"
    folder.mkdir()
    (folder / "batches.meta").write_bytes(py2_pickle({b"label_names": [b"a", b"b"]}))
    data = array_ops((2**40, 3072), dtype_ops("u1"), b"\x00" * 3072)
    (folder / "test_batch").write_bytes(as_dict("data", data)[:-1]  # drop STOP, add labels
                                        + text("labels") + EMPTY_LIST + SETITEM + STOP)
    assert_refused_cheaply(load_restricted_pickle, folder / "test_batch")
    with pytest.raises(DataFormatError, match="test_batch: refused.*declares shape"):
        read_cifar10(folder, split="test")


def test_png_declaring_thirty_thousand_squared_is_refused_before_decoding(tmp_path):
    path = write_bytes_to(tmp_path / "cls" / "bomb.png", png_declaring(30000, 30000))
    assert_refused_cheaply(read_image, path)
    with pytest.raises(DataFormatError, match=r"bomb.png: .*(30000x30000|900000000 pixels)"):
        read_image_folder(tmp_path)
    below_pillow = write_bytes_to(tmp_path / "big.png", png_declaring(9000, 9000))
    with pytest.raises(DataFormatError, match="big.png: image declares 9000x9000"):
        read_image(below_pillow)  # our limit (8192 x 8192) is below Pillow's


def write_bytes_to(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("size", [8, (0, 0), (4,), (4, -1), (2.5, 3), "ab", (True, 4)])
def test_image_folder_size_must_be_a_pair_of_positive_ints(tmp_path, size):
    write_image(tmp_path / "a" / "x.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="size must be a \\(height, width\\) pair"):
        read_image_folder(tmp_path, size=size)


def test_sixteen_bit_png_is_scaled_not_saturated(tmp_path):
    values = np.array([[0, 257, 32896, 65535]], np.uint16)
    path = tmp_path / "a" / "deep.png"
    path.parent.mkdir()
    Image.fromarray(values).save(path)
    np.testing.assert_array_equal(read_image(path, mode="L")[0], [[0, 1, 128, 255]])
    np.testing.assert_array_equal(read_image_folder(tmp_path).images[0, 0], [[0, 1, 128, 255]])


def test_colour_to_grey_is_said(tmp_path):
    path = write_image(tmp_path / "rgb.png", np.full((2, 2, 3), (255, 0, 0), np.uint8))
    with pytest.warns(UserWarning, match="rgb.png: colour image .* converted to grayscale"):
        grey = read_image(path, mode="L")
    assert grey.shape == (1, 2, 2) and np.all(grey == 76)  # 0.299 * 255
    assert read_image(path).shape == (3, 2, 2)


def test_readers_stay_within_an_address_space_limit():
    """The bombs above in a child whose address space is capped 512 MiB above its start."""
    code = textwrap.dedent(f"""
        import gzip, resource, struct, sys, tempfile, pathlib
        sys.path[:0] = {[str(pathlib.Path(__file__).parents[i]) for i in (1, 2)]!r}
        from tests.data.test_fuzz_readers import npz_declaring, png_declaring
        from visiongrad.data import DataFormatError, read_idx, read_image, read_npz
        size = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (size + (512 << 20),) * 2)
        folder = pathlib.Path(tempfile.mkdtemp())
        cases = [(read_npz, "a.npz", npz_declaring((2**40,))),
                 (read_idx, "b.idx", bytes([0, 0, 8, 3]) + struct.pack(">III", 10**9, 28, 28)),
                 (read_idx, "c.gz", gzip.compress(bytes([0, 0, 8, 1]) + struct.pack(">I", 2**31))),
                 (read_image, "d.png", png_declaring(30000, 30000))]
        for reader, name, content in cases:
            (folder / name).write_bytes(content)
            try:
                reader(folder / name)
            except DataFormatError as error:
                print("refused", name, error)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert [line.split()[1] for line in result.stdout.splitlines()] == [
        "a.npz", "b.idx", "c.gz", "d.png"], result.stdout


# ------------------------------------------------------------------ mutation fuzzing

def image_bytes(array, format: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=format)
    return buffer.getvalue()


def seeds() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 4, 4), dtype=np.uint8)
    colour = rng.integers(0, 256, (5, 6, 3), dtype=np.uint8)
    return {
        "pickle": py2_pickle(cifar_batch(3, b"labels", 10, seed=0)),
        "pickle5": pickle.dumps(cifar_batch(3, b"labels", 10, seed=1), protocol=5),
        "test_batch": py2_pickle(cifar_batch(3, b"labels", 10, seed=2)),
        "batches.meta": py2_pickle({b"label_names": [f"c{i}".encode() for i in range(10)]}),
        "npz": npz_bytes(x=images, y=np.array([0, 1, 2]), classes=np.array(["a", "b", "c"])),
        "idx": idx_bytes(images),
        "idx.gz": gzip.compress(idx_bytes(images)),
        "png": image_bytes(images[0], "PNG"),
        "jpeg": image_bytes(colour, "JPEG"),
        "bmp": image_bytes(colour, "BMP"),
        "gif": image_bytes(images[1], "GIF"),
        "webp": image_bytes(colour, "WEBP"),
        "txt": "To be, or not to be — that is the question:\n".encode(),
        "txt.gz": gzip.compress("Exit, pursued by a bear. ✓\n".encode() * 20),
    }


SEEDS = seeds()


def read_any(kind: str, path):
    """Read ``path`` with the reader of ``kind``; a CIFAR part is read as a whole folder."""
    if kind in ("test_batch", "batches.meta"):
        folder = path.parent / "fuzzed-cifar"
        folder.mkdir(exist_ok=True)
        for name in ("test_batch", "batches.meta"):
            (folder / name).write_bytes(path.read_bytes() if name == kind else SEEDS[name])
        return read_cifar10(folder, split="test")
    readers = {"npz": read_npz, "idx": read_idx, "idx.gz": read_idx, "txt": load_text,
               "txt.gz": load_text, "pickle": load_restricted_pickle,
               "pickle5": load_restricted_pickle}
    return readers.get(kind, read_image)(path)


FUZZ = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture]}


@settings(max_examples=300, **FUZZ)
@given(case=st.tuples(st.sampled_from(sorted(SEEDS)), EDITS))
@example(case=("npz", [("flip", 5500, 0)]))  # sets the encrypted flag of a member (CI found)
@example(case=("pickle5", [("insert", 111, 1)]))  # BYTEARRAY8 declaring 604 MB (found here)
def test_mutated_files_load_or_fail_with_one_clear_error(tmp_path, case):
    """Every reader (pickle and CIFAR, npz, IDX, images, text): a mutated file loads or
    fails in one DataFormatError naming it, within the memory bound."""
    kind, edits = case
    content = mutate(SEEDS[kind], edits)
    path = tmp_path / f"fuzzed.{kind}"
    path.write_bytes(content)
    peak, error = traced_peak(read_any, kind, path)
    if error is not None:
        assert isinstance(error, DataFormatError), f"{kind}: {type(error).__name__}: {error}"
        assert "fuzzed" in str(error)
    assert peak < memory_bound(path), f"{kind}: {peak} bytes for {len(content)}"


@settings(max_examples=60, **FUZZ)
@given(edits=EDITS)
def test_mutated_checkpoints_load_or_fail_with_one_clear_error(tmp_path, edits):
    from visiongrad import models
    model = models.create("fc", hidden_dims=[3], input_shape=(1, 2, 2), num_classes=2)
    good = save_checkpoint(tmp_path / "good", model, config={"a": [1, 2.5, None]})
    path = tmp_path / "fuzzed.safetensors"
    content = open(good, "rb").read()
    path.write_bytes(mutate(content, edits))
    peak, error = traced_peak(load_checkpoint, path)
    if error is not None:
        assert isinstance(error, CheckpointError), f"{type(error).__name__}: {error}"
        assert "fuzzed" in str(error)
    assert peak < memory_bound(path), peak
