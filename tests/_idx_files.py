"""Tiny IDX files built byte by byte (struct + gzip), independent of neuroimc's reader."""
import gzip
import struct

import numpy as np


def idx_bytes(array, code=0x08):
    array = np.asarray(array)
    header = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(">u1" if code == 0x08 else array.dtype.newbyteorder(">")).tobytes()


def tiny_mnist(n=5, seed=0):
    """n random 28x28 uint8 images and labels 0..9."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8)


def write_split(folder, split, images, labels, compress=True):
    stems = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}[split]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, arr in zip(stems, (images, labels)):
        data = idx_bytes(arr)
        path = folder / (stem + (".gz" if compress else ""))
        path.write_bytes(gzip.compress(data) if compress else data)
        paths.append(path)
    return paths
