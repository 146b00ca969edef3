"""Memory read bandwidth of one core, and what it allows an event-driven engine.

An input spike on row ``i`` adds row ``W[i, :]`` to the synaptic currents: one
synaptic event reads one weight.  However the rest is organised, the rate of
synaptic events cannot exceed ``read bandwidth / bytes per weight`` (4 for
float32, 8 for float64).  The bandwidth depends on where the weights live:
in the last-level cache (LLC) when the matrix fits, otherwise in DRAM.

Measurements, single-threaded like the row reads of both simulators:

* ``stream_read_GBps``: a vectorised streaming read (sum into 64 independent
  accumulators) of a float32 array that fits in L2, one that fits in the LLC
  and one far larger than it (DRAM), for context;
* per benchmark size and weight dtype, the same streaming read of an array of
  exactly the weight matrix's size: bandwidth / bytes per weight is the bound
  on synaptic events/s (every row is read about once per 50 ms, so the
  matrix sits at the same cache level as the swept array, and reading rows in
  spike order cannot beat a prefetched sequential sweep of the same bytes);
* ``row_add_events_per_s``: the bare kernel ``for row in spiking_rows: I += W[row]`` for
  each benchmark size, with the rows of a 20 Hz Bernoulli process (the same
  order as the engine: by step, then by input) — the practical ceiling of an
  event-driven propagation loop written in numba.
"""
import os
import time

import numpy as np
from numba import njit

import _bench_net as bn


_LANES = 64  # independent accumulators: the loop vectorises and is limited by loads, not by add latency


@njit(fastmath=True)
def _stream(blocks, acc):
    for i in range(blocks.shape[0]):
        for j in range(_LANES):
            acc[j] += blocks[i, j]


@njit(fastmath=True)
def _row_add(W, rows, I):
    n_out = W.shape[1]
    for r in rows:
        for j in range(n_out):
            I[j] += W[r, j]


def llc_bytes():
    """Size of the largest CPU cache of cpu0 (bytes), from sysfs; 0 if unknown."""
    best = 0
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        entries = [e for e in os.listdir(base) if e.startswith("index")]
    except OSError:
        return 0
    for entry in entries:
        try:
            with open(os.path.join(base, entry, "size")) as fh:
                txt = fh.read().strip()
            mult = {"K": 1024, "M": 1024**2, "G": 1024**3}.get(txt[-1], 1)
            best = max(best, int(txt.rstrip("KMG")) * mult)
        except (OSError, ValueError, IndexError):
            continue
    return best


def _best_time(fn, min_total=0.3, min_reps=3):
    fn()  # compile / fault the pages in
    times = []
    t_end = time.perf_counter() + min_total
    while len(times) < min_reps or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def stream_read(nbytes, min_total=0.3):
    """Best single-core read bandwidth (bytes/s) streaming through a float32 array of ``nbytes``."""
    blocks = np.ones((max(nbytes // (4 * _LANES), 16), _LANES), np.float32)
    acc = np.zeros(_LANES, np.float32)
    return blocks.nbytes / _best_time(lambda: _stream(blocks, acc), min_total=min_total)


def spiking_rows(n_in, duration, seed=0):
    """Input indices of a Bernoulli(rate*dt) process over (step, input), in step-then-input order."""
    rng = np.random.default_rng(seed)
    p = bn.RATE * bn.DT
    n_trials = int(round(duration / bn.DT)) * n_in
    n_draw = int(n_trials * p + 10 * np.sqrt(n_trials * p) + 100)
    pos = np.cumsum(rng.geometric(p, n_draw)) - 1
    pos = pos[pos < n_trials]
    return (pos % n_in).astype(np.int64)


def row_add_rate(n_in, n_out, dtype, duration=1.0, min_total=0.2):
    """Synaptic events per second of the bare row-add kernel for one size and weight dtype."""
    W = np.random.default_rng(0).uniform(0, 1, (n_in, n_out)).astype(dtype)
    rows = spiking_rows(n_in, duration)
    I = np.zeros(n_out, dtype)
    return rows.size * n_out / _best_time(lambda: _row_add(W, rows, I), min_total=min_total)


def measure(spec):
    """Stream bandwidths and, per size of ``spec["sizes"]`` (list of [n_in, n_out]) and weight dtype,
    the bound and the row-add rate."""
    llc = llc_bytes()
    t_min = float(spec.get("min_time", 0.3))  # seconds of repetitions per figure (the best one counts)
    dram_bytes = int(spec.get("dram_bytes", max(512 * 1024**2, 16 * llc)))
    llc_probe = llc // 4 if llc else 8 * 1024**2
    levels = {
        "L2 (256 KiB)": stream_read(256 * 1024, t_min) / 1e9,
        f"LLC ({llc_probe / 1024**2:g} MiB)": stream_read(llc_probe, t_min) / 1e9,
        f"DRAM ({dram_bytes // 1024**2} MiB)": stream_read(dram_bytes, t_min) / 1e9,
    }
    per_size = []
    for n_in, n_out in spec["sizes"]:
        for dtype in (np.float32, np.float64):
            itemsize = np.dtype(dtype).itemsize
            gbps = stream_read(n_in * n_out * itemsize, t_min) / 1e9
            per_size.append({
                "n_in": n_in, "n_out": n_out, "dtype": np.dtype(dtype).name, "weight_bytes": n_in * n_out * itemsize,
                "stream_read_GBps": gbps, "bound_events_per_s": gbps * 1e9 / itemsize,
                "row_add_events_per_s": row_add_rate(n_in, n_out, dtype, min_total=t_min),
            })
    return {
        "what": ("single-core streaming read (numba, fastmath, 64 independent accumulators) of an array of the "
                 "weight matrix's size and dtype -> bound = bandwidth / bytes per weight; bare numba row-add kernel "
                 "I += W[row] over the rows of a 20 Hz Bernoulli process, 1 s"),
        "llc_bytes": llc,
        "stream_read_GBps": levels,
        "per_size": per_size,
    }


def lookup(bw, n_in, n_out, itemsize):
    """The per-size entry of a :func:`measure` result for a weight of ``itemsize`` bytes, or None."""
    dtype = {4: "float32", 8: "float64"}.get(itemsize)
    for x in bw.get("per_size", []):
        if (x["n_in"], x["n_out"], x["dtype"]) == (n_in, n_out, dtype):
            return x
    return None
