import gzip
import tracemalloc

import numpy as np
import pytest
from helpers import idx_bytes

from fastmlp.datasets.idx import (
    IMAGES_MAGIC,
    LABELS_MAGIC,
    idx_header,
    iter_bytes,
    parse_idx,
    read_bytes,
)
from fastmlp.errors import DatasetError

IMAGES = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
LABELS = np.array([3, 1, 4, 1, 5], dtype=np.uint8)


def test_parses_images_and_labels():
    np.testing.assert_array_equal(parse_idx(idx_bytes(IMAGES), "img", IMAGES_MAGIC), IMAGES)
    np.testing.assert_array_equal(parse_idx(idx_bytes(LABELS), "lab", LABELS_MAGIC), LABELS)


def test_header_round_trips():
    assert idx_header(IMAGES_MAGIC, IMAGES.shape) + IMAGES.tobytes() == idx_bytes(IMAGES)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_reads_raw_and_gzip_by_content_not_name(tmp_path, compress):
    data = idx_bytes(IMAGES)
    path = tmp_path / ("misleading.gz" if not compress else "no-suffix")
    path.write_bytes(gzip.compress(data) if compress else data)
    assert read_bytes(path, len(data)) == data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "expected an IDX file, found 0 bytes"),
        (b"\x00\x00\x08", "expected an IDX file, found 3 bytes"),
        (idx_bytes(LABELS), "expected IDX magic number 2051, found 2049"),
        (b"\x00\x00\x08\x03\x00\x00", "expected a 16-byte header for 3 dimensions, found 6 bytes"),
        (
            idx_bytes(IMAGES)[:-1],
            r"expected 40 bytes for shape \(2, 3, 4\), found 39 \(truncated\)",
        ),
        (idx_bytes(IMAGES) + b"\x00", r"found 41 \(trailing bytes\)"),
    ],
    ids=["empty", "short", "wrong-magic", "short-header", "truncated", "trailing"],
)
def test_bad_files_raise_dataset_error(data, message):
    with pytest.raises(DatasetError, match=message) as error:
        parse_idx(data, "train-images", IMAGES_MAGIC)
    assert isinstance(error.value, ValueError)
    assert str(error.value).startswith("train-images: ")


def test_non_uint8_type_code_is_rejected():
    with pytest.raises(DatasetError, match="expected uint8 IDX data, found type code 0xd"):
        parse_idx(b"\x00\x00\x0d\x01\x00\x00\x00\x00", "f", 0x0D01)


def test_truncated_gzip_is_a_dataset_error(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_bytes(IMAGES))[:-10])
    with pytest.raises(DatasetError, match="not a readable gzip file"):
        read_bytes(path, 1000)


def test_concatenated_gzip_members_read_as_one_file(tmp_path):
    data = idx_bytes(IMAGES)
    path = tmp_path / "two-members.gz"
    path.write_bytes(gzip.compress(data[:7]) + gzip.compress(data[7:]))
    assert read_bytes(path, len(data)) == data


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_a_file_beyond_the_limit_is_refused(tmp_path, compress):
    data = idx_bytes(IMAGES)
    path = tmp_path / "f"
    path.write_bytes(gzip.compress(data) if compress else data)
    assert read_bytes(path, len(data)) == data  # exactly the limit is fine
    what = "once decompressed" if compress else "in the file"
    with pytest.raises(
        DatasetError, match=f"^{path}: expected at most 39 bytes {what}, found more"
    ):
        read_bytes(path, len(data) - 1)


def test_a_gzip_bomb_is_read_a_chunk_at_a_time(tmp_path):
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(bytes(64 << 20), compresslevel=1))  # 64 MiB of zeros
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match="expected at most 4194304 bytes once decompressed"):
            for _ in iter_bytes(path, 4 << 20):
                pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"peak {peak / 2**20:.1f} MiB"
