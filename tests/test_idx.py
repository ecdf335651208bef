import gzip

import numpy as np
import pytest
from helpers import idx_bytes

from fastmlp.datasets.idx import IMAGES_MAGIC, LABELS_MAGIC, idx_header, parse_idx, read_bytes
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
    assert read_bytes(path) == data


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
        read_bytes(path)
