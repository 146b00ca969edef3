"""Data sets for the demos and benchmarks, read from local files (downloads only when asked).

* :func:`load_mnist` -- MNIST, 28 x 28 grey levels 0..255 (the Diehl & Cook 2015 benchmark);
* :func:`load_digits` -- scikit-learn's 8 x 8 digits, values 0..16 (ships in the wheel).

Both return ``(images, labels)`` with images ``(n, h, w)`` and labels ``uint8`` digits.
"""
from ._download import DownloadError
from ._idx import read_idx
from .digits import load_digits
from .mnist import MNIST_FILES, MNIST_MIRRORS, download_mnist, load_mnist, mnist_files

__all__ = ["DownloadError", "MNIST_FILES", "MNIST_MIRRORS", "download_mnist", "load_digits", "load_mnist",
           "mnist_files", "read_idx"]
