"""The IDX file format of LeCun's MNIST distribution, read and validated.

An IDX file is a big-endian header followed by the raw array:

* bytes 0-1: zero;
* byte 2: element type (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64);
* byte 3: number of dimensions ``d``;
* then ``d`` big-endian uint32 sizes, then ``prod(sizes)`` elements, big-endian, C order.

MNIST images are ``0x00000803`` (uint8, 3 dims: n, 28, 28) and labels ``0x00000801`` (uint8, n).
Files may be gzip-compressed (recognised by the gzip magic bytes, not by the file name).  Every
inconsistency -- wrong magic, truncated or over-long data, a damaged gzip stream -- raises a
``ValueError`` naming the file, so a half-downloaded file cannot pass as a smaller data set.
"""
import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

DTYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
          0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_GZIP_MAGIC = b"\x1f\x8b"


def checked_path(path, what="file"):
    """``path`` as a ``Path``; ``TypeError``/``ValueError`` naming ``path`` if it cannot name a file."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike {what}, got {path!r} ({type(path).__name__})")
    try:
        text = os.fspath(path)
    except TypeError as exc:  # a PathLike whose __fspath__ misbehaves
        raise TypeError(f"path must be a str or os.PathLike {what}, got {path!r}: {exc}") from None
    if not isinstance(text, str):
        raise TypeError(f"path must be a str or os.PathLike {what} naming a text path, got {path!r} "
                        f"(it gives {type(text).__name__})")
    if not text:
        raise ValueError(f"path must name a {what}, got an empty string")
    if "\0" in text:
        raise ValueError(f"path {text!r} contains a NUL byte")
    return Path(text)


def read_bytes(path):
    """The file's content, gunzipped if it is a gzip stream."""
    path = checked_path(path)
    raw = path.read_bytes()  # OSError (FileNotFoundError, IsADirectoryError, ...) names the file
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError as exc:  # the stream stops before its end marker
        raise ValueError(f"{path}: gzip stream is truncated ({len(raw)} bytes on disk): {exc}; "
                         "delete the file and download it again") from None
    except (gzip.BadGzipFile, zlib.error) as exc:  # bad header, bad deflate data, CRC or length mismatch
        raise ValueError(f"{path}: gzip stream is corrupted: {exc}; delete the file and download it again") from None


def parse_idx(raw, source="<bytes>"):
    """Parse IDX bytes into a native-endian numpy array, validating the header against the data size."""
    if len(raw) < 4:
        raise ValueError(f"{source}: not an IDX file: {len(raw)} bytes, shorter than the 4-byte magic number")
    zero, code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or code not in DTYPES:
        raise ValueError(f"{source}: not an IDX file: magic number 0x{raw[:4].hex()} "
                         f"(expected 0x0000TTDD with type TT in {{{', '.join(f'{c:02x}' for c in DTYPES)}}})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{source}: truncated IDX header: {ndim} dimensions need {header} bytes, file has {len(raw)}")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = DTYPES[code]
    # exact integer product: in int64 e.g. (2^16)^4 = 2^64 wraps to 0 and an empty file would pass
    expected = math.prod(shape) * dtype.itemsize
    found = len(raw) - header
    if found != expected:
        what = "truncated" if found < expected else "has trailing bytes"
        raise ValueError(f"{source}: IDX data {what}: header says shape {shape} of {dtype.name} "
                         f"({expected} bytes), found {found} bytes after the header")
    try:
        data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    except ValueError as exc:  # an empty array whose other sizes overflow numpy's index type: (0, 2^31, 2^31, ...)
        raise ValueError(f"{source}: IDX header shape {shape} cannot be an array: {exc}") from None
    return data.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path):
    """Read an IDX file (plain or gzip-compressed) into a native-endian numpy array.

    Raises
    ------
    TypeError
        ``path`` is not a str or ``os.PathLike``.
    ValueError
        The content is not one complete IDX file: wrong magic number, header or data truncated,
        trailing bytes, a damaged gzip stream; or ``path`` is empty or holds a NUL byte.  The
        message names the file.
    OSError
        The file cannot be read (``FileNotFoundError``, ``IsADirectoryError``,
        ``PermissionError``, ...); the message names the file.
    """
    path = checked_path(path)
    return parse_idx(read_bytes(path), source=str(path))
