"""MNIST handwritten digits (LeCun, Cortes & Burges), the benchmark of Diehl & Cook (2015).

70,000 grey-level images of 28 x 28 pixels (0 = background, 255 = full ink), 60,000 for training
and 10,000 for testing, in LeCun's four IDX files.  Pixel ``(r, c)`` of an image becomes input
``28 * r + c`` when an image is flattened (C order) onto the rows of a crossbar.
"""
import os
from dataclasses import dataclass

import numpy as np

from . import _idx, _paths
from ._download import fetch

NAME = "mnist"
IMAGE_SHAPE = (28, 28)
N_CLASSES = 10

#: Mirrors holding LeCun's four files under their original names, tried in order.
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)


@dataclass(frozen=True)
class FileSpec:
    """Size in bytes and published digests of one original ``.gz`` file."""

    size: int
    md5: str
    sha256: str


#: The published sizes and checksums of LeCun's files (the MD5s torchvision checks).
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": FileSpec(9_912_422, "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                                           "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    "train-labels-idx1-ubyte.gz": FileSpec(28_881, "d53e105ee54ea40749a09fcbcd1e9432",
                                           "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    "t10k-images-idx3-ubyte.gz": FileSpec(1_648_877, "9fb629c4189551a2d022fa330f9573f3",
                                          "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    "t10k-labels-idx1-ubyte.gz": FileSpec(4_542, "ec29112dd5afa0611ce80d1b7f02629c",
                                          "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
}

SPLITS = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
_NPZ = "mnist.npz"
# Names a file may have on disk: LeCun's gzip, its unpacked form, and the shared folder's
# reconstruction of the training images (see load_mnist).
_VARIANTS = ("{}.gz", "{}", "{}.reconstructed.gz")


def _check_split(split):
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")


def _check_flag(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")


def _find_in(folder, split):
    """The files holding ``split`` in ``folder``: ("idx", images, labels), ("npz", file, None) or None."""
    found = []
    for stem in SPLITS[split]:
        hit = next((folder / v.format(stem) for v in _VARIANTS if (folder / v.format(stem)).is_file()), None)
        found.append(hit)
    if all(found):
        return ("idx", found[0], found[1])
    if (folder / _NPZ).is_file():
        return ("npz", folder / _NPZ, None)
    return None


def mnist_files(path=None, split="train"):
    """Locate the files of one MNIST split without reading them.

    Returns ``("idx", images_file, labels_file)`` or ``("npz", npz_file, None)``, or raises
    ``FileNotFoundError`` listing the folders searched (see :func:`load_mnist` for the order).
    """
    _check_split(split)
    tried = []
    for folder in _paths.candidate_dirs(NAME, path):
        hit = _find_in(folder, split)
        if hit is not None:
            return hit
        tried.append(str(folder) + ("" if folder.is_dir() else " (no such folder)"))
    names = " + ".join(_VARIANTS[0].format(s) for s in SPLITS[split])
    raise FileNotFoundError(
        f"MNIST {split} split not found: looked for {names} (or unpacked, or {_NPZ}) in\n  "
        + "\n  ".join(tried)
        + f"\nFix: pass path='folder/with/the/files', or set {_paths.ENV_VAR}=/data/root (holding mnist/), "
        "or call load_mnist(..., download=True) to fetch LeCun's files from a mirror"
    )


def download_mnist(path=None, splits=("train", "test"), mirrors=None, progress=True):
    """Fetch LeCun's IDX files for ``splits`` into a folder, verifying size, MD5 and SHA-256.

    The folder is ``path``, else ``$NEUROIMC_DATA/mnist``, else ``~/.cache/neuroimc/mnist``.  Files
    already present under their original names and matching the published MD5 are kept.  Each file
    is written atomically: an interrupted or corrupted download leaves no file behind.

    ``mirrors`` is a sequence of base URLs (default: those in ``$NEUROIMC_MNIST_MIRRORS``,
    whitespace separated, then :data:`MNIST_MIRRORS`).
    Returns the folder.
    """
    from ._download import file_digest

    splits = [splits] if isinstance(splits, str) else list(splits)
    for s in splits:
        _check_split(s)
    _check_flag("progress", progress)
    if mirrors is None:
        mirrors = _env_mirrors() + MNIST_MIRRORS
    elif isinstance(mirrors, str):
        mirrors = [mirrors]
    mirrors = list(mirrors)
    if not mirrors or not all(isinstance(m, str) and m for m in mirrors):
        raise ValueError(f"mirrors must be a non-empty sequence of base URLs, got {mirrors!r}")
    folder = _paths.download_dir(NAME, path)
    for s in splits:
        for stem in SPLITS[s]:
            name = stem + ".gz"
            spec = MNIST_FILES[name]
            dest = folder / name
            if dest.is_file() and file_digest(dest, "md5") == spec.md5:
                continue
            urls = [m if m.endswith("/") else m + "/" for m in mirrors]
            fetch([u + name for u in urls], dest, md5=spec.md5, sha256=spec.sha256, size=spec.size,
                  progress=progress)
    return folder


def load_mnist(path=None, split="train", download=False, progress=True, mirrors=None):
    """Load one MNIST split as ``(images, labels)``.

    Parameters
    ----------
    path : str or path-like, optional
        Folder holding the files.  Without it the folders searched are ``$NEUROIMC_DATA/mnist``,
        then ``../shared/data/mnist`` beside the repository, then ``~/.cache/neuroimc/mnist``.
        A folder may hold LeCun's IDX files (gzip-compressed or unpacked) or a Keras-layout
        ``mnist.npz`` (``x_train``, ``y_train``, ``x_test``, ``y_test``); the IDX files win.
    split : {"train", "test"}
        60,000 training or 10,000 test digits.
    download : bool
        If the split is not found, fetch it (see :func:`download_mnist`) instead of raising.
    progress : bool
        tqdm bar while downloading.
    mirrors : sequence of str, optional
        Base URLs to download from (default :data:`MNIST_MIRRORS`).

    Returns
    -------
    images : uint8 array (n, 28, 28)
        Grey levels, 0 (background) .. 255 (ink).
    labels : uint8 array (n,)
        Digit 0..9 of each image.

    Raises
    ------
    FileNotFoundError
        The split is in none of the folders searched (the message lists them and the fixes).
    ValueError
        A bad ``split``; or a file that is not what its name says: a damaged or truncated IDX or
        gzip file, an unreadable ``mnist.npz``, images that are not uint8 ``(n, 28, 28)``,
        labels that are not uint8 digits, or counts that differ.  The message names the file.
    TypeError
        ``path`` is not a str or path-like, or a flag is not a bool.
    OSError
        A file that cannot be read (e.g. ``PermissionError``), naming it; a failed download
        (:class:`~neuroimc.datasets.DownloadError`).

    Notes
    -----
    The project's shared copy (``shared/data/mnist``) holds LeCun's exact test images, test labels
    and training labels, but its *training images* (``train-images-idx3-ubyte.reconstructed.gz``,
    and ``x_train`` of its ``mnist.npz``) are a reconstruction from a PNG copy of MNIST: every
    pixel is within +-1 grey level of the original (97 % exact), class counts and labels are
    exact.  Accuracies trained on it are comparable to published MNIST results but the inputs
    are not bit-identical.  A folder with the original ``train-images-idx3-ubyte.gz`` is used as
    is; :func:`mnist_files` tells which files a call reads.
    """
    _check_split(split)
    _check_flag("download", download)
    _check_flag("progress", progress)
    try:
        kind, first, second = mnist_files(path, split)
    except FileNotFoundError:
        if not download:
            raise
        download_mnist(path, splits=split, mirrors=mirrors, progress=progress)
        kind, first, second = mnist_files(_paths.download_dir(NAME, path), split)
    if kind == "idx":
        images, labels = _idx.read_idx(first), _idx.read_idx(second)
        where = f"{first.name} / {second.name} in {first.parent}"
    else:
        images, labels = _read_npz(first, split)
        where = str(first)
    return _validated(images, labels, where)


def _read_npz(file, split):
    key = "train" if split == "train" else "test"
    try:
        loaded = np.load(file, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError(f"{file}: holds a single .npy array, not an .npz archive of "
                             "x_train, y_train, x_test, y_test")
        with loaded as npz:
            missing = {f"x_{key}", f"y_{key}"} - set(npz.files)
            if missing:
                raise ValueError(f"{file}: missing arrays {sorted(missing)} (has {sorted(npz.files)}); "
                                 "expected the Keras layout x_train, y_train, x_test, y_test")
            arrays = npz[f"x_{key}"], npz[f"y_{key}"]  # each read (and checked) here, inside the archive
        for name, arr in zip((f"x_{key}", f"y_{key}"), arrays):
            if not isinstance(arr, np.ndarray):  # NpzFile hands back raw bytes for a member that is not .npy
                raise ValueError(f"{file}: member {name} is not a .npy array ({len(arr)} bytes of other data)")
        return arrays
    except MemoryError:
        raise
    except ValueError as exc:
        if str(exc).startswith(f"{file}: "):
            raise
        raise ValueError(f"{file}: not a readable .npz archive: {exc}") from None
    except Exception as exc:  # noqa: BLE001
        # a damaged archive can fail in zipfile, zlib or numpy's format parser with almost any
        # exception type (BadZipFile, EOFError, zlib.error, OSError on a bad seek, ...); all mean
        # the same thing to the caller, and the message must name the file
        raise ValueError(f"{file}: not a readable .npz archive: {type(exc).__name__}: {exc}") from None


def _validated(images, labels, where):
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"{where}: images must be uint8 of shape (n, 28, 28), got {images.dtype} {images.shape}")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(f"{where}: labels must be a uint8 vector, got {labels.dtype} {labels.shape}")
    if labels.shape[0] != images.shape[0]:
        raise ValueError(f"{where}: {images.shape[0]} images but {labels.shape[0]} labels")
    if labels.size and labels.max() >= N_CLASSES:
        raise ValueError(f"{where}: labels must be digits 0..9, found {int(labels.max())}")
    return images, labels


def _env_mirrors():
    """Extra mirrors from ``$NEUROIMC_MNIST_MIRRORS`` (whitespace separated), tried first."""
    return tuple(os.environ.get("NEUROIMC_MNIST_MIRRORS", "").split())
