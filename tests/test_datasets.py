"""Data set loaders: the real MNIST files (published counts and checksums), IDX validation, path errors."""
import hashlib

import numpy as np
import pytest

from neuroimc.datasets import MNIST_FILES, load_digits, load_mnist, mnist_files, read_idx
from neuroimc.datasets import _paths

from _idx_files import idx_bytes, tiny_mnist, write_split

# Published per-digit counts of LeCun's files.
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def _real(split):
    try:
        return mnist_files(split=split)
    except FileNotFoundError as exc:
        pytest.skip(f"MNIST {split} files not available (set NEUROIMC_DATA to the shared data folder): "
                    f"{str(exc).splitlines()[0]}")


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No $NEUROIMC_DATA, user cache inside tmp_path."""
    monkeypatch.delenv(_paths.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def test_mnist_test_split_shapes_and_published_label_counts():
    _real("test")
    images, labels = load_mnist(split="test")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == TEST_COUNTS
    assert images.min() == 0 and images.max() == 255


def test_mnist_train_split_shapes_and_published_label_counts():
    _real("train")
    images, labels = load_mnist(split="train")
    assert images.shape == (60000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == TRAIN_COUNTS


def test_idx_files_agree_with_the_npz_copy():
    kind, img_file, _ = _real("test")
    npz = img_file.parent / "mnist.npz"
    if kind != "idx" or not npz.is_file():
        pytest.skip(f"needs both the IDX files and mnist.npz in {img_file.parent}")
    images, labels = load_mnist(split="test")
    with np.load(npz) as d:
        np.testing.assert_array_equal(images, d["x_test"])
        np.testing.assert_array_equal(labels, d["y_test"])


def test_original_files_match_the_published_checksums():
    kind, img_file, _ = _real("test")
    checked = 0
    for name, spec in MNIST_FILES.items():
        f = img_file.parent / name
        if f.is_file():
            raw = f.read_bytes()
            assert len(raw) == spec.size
            assert hashlib.md5(raw).hexdigest() == spec.md5
            assert hashlib.sha256(raw).hexdigest() == spec.sha256
            checked += 1
    assert checked >= 1


def test_npz_only_folder(isolated):
    images, labels = tiny_mnist(4)
    np.savez(isolated / "mnist.npz", x_train=images, y_train=labels, x_test=images[:2], y_test=labels[:2])
    x, y = load_mnist(isolated, split="test")
    np.testing.assert_array_equal(x, images[:2])
    np.testing.assert_array_equal(y, labels[:2])
    np.savez(isolated / "mnist.npz", x_train=images)
    with pytest.raises(ValueError, match=r"missing arrays \['y_train'\]"):
        load_mnist(isolated, split="train")


@pytest.mark.parametrize("compress", [True, False])
def test_reads_handmade_idx_files(isolated, compress):
    images, labels = tiny_mnist(7)
    write_split(isolated, "train", images, labels, compress=compress)
    x, y = load_mnist(isolated, split="train")
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)


def test_idx_element_types_and_byte_order(tmp_path):
    a = np.arange(-6, 6, dtype=np.int32).reshape(3, 4) * 1000
    (tmp_path / "a.idx").write_bytes(idx_bytes(a, code=0x0C))
    out = read_idx(tmp_path / "a.idx")
    np.testing.assert_array_equal(out, a)
    assert out.dtype == np.int32 and out.dtype.isnative
    f = np.array([0.5, -2.25, 1e30])
    (tmp_path / "f.idx").write_bytes(idx_bytes(f, code=0x0E))
    np.testing.assert_array_equal(read_idx(tmp_path / "f.idx"), f)


def test_environment_variable_points_at_the_data_root(isolated, monkeypatch):
    images, labels = tiny_mnist(3)
    write_split(isolated / "root" / "mnist", "test", images, labels)
    monkeypatch.setenv(_paths.ENV_VAR, str(isolated / "root"))
    x, _ = load_mnist(split="test")
    np.testing.assert_array_equal(x, images)


def test_missing_data_names_the_folders_and_the_fixes(isolated):
    with pytest.raises(FileNotFoundError) as err:
        load_mnist(isolated / "nowhere", split="test")
    msg = str(err.value)
    assert str(isolated / "nowhere") in msg and "no such folder" in msg
    assert "t10k-images-idx3-ubyte.gz" in msg and "NEUROIMC_DATA" in msg and "download=True" in msg


def test_half_a_split_is_not_a_split(isolated):
    images, labels = tiny_mnist(3)
    img, _ = write_split(isolated, "test", images, labels)
    img.unlink()
    with pytest.raises(FileNotFoundError, match="MNIST test split not found"):
        load_mnist(isolated, split="test")


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"split must be one of \['test', 'train'\], got 'validation'"):
        load_mnist(split="validation")
    with pytest.raises(TypeError, match="download must be True or False, got 'yes'"):
        load_mnist(split="test", download="yes")
    with pytest.raises(TypeError, match="path must be a str or os.PathLike"):
        load_mnist(path=3, split="test")


def _gz_split(folder, n=4):
    images, labels = tiny_mnist(n)
    img, lbl = write_split(folder, "test", images, labels)
    return img, lbl


def test_truncated_gzip_is_reported(isolated):
    img, _ = _gz_split(isolated)
    raw = img.read_bytes()
    img.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="gzip stream is truncated"):
        load_mnist(isolated, split="test")


def test_corrupted_gzip_is_reported(isolated):
    _, lbl = _gz_split(isolated)
    raw = bytearray(lbl.read_bytes())
    raw[-5] ^= 0xFF  # inside the trailing CRC32 / size fields
    lbl.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="gzip stream is corrupted"):
        load_mnist(isolated, split="test")


def test_truncated_and_overlong_idx_data(isolated):
    images, labels = tiny_mnist(4)
    img, lbl = write_split(isolated, "test", images, labels, compress=False)
    img.write_bytes(img.read_bytes()[:-10])
    msg = r"IDX data truncated: header says shape \(4, 28, 28\) of uint8 \(3136 bytes\), found 3126"
    with pytest.raises(ValueError, match=msg):
        load_mnist(isolated, split="test")
    write_split(isolated, "test", images, labels, compress=False)
    lbl.write_bytes(lbl.read_bytes() + b"\x00")
    with pytest.raises(ValueError, match="has trailing bytes"):
        load_mnist(isolated, split="test")


def test_wrong_magic_and_inconsistent_files(isolated):
    images, labels = tiny_mnist(4)
    img, lbl = write_split(isolated, "test", images, labels, compress=False)
    img.write_bytes(b"\x01\x02" + img.read_bytes()[2:])
    with pytest.raises(ValueError, match="not an IDX file: magic number 0x0102"):
        load_mnist(isolated, split="test")
    write_split(isolated, "test", images, labels[:3], compress=False)
    with pytest.raises(ValueError, match="4 images but 3 labels"):
        load_mnist(isolated, split="test")
    write_split(isolated, "test", images[:, :14], labels, compress=False)
    with pytest.raises(ValueError, match=r"images must be uint8 of shape \(n, 28, 28\)"):
        load_mnist(isolated, split="test")
    write_split(isolated, "test", images, np.full(4, 12, np.uint8), compress=False)
    with pytest.raises(ValueError, match="labels must be digits 0..9, found 12"):
        load_mnist(isolated, split="test")
    (isolated / "x.idx").write_bytes(b"\x00\x00")
    with pytest.raises(ValueError, match="shorter than the 4-byte magic"):
        read_idx(isolated / "x.idx")
    (isolated / "x.idx").write_bytes(b"\x00\x00\x08\x03\x00\x00")
    with pytest.raises(ValueError, match="truncated IDX header"):
        read_idx(isolated / "x.idx")


def test_sklearn_digits():
    pytest.importorskip("sklearn", reason="load_digits needs scikit-learn (the demos/test extras)")
    images, labels = load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.float64
    assert labels.shape == (1797,) and labels.dtype == np.uint8
    # the UCI optdigits test set: integer block counts 0..16, this many digits per class
    assert np.array_equal(images, np.round(images)) and images.min() == 0 and images.max() == 16
    assert np.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_search_order(isolated, monkeypatch):
    dirs = _paths.candidate_dirs("mnist")
    assert dirs[0].parts[-3:] == ("shared", "data", "mnist")
    assert dirs[-1] == isolated / "cache" / "neuroimc" / "mnist"
    assert _paths.download_dir("mnist") == isolated / "cache" / "neuroimc" / "mnist"
    monkeypatch.setenv(_paths.ENV_VAR, str(isolated / "root"))
    assert _paths.candidate_dirs("mnist") == [isolated / "root" / "mnist"]  # what is configured is what is read
    assert _paths.download_dir("mnist") == isolated / "root" / "mnist"
    assert _paths.candidate_dirs("mnist", isolated / "x") == [isolated / "x"]
