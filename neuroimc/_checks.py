"""Argument validation shared by every public constructor.

Each check raises ``ValueError``/``TypeError`` whose message names the
parameter, shows the offending value and says what is allowed, so that a bad
argument is reported where the user wrote it, never deep inside a kernel.
"""
import numbers

import numpy as np


def _show(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def real(name, value, *, low=None, high=None, low_open=False, high_open=False, allow_inf=False):
    """A finite (or, if allowed, infinite) real scalar within ``[low, high]`` (bounds optional, open if asked)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_show(value)} ({type(value).__name__})")
    value = float(value)
    if not (np.isfinite(value) or (allow_inf and np.isinf(value))):
        raise ValueError(f"{name} must be finite{' or infinite' if allow_inf else ''}, got {value}")
    _bounds(name, value, low, high, low_open, high_open)
    return value


def positive(name, value):
    return real(name, value, low=0.0, low_open=True)


def non_negative(name, value):
    return real(name, value, low=0.0)


def integer(name, value, *, low=None, high=None):
    """An integral scalar (Python or numpy int, not bool) within ``[low, high]``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {_show(value)} ({type(value).__name__})")
    value = int(value)
    _bounds(name, value, low, high, False, False)
    return value


def _bounds(name, value, low, high, low_open, high_open):
    if low is not None and (value < low or (low_open and value == low)):
        op = ">" if low_open else ">="
        raise ValueError(f"{name} must be {op} {low}, got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        op = "<" if high_open else "<="
        raise ValueError(f"{name} must be {op} {high}, got {value}")


def real_array(name, value, *, shape=None, ndim=None, low=None, high=None, low_open=False, allow_inf=False):
    """A float64 array of finite values (or infinite, if allowed), optionally with a fixed shape or ndim and bounds."""
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be array-like of real numbers: {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must hold real numbers, got complex dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    bad = np.isnan(arr) if allow_inf else ~np.isfinite(arr)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} must be {'a number' if allow_inf else 'finite'}, found {arr[where]} at index {where}")
    if low is not None and arr.size:
        m = arr.min()
        if m < low or (low_open and m == low):
            op = ">" if low_open else ">="
            raise ValueError(f"every element of {name} must be {op} {low}, found {m}")
    if high is not None and arr.size and arr.max() > high:
        raise ValueError(f"every element of {name} must be <= {high}, found {arr.max()}")
    return arr


def per_neuron(name, value, n, *, low=None, low_open=False, allow_inf=False):
    """A scalar or a length-``n`` array, returned as a float64 array of length ``n``."""
    try:
        scalar = np.ndim(value) == 0
    except ValueError:  # ragged nested sequences
        raise TypeError(f"{name} must be a scalar or have shape ({n},), got a ragged sequence {_show(value)}") from None
    if scalar:
        real(name, value, low=low, low_open=low_open, allow_inf=allow_inf)
    arr = real_array(name, value, low=low, low_open=low_open, allow_inf=allow_inf)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"{name} must be a scalar or have shape ({n},), got shape {arr.shape}")
    return arr.copy()


def choice(name, value, allowed):
    try:
        known = value in allowed
    except TypeError:  # unhashable (a list...): not one of the allowed keys
        known = False
    if not known:
        raise ValueError(f"{name} must be one of {sorted(allowed)}, got {_show(value)}")
    return value
