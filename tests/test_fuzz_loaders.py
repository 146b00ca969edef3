"""Property-based tests of the data loaders and the spike encoders.

``read_idx`` on arbitrary, truncated, corrupted and wrong-magic files (plain and
gzip-compressed), ``load_mnist(path=...)`` on folders holding junk under the
names it looks for, and the encoders of :mod:`neuroimc.encoding` on arbitrary
arrays (NaN, inf, negative, empty, wrong shapes and dtypes) must each give a
valid result or one of the exceptions their docstrings document --
``ValueError``/``TypeError`` naming the parameter, or an ``OSError`` subclass
for a file that cannot be read -- whose message names the file or the
parameter.  Never another exception, and never a hang (every call runs under
a wall-clock limit).  Accepted results are checked against independent
readings: the IDX header parsed here with ``struct``, the encoders' documented
properties (rates proportional to intensity, one latency spike per input, the
delta staircase within a threshold of the signal).

The reproducers at the end are the defects this fuzzing found (all fixed).
``NEUROIMC_FUZZ_EXAMPLES=2000 pytest tests/test_fuzz_loaders.py`` searches deeper.
"""
import contextlib
import gzip
import io
import os
import re
import signal
import struct
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from neuroimc.datasets import load_mnist, read_idx
from neuroimc.encoding import (PresentationSchedule, SpikeTrains, delta_decode, delta_encode, latency_encode,
                               pixel_rates, rate_encode)

FUZZ = settings(max_examples=int(os.environ.get("NEUROIMC_FUZZ_EXAMPLES", 150)), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
LIMIT_S = 10.0  # a call that takes this long counts as a hang (normal calls take milliseconds)

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MNIST_NAMES = [stem + suffix
               for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
               for suffix in (".gz", "", ".reconstructed.gz")] + ["mnist.npz"]


class Hang(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds=LIMIT_S):
    """Raise ``Hang`` if the block runs longer than ``seconds`` (SIGALRM; main thread, POSIX)."""
    if not hasattr(signal, "setitimer"):  # pragma: no cover - Windows: no limit
        yield
        return

    def alarm(signum, frame):
        raise Hang(f"call did not return within {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def outcome(call, *names, oserror=False):
    """``call()``, or ``None`` if it raised a documented exception whose message names one of ``names``.

    Documented: ``ValueError``/``TypeError``, and with ``oserror=True`` an
    ``OSError`` subclass.  Anything else, a message naming none of ``names``,
    or a hang fails the test.
    """
    allowed = (ValueError, TypeError, OSError) if oserror else (ValueError, TypeError)
    try:
        with time_limit():
            return call()
    except Hang:
        raise AssertionError(f"hang: {call}") from None
    except allowed as exc:
        message = str(exc)
        assert any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(str(n))}(?![A-Za-z0-9_])", message) for n in names), \
            f"{type(exc).__name__} names none of {names}: {message}"
        return None


# ====================================================================== IDX files
def idx_encode(array, code):
    """IDX bytes of ``array`` (independent of neuroimc's reader)."""
    array = np.asarray(array)
    header = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(IDX_TYPES[code]).tobytes()


@st.composite
def idx_files(draw):
    """Valid IDX bytes, maybe gzipped, then maybe damaged; returns (bytes, original array or None)."""
    code = draw(st.sampled_from(sorted(IDX_TYPES)))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5))
    array = draw(hnp.arrays(np.dtype(IDX_TYPES[code]).newbyteorder("="), shape))
    raw = idx_encode(array, code)
    if draw(st.booleans()):
        raw = gzip.compress(raw, mtime=0)
    damage = draw(st.sampled_from(["none", "truncate", "flip", "append", "magic", "splice"]))
    if damage == "none":
        return raw, array
    if damage == "truncate":
        raw = raw[:draw(st.integers(0, max(len(raw) - 1, 0)))]
    elif damage == "flip":
        buf = bytearray(raw)
        for _ in range(draw(st.integers(1, 4))):
            if buf:
                i = draw(st.integers(0, len(buf) - 1))
                buf[i] ^= draw(st.integers(1, 255))
        raw = bytes(buf)
    elif damage == "append":
        raw = raw + draw(st.binary(min_size=1, max_size=16))
    elif damage == "magic":
        raw = draw(st.binary(min_size=4, max_size=4)) + raw[4:]
    else:  # a header claiming any shape over whatever data follows
        ndim = draw(st.integers(0, 6))
        dims = draw(st.lists(st.sampled_from([0, 1, 2, 3, 255, 256, 2**16, 2**31, 2**32 - 1]) | st.integers(0, 9),
                             min_size=ndim, max_size=ndim))
        raw = struct.pack(">HBB", 0, code, ndim) + struct.pack(f">{ndim}I", *dims) + draw(st.binary(max_size=32))
    return raw, None


def check_idx_result(array, raw):
    """An accepted file: shape, dtype and values as an independent reading of the (unzipped) bytes says."""
    data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    assert zero == 0 and code in IDX_TYPES
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    assert array.shape == shape
    assert array.dtype == np.dtype(IDX_TYPES[code]).newbyteorder("=")
    expected = np.frombuffer(data, IDX_TYPES[code], offset=4 + 4 * ndim).reshape(shape)
    np.testing.assert_array_equal(array, expected)


@FUZZ
@given(st.binary(max_size=64) | idx_files().map(lambda t: t[0]))
def test_read_idx_on_any_bytes(raw):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "file.idx"
        path.write_bytes(raw)
        array = outcome(lambda: read_idx(path), str(path), oserror=True)
    if array is not None:
        check_idx_result(array, raw)


@FUZZ
@given(idx_files())
def test_read_idx_on_valid_and_damaged_files(case):
    raw, original = case
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "data-idx3-ubyte.gz"
        path.write_bytes(raw)
        array = outcome(lambda: read_idx(path), str(path), oserror=True)
    if original is not None:  # undamaged: read back exactly
        assert array is not None
        np.testing.assert_array_equal(array, original)
        assert array.dtype == original.dtype and array.shape == original.shape
    elif array is not None:
        check_idx_result(array, raw)


@FUZZ
@given(st.one_of(st.none(), st.integers(), st.floats(), st.binary(max_size=4), st.lists(st.text(max_size=2)),
                 st.sampled_from(["", ".", "no/such/file.idx"])))
def test_read_idx_path_argument(path):
    assert outcome(lambda: read_idx(path), "path", str(path), oserror=True) is None


# ====================================================================== MNIST folders
def _npz_bytes(arrays, compressed=False):
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


@st.composite
def junk_content(draw):
    """Bytes a file named like an MNIST file might hold."""
    kind = draw(st.sampled_from(["bytes", "idx", "mnist_idx", "npz", "npy", "zip", "pickle"]))
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    if kind == "idx":
        return draw(idx_files())[0]
    if kind == "mnist_idx":  # right layout, maybe wrong sizes or values
        n = draw(st.integers(0, 3))
        which = draw(st.sampled_from(["images", "labels"]))
        shape = (n, 28, 28) if which == "images" else (n,)
        arr = draw(hnp.arrays(np.uint8, shape))
        raw = idx_encode(arr, 0x08)
        return gzip.compress(raw, mtime=0) if draw(st.booleans()) else raw
    if kind == "npz":
        keys = draw(st.lists(st.sampled_from(["x_train", "y_train", "x_test", "y_test", "other"]), unique=True))
        arrays = {k: draw(hnp.arrays(st.sampled_from([np.uint8, np.int64, np.float32, np.bool_]),
                                     hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)))
                  for k in keys}
        raw = _npz_bytes(arrays, compressed=draw(st.booleans()))
        if draw(st.booleans()) and raw:
            cut = draw(st.integers(0, len(raw) - 1))
            raw = raw[:cut] + draw(st.binary(max_size=8))
        return raw
    if kind == "npy":  # a plain .npy where a .npz is expected
        buf = io.BytesIO()
        np.save(buf, draw(hnp.arrays(np.uint8, draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3)))))
        return buf.getvalue()
    if kind == "zip":  # a zip archive whose members are not arrays
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for name in draw(st.lists(st.sampled_from(["x_test.npy", "y_test.npy", "a.txt"]), unique=True)):
                z.writestr(name, draw(st.binary(max_size=16)))
        return buf.getvalue()
    buf = io.BytesIO()  # an object array: needs pickle, which loading must refuse
    np.savez(buf, x_test=np.array([{"a": 1}, None], dtype=object), y_test=np.zeros(2, np.uint8))
    return buf.getvalue()


@FUZZ
@given(st.dictionaries(st.sampled_from(MNIST_NAMES), junk_content(), max_size=5), st.sampled_from(["train", "test"]))
def test_load_mnist_on_a_folder_of_junk(files, split):
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        for name, raw in files.items():
            (folder / name).write_bytes(raw)
        result = outcome(lambda: load_mnist(path=folder, split=split, progress=False), str(folder), oserror=True)
    if result is not None:
        images, labels = result
        assert images.dtype == np.uint8 and images.ndim == 3 and images.shape[1:] == (28, 28)
        assert labels.dtype == np.uint8 and labels.shape == (images.shape[0],)
        assert labels.size == 0 or labels.max() <= 9


# ====================================================================== encoders
finite_or_not = st.floats(allow_nan=True, allow_infinity=True)
arrays_any = hnp.arrays(st.sampled_from([np.uint8, np.int16, np.int64, np.float32, np.float64, np.bool_]),
                        hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4),
                        elements=None)
arrays_junk = st.one_of(
    arrays_any,
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4), elements=finite_or_not),
    st.lists(st.lists(st.floats(0, 255), max_size=3), max_size=3),  # ragged or not
    st.sampled_from([None, "image", 3.0, [[1 + 2j]], np.array([["a"]]), np.array([[object()]])]),
)
# time parameters: junk, but never so large that a correct encoder would need gigabytes
times_junk = st.one_of(st.floats(1e-4, 0.05), st.sampled_from([0.0, -1e-3, float("nan"), float("inf"), "1", None]))


def _image_batch(images):
    """(n_images, n_inputs) float view of images an encoder accepted (they were array-like)."""
    arr = np.asarray(images, dtype=np.float64)
    return arr.reshape(arr.shape[0], int(np.prod(arr.shape[1:])))


@FUZZ
@given(arrays_junk, st.one_of(st.floats(0, 1e3), finite_or_not), st.one_of(st.floats(1e-3, 1e3), finite_or_not))
def test_pixel_rates(images, max_rate, full_scale):
    rates = outcome(lambda: pixel_rates(images, max_rate=max_rate, full_scale=full_scale),
                    "images", "max_rate", "full_scale")
    if rates is not None:
        x = _image_batch(images)
        assert rates.shape == x.shape and np.all(np.isfinite(rates))
        assert np.all((rates >= 0) & (rates <= max_rate * (1 + 1e-12)))
        # reference in extended precision, where x / full_scale does not lose digits to subnormals
        exact = x.astype(np.longdouble) / np.longdouble(full_scale) * np.longdouble(max_rate)
        # below 1e-300 of the full-scale rate the intensity ratio is subnormal: digits lost there do not matter
        np.testing.assert_allclose(rates, exact.astype(np.float64), rtol=1e-12, atol=1e-300 * max_rate)


def check_trains(trains, n):
    assert isinstance(trains, SpikeTrains) and trains.n == n
    assert trains.indices.dtype == np.int64 and trains.indices.shape == trains.times.shape
    assert np.all((trains.indices >= 0) & (trains.indices < max(n, 1)))
    assert np.all(np.isfinite(trains.times)) and np.all(np.diff(trains.times) >= 0)


@FUZZ
@given(arrays_junk, times_junk, st.floats(0, 200) | finite_or_not, times_junk, times_junk, times_junk,
       st.integers(0, 3))
def test_rate_encode(images, dt, max_rate, duration, rest, t_start, seed):
    trains = outcome(lambda: rate_encode(images, dt=dt, max_rate=max_rate, duration=duration, rest=rest,
                                         full_scale=255.0, t_start=t_start, seed=seed),
                     "images", "dt", "max_rate", "duration", "rest", "t_start", "max_rate * dt")
    if trains is not None:
        x = _image_batch(images)
        check_trains(trains, x.shape[1])
        steps = trains.times / dt
        np.testing.assert_allclose(steps, np.round(steps), atol=1e-6)
        silent = x[:, trains.indices] if x.shape[0] else np.zeros((0, trains.indices.size))
        assert trains.indices.size == 0 or np.all(silent.max(axis=0) > 0)  # dark inputs never fire


@FUZZ
@given(arrays_junk, times_junk, times_junk, times_junk, st.sampled_from(["linear", "rc", "log", 3]),
       st.none() | times_junk, st.floats(0, 1) | finite_or_not)
def test_latency_encode(images, duration, rest, t_start, method, tau, threshold):
    trains = outcome(lambda: latency_encode(images, duration=duration, rest=rest, full_scale=255.0, t_start=t_start,
                                            method=method, tau=tau, threshold=threshold),
                     "images", "duration", "rest", "t_start", "method", "tau", "threshold")
    if trains is not None:
        x = _image_batch(images)
        check_trains(trains, x.shape[1])
        # one spike per input and image at most, from inputs with positive intensity only (all of them: linear)
        fires = (x > 0).sum(axis=0)
        counts = trains.counts()
        assert np.all(counts == fires) if method == "linear" else np.all(counts <= fires)
        if len(trains):
            assert t_start <= trains.times.min() and trains.times.max() <= t_start + x.shape[0] * (duration + rest)


@FUZZ
@given(arrays_junk, st.one_of(st.floats(1e-3, 10), finite_or_not, arrays_any),
       st.sampled_from(["dt", "times", "both", "neither"]), st.floats(1e-4, 1.0))
def test_delta_encode(signal, threshold, timing, dt):
    kwargs = {}
    try:
        n_samples = np.asarray(signal, dtype=np.float64).shape[0]
    except (ValueError, TypeError, IndexError):  # ragged, not numbers, or 0-d: any sample count will do
        n_samples = 3
    if timing in ("dt", "both"):
        kwargs["dt"] = dt
    if timing in ("times", "both"):
        kwargs["times"] = np.arange(n_samples) * dt
    trains = outcome(lambda: delta_encode(signal, threshold, **kwargs), "signal", "threshold", "dt", "times")
    if trains is not None:
        x = np.asarray(signal, dtype=np.float64)
        x = x.reshape(x.shape[0], -1)
        check_trains(trains, 2 * x.shape[1])
        theta = np.broadcast_to(np.asarray(threshold, dtype=np.float64), (x.shape[1],))
        t = np.arange(x.shape[0]) * dt
        staircase = delta_decode(trains, theta, x[0], t)
        # the documented guarantee: the staircase stays within one threshold of the signal at every sample
        with np.errstate(over="ignore"):  # a threshold near the largest double: any slack will do
            slack = theta * (1 + 1e-9) + 1e-9 * np.abs(x).max(axis=0)
        assert np.all(np.abs(staircase - x) <= slack)


@FUZZ
@given(st.one_of(st.none(), st.integers(), arrays_any, st.just(SpikeTrains(3, np.zeros(0, np.int64), np.zeros(0)))),
       st.floats(1e-3, 1) | finite_or_not, st.floats(-1, 1) | finite_or_not, arrays_junk)
def test_delta_decode(spikes, threshold, initial, t):
    out = outcome(lambda: delta_decode(spikes, threshold, initial, t), "spikes", "threshold", "initial", "t")
    if out is not None:
        assert out.shape == (np.size(t), spikes.n // 2) and np.all(out == initial)


@FUZZ
@given(arrays_junk, st.integers(0, 9))
def test_presentation_schedule_rates(image, attempt):
    rates = outcome(lambda: PresentationSchedule().rates(image, attempt), "image", "images", "attempt")
    if rates is not None:
        assert rates.shape == (np.size(image),) and np.all((rates >= 0) & np.isfinite(rates))


# ====================================================================== reproducers of the defects found
def test_reproducer_idx_shape_product_wrapping_to_zero(tmp_path):
    # (2^16)^4 = 2^64 wrapped to 0 in int64, so an empty data section passed the size check
    path = tmp_path / "wrap.idx"
    path.write_bytes(struct.pack(">HBB4I", 0, 0x08, 4, *(2**16,) * 4))
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*IDX data truncated"):
        read_idx(path)


def test_reproducer_idx_empty_array_with_overflowing_sizes(tmp_path):
    path = tmp_path / "huge-empty.idx"
    path.write_bytes(struct.pack(">HBB4I", 0, 0x08, 4, 0, 2, 2**31, 2**31))
    with pytest.raises(ValueError, match=re.escape(str(path)) + r".*shape \(0, 2, 2147483648, 2147483648\) cannot"):
        read_idx(path)


def test_reproducer_read_idx_bad_path_types(tmp_path):
    with pytest.raises(TypeError, match="path must be a str or os.PathLike file, got 3"):
        read_idx(3)
    with pytest.raises(ValueError, match="path .* contains a NUL byte"):
        read_idx("a\0b")


@pytest.mark.parametrize("content, message", [
    (b"PK\x03\x04junk", "not a readable .npz archive"),
    (b"\x93NUMPY\x01\x00junk", "not a readable .npz archive"),
    (b"plain junk", "not a readable .npz archive"),
    ("npy", "holds a single .npy array, not an .npz archive"),
    ("object", "not a readable .npz archive"),
])
def test_reproducer_load_mnist_junk_npz(tmp_path, content, message):
    path = tmp_path / "mnist.npz"
    if content == "npy":
        np.save(path.with_suffix(".tmp.npy"), np.zeros((2, 28, 28), np.uint8))
        path.write_bytes(path.with_suffix(".tmp.npy").read_bytes())
    elif content == "object":
        with open(path, "wb") as fh:
            np.savez(fh, x_test=np.array([None], dtype=object), y_test=np.zeros(1, np.uint8))
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*" + re.escape(message)):
        load_mnist(path=tmp_path, split="test")


def test_reproducer_npz_member_that_is_not_an_array(tmp_path):
    path = tmp_path / "mnist.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("x_test.npy", b"")
        z.writestr("y_test.npy", b"")
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": member x_test is not a .npy array"):
        load_mnist(path=tmp_path, split="test")


def test_reproducer_empty_image_batches():
    assert pixel_rates(np.zeros((0, 28, 28))).shape == (0, 784)
    assert len(rate_encode(np.zeros((0, 4)), dt=1e-4)) == 0
    assert len(latency_encode(np.zeros((0, 2, 2)))) == 0


def test_reproducer_faint_latency_inputs_fire_inside_their_window():
    trains = latency_encode(np.array([[5e-324, 1e-20]]), duration=0.1, rest=0.0)
    assert trains.counts().tolist() == [1, 1]  # 5e-324 / 255 underflows to 0, yet the input is positive
    assert np.all(trains.times < 0.1)  # 1 - x rounds to 1: still before the next image's window


def test_reproducer_rate_overflow_in_pixel_rates():
    rates = pixel_rates(np.array([[0.0, 1e-10]]), max_rate=1e308, full_scale=1e-10)
    np.testing.assert_array_equal(rates, [[0.0, 1e308]])


def test_reproducer_step_count_overflow():
    with pytest.raises(ValueError, match="duration / dt is too many time steps"):
        rate_encode(np.ones((1, 2)), dt=1e-300, max_rate=1.0, duration=1e10)
    with pytest.raises(ValueError, match="t_start / dt is too many time steps"):
        rate_encode(np.ones((1, 2)), dt=1e-4, t_start=1e300)


def test_reproducer_delta_encode_without_channels_or_with_too_many_spikes():
    with pytest.raises(ValueError, match="signal must have at least one channel"):
        delta_encode(np.zeros((5, 0)), 0.1, dt=1e-3)
    with pytest.raises(ValueError, match="threshold .* would give about 3e\\+12 spikes"):
        delta_encode(np.array([0.0, 1.0, -1.0]), 1e-12, dt=1e-3)
    with pytest.raises(ValueError, match="threshold .* would give"):
        delta_encode(np.array([-1e308, 1e308]), 1.0, dt=1e-3)  # the step itself overflows


def test_reproducer_delta_sample_times_overflow():
    with pytest.raises(ValueError, match="dt .* makes the sample times overflow"):
        delta_encode(np.zeros(3), 0.1, dt=1e308)


def test_reproducer_delta_decode_needs_spike_trains():
    with pytest.raises(TypeError, match="spikes must be the SpikeTrains that delta_encode returns, got ndarray"):
        delta_decode(np.zeros(4), 0.1, 0.0, [0.0])


def test_reproducer_schedule_rates_ragged_image():
    with pytest.raises(TypeError, match="image must be array-like"):
        PresentationSchedule().rates([[1, 2], [3]])
