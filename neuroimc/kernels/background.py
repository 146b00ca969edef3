"""Catch-ups on the second core.

A plastic crossbar logs its potentiation and each row applies the entries it has not seen just
before it is next read (:mod:`kernels.deferred`: weight-only on ideal cards, replayed on the
devices otherwise): at 1000 x 1000 that is half the run time, on the one thread that runs the
network.  A second thread does most of it in the background while the first goes on: it sweeps
the rows and catches up those with at least ``MIN_BATCH`` entries or a depression pending
(:func:`deferred.depress_later`), so that a row that spikes finds little left to apply.

Nothing depends on which thread applied an entry, nor when: a row applies its entries in log
order, replaying its pre trace with the same multiplications either way; device updates draw
their noise from keyed streams; a replay adds its read-energy changes entry by entry in time
order, whoever applies them; and a weight-only row's read energy is recomputed from its weights
(:func:`deferred.settle`), not accumulated per catch-up.  Runs therefore stay bit for bit
reproducible from their seed.

The thread loads (or compiles) its kernel while the network runs, and joins at the next step once it
is in its loop (:func:`announce`, :func:`joined`, :class:`BackgroundCatchUp`).

Synchronisation, per row: a lock word (:data:`deferred.LOCK_STRIDE` words apart, so that two
rows never share a cache line), taken by the network's thread from the row's catch-up to the end
of its depression (or of logging it), and by the background thread for its catch-up; next to it
the row's dirty flag (the background thread applied entries, its read energy is out of date) and
its pending depression.  The log's length is published with a release store after each entry is
written.  Whatever empties the log or reopens it (a full log, the end of a chunk), or turns the
depression log to its other half, first pauses the background thread: :func:`pause` returns once
it is between rows, and it takes no row until :func:`resume`.
"""
import os
import threading
import time

import numpy as np
from numba import njit

from .atomic import compare_exchange, load_acquire, load_seq_cst, spin_pause, store_release, store_seq_cst, yield_core
from .deferred import (L_DEP_LEN, LOCK_STRIDE, O_CURSOR, O_LOCK, O_LOG_LEN, O_N_PRE, O_OPEN, O_XB, catch_up,
                       catch_up_devices)
from .entry import C_LAZY, DEVICES, WEIGHT_ONLY

SPINS = 64  # pause hints before a waiting thread yields its core (to the one it waits for, on a busy machine)
MIN_BATCH = 32  # pending entries worth taking a row's lock for: fewer, and the lock costs more than it saves
POLL_MIN, POLL_MAX = 1e-4, 0.05  # seconds between the thread's looks at whether the engine runs (see _run)
LOCKSTEP = False  # tests: the engine waits at each step for a sweep over all rows (the thread works however loaded)
# words of the control array, a cache line apart: go, busy, stop (the handshakes), running (the thread is in its
# loop), batch (MIN_BATCH of this run), lockstep (LOCKSTEP), the sweeps done, the rows caught up and entries
# applied by the thread, whether the engine has started (its kernel is loaded), and (tests) that the thread asks
# the engine in lockstep not to wait for it to join yet
(CTL_GO, CTL_BUSY, CTL_STOP, CTL_RUNNING, CTL_BATCH, CTL_LOCKSTEP, CTL_SWEEPS, CTL_ROWS, CTL_ENTRIES, CTL_ENGINE,
 CTL_LATE) = range(0, 88, 8)
N_CTL = 88


@njit(cache=True, error_model="numpy", nogil=True)
def catch_up_loop(ctl, eager, entries, w, xb_w0, sd, xb_sd0, e_row, xb_e0, xb_rng, tables):
    """The background thread: sweep the rows of the plastic crossbars that log potentiation while ``CTL_GO``,
    until ``CTL_STOP``.  ``eager`` and ``tables`` as the engine's (:func:`engine.run_chunk`), the arrays as in its
    ``synapses``, ``entries`` its plastic entries (``None`` with ``eager``): ``eager`` None (every plastic crossbar
    weight-only) makes numba prune the device replay before typing, so that it is not compiled."""
    rules, consts, f, n, c, off = tables
    store_seq_cst(ctl, CTL_RUNNING, 1)
    p, i = np.int64(0), np.int64(0)  # not literals: a literal argument compiles a copy of the callee of its own
    idle = 0
    while load_acquire(ctl, CTL_STOP) == 0:
        if load_acquire(ctl, CTL_GO) == 0:
            idle = _wait(idle)
            continue
        # Dekker's handshake with pause(): of "BUSY = 1, read GO" here and "GO = 0, read BUSY" there, in one
        # global order, at least one sees the other's store
        store_seq_cst(ctl, CTL_BUSY, 1)
        if load_seq_cst(ctl, CTL_GO) == 0:
            store_release(ctl, CTL_BUSY, 0)
            continue
        applied = 0
        lock = _claim(p, i, ctl[CTL_BATCH], consts, off, n)
        if lock >= 0:
            x, last = off[p, O_XB], load_acquire(n, off[p, O_LOG_LEN])
            if consts[p, C_LAZY] == WEIGHT_ONLY:
                applied = catch_up(p, i, last, np.int64(1), w, xb_w0[x], rules, consts, off, f, n, c)
                if applied:
                    n[lock + 1] = 1  # dirty: the network's thread settles the read energy (deferred.settle)
            if eager is not None:
                if consts[p, C_LAZY] == DEVICES:
                    applied = catch_up_devices(entries[p], p, i, last, np.int64(1), w, xb_w0[x], sd, xb_sd0[x], e_row,
                                               xb_e0[x], xb_rng[x], rules, off, f, n)
            store_release(n, lock, 0)
        store_release(ctl, CTL_BUSY, 0)
        if applied:
            ctl[CTL_ROWS] += 1
            ctl[CTL_ENTRIES] += applied
            idle = 0
        i += 1
        if i >= off[p, O_N_PRE]:
            i = 0
            p += 1
            if p == off.shape[0]:
                p = 0
                store_release(ctl, CTL_SWEEPS, ctl[CTL_SWEEPS] + 1)
            if not applied:
                idle = _wait(idle)
    store_release(ctl, CTL_RUNNING, 0)


@njit(cache=True, error_model="numpy", inline="always")
def _claim(p, i, batch, consts, off, n):
    """Lock row ``i`` of crossbar ``p`` if it logs potentiation, has ``batch`` entries or a depression pending and is
    free: the index of its lock word, or -1."""
    o = off[p]
    lazy = consts[p, C_LAZY]
    if (lazy != WEIGHT_ONLY and lazy != DEVICES) or n[o[O_OPEN]] == 0:
        return -1
    lock = o[O_LOCK] + LOCK_STRIDE * i
    if (load_acquire(n, o[O_LOG_LEN]) - load_acquire(n, o[O_CURSOR] + i) < batch
            and load_acquire(n, lock + L_DEP_LEN) == 0):  # a pending depression is always worth it
        return -1
    return lock if compare_exchange(n, lock, 0, 1) else -1


@njit(cache=True, error_model="numpy", inline="always")
def _wait(spins):
    """One round of a wait: a pause hint, and after ``SPINS`` of them the core to any other thread."""
    if spins < SPINS:
        spin_pause()
        return spins + 1
    yield_core()
    return spins


@njit(cache=True, error_model="numpy", inline="always")
def lock_row(p, i, off, n):
    """The network's thread takes row ``i`` of crossbar ``p`` (waits while a catch-up holds it)."""
    lock = off[p, O_LOCK] + LOCK_STRIDE * i
    spins = 0
    while not compare_exchange(n, lock, 0, 1):
        spins = _wait(spins)


@njit(cache=True, error_model="numpy", inline="always")
def unlock_row(p, i, off, n):
    store_release(n, off[p, O_LOCK] + LOCK_STRIDE * i, 0)


@njit(cache=True, error_model="numpy", inline="always")
def pause(ctl):
    """Stop the background thread taking rows; returns once it holds none."""
    store_seq_cst(ctl, CTL_GO, 0)
    spins = 0
    while load_seq_cst(ctl, CTL_BUSY) != 0:
        spins = _wait(spins)


@njit(cache=True, error_model="numpy", inline="always")
def resume(ctl):
    store_seq_cst(ctl, CTL_GO, 1)


@njit(cache=True, error_model="numpy", inline="always")
def announce(ctl):
    """The engine runs: the background thread may now load its own kernel (numba compiles one kernel at a time)."""
    store_release(ctl, CTL_ENGINE, 1)


@njit(cache=True, error_model="numpy", inline="always")
def joined(ctl):
    """Whether the background thread is in its loop; if so it may take rows from now on (:func:`resume`).  In
    lockstep (tests) the network's thread first waits for it, unless it stopped (its kernel failed to load) or
    asks to be late."""
    if load_acquire(ctl, CTL_LOCKSTEP) != 0:
        spins = 0
        while (load_acquire(ctl, CTL_RUNNING) == 0 and load_acquire(ctl, CTL_STOP) == 0
               and load_acquire(ctl, CTL_LATE) == 0):
            spins = _wait(spins)
    if load_acquire(ctl, CTL_RUNNING) == 0:
        return False
    resume(ctl)
    return True


@njit(cache=True, error_model="numpy", inline="always")
def await_sweep(ctl):
    """In lockstep (tests), the network's thread waits until the background one has swept every row once."""
    if load_acquire(ctl, CTL_LOCKSTEP) == 0:
        return
    target = load_acquire(ctl, CTL_SWEEPS) + 2  # the next sweep may have begun before now
    spins = 0
    while load_acquire(ctl, CTL_SWEEPS) < target:
        spins = _wait(spins)


def usable_cores():
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_threads():
    """``Network(threads=None)``: ``NEUROIMC_THREADS`` if set (1 or 2; sweeps set it for their worker processes,
    which share the cores), else 2 where this process may use two cores or more."""
    value = os.environ.get("NEUROIMC_THREADS", "").strip()
    if not value:
        return min(2, usable_cores())
    if value not in ("1", "2"):
        raise ValueError(f"NEUROIMC_THREADS must be 1 or 2, got {value!r}")
    return int(value)


def control():
    """A control array, of a thread not running: the engine then does every catch-up itself."""
    return np.zeros(N_CTL, np.int64)


#: catch-up threads whose run ended before they entered their loop (each stops by itself, once loaded if loading)
_left = []


def join_left(timeout=None):
    """Wait for the catch-up threads that ended runs left loading their kernel (a benchmark's warm-up, tests)."""
    for helper in list(_left):
        helper._thread.join(timeout)


class BackgroundCatchUp:
    """The background thread of one run: ``with BackgroundCatchUp(eager, learning, synapses): ...``, arguments
    as the engine's (:func:`engine.run_chunk`: ``learning`` an ``engine.Learning``, its entries ``None`` with
    ``eager``, ``synapses`` an ``engine.Synapses``).

    The thread works on the run's own control array (a fresh :func:`control`: a thread an earlier run left
    loading its kernel keeps the one that tells it to stop).  Once the engine runs (:func:`announce`:
    numba compiles one kernel at a time, and the network's goes first), the thread loads its kernel, from
    numba's cache or compiling it (0.5 s, while the network goes on without it), and enters its loop; the
    engine lets it take rows from the next step on (:func:`joined`) and pauses it where it must (:func:`pause`,
    :func:`resume`).  Leaving the block stops the thread and waits for it, unless it has not entered its loop
    yet: then it stops by itself, once loaded if it is loading its kernel (the process waits for it at exit, so
    that the kernel reaches the cache), and the next run raises its failure if it failed.
    """

    def __init__(self, eager, learning, synapses):
        self.ctl = learning.ctl
        s = synapses
        self._args = (self.ctl, eager, learning.entries, s.w, s.xb_w0, s.sd, s.xb_sd0, s.e_row, s.xb_e0, s.xb_rng,
                      learning.tables)
        self._thread = None
        self._error = None

    def _run(self):
        try:
            # Each wake-up takes the GIL, which the network's thread may need to compile the engine: a first
            # compile of 10 s saw 19 562 wake-ups at a steady 0.1 ms, 173 backing off to POLL_MAX.  A cached
            # start stays quick.
            wait = POLL_MIN
            while self.ctl[CTL_ENGINE] == 0 and self.ctl[CTL_STOP] == 0:
                time.sleep(wait)
                wait = min(2.0 * wait, POLL_MAX)
            if self.ctl[CTL_STOP] == 0:
                catch_up_loop(*self._args)
        except BaseException as error:  # (loading or compiling it) handed to the network's thread
            self._error = error
            self.ctl[CTL_STOP] = 1  # the engine does not wait for it

    def __enter__(self):
        for helper in list(_left):
            if not helper._thread.is_alive():
                _left.remove(helper)
                if helper._error is not None:
                    raise RuntimeError("the background catch-up thread of an earlier run failed") from helper._error
        self.ctl[CTL_BATCH] = max(1, MIN_BATCH)
        self.ctl[CTL_LOCKSTEP] = LOCKSTEP
        # not a daemon: one still loading its kernel at exit finishes, and the kernel reaches numba's cache
        self._thread = threading.Thread(target=self._run, name="neuroimc-catch-up")
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.ctl[CTL_GO] = 0
        self.ctl[CTL_STOP] = 1
        if self.ctl[CTL_RUNNING] == 0 and self._thread.is_alive():
            _left.append(self)  # not in its loop: it stops by itself (its control array says stop)
            return False
        self._thread.join()
        if self._error is not None and exc[0] is None:
            raise RuntimeError("the background catch-up thread failed") from self._error
        return False
