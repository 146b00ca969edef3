"""The second thread that catches weight-only rows up in the background (kernels.background)."""
import threading

import numpy as np
import pytest
from numba import njit

import neuroimc as ni
from neuroimc.kernels import background, deferred
from neuroimc.kernels.atomic import compare_exchange, load_acquire, spin_pause, store_release
from neuroimc.units import Mohm, mV, ms, pA, second

from brian2_reference import poisson_spike_trains

DT = 0.1 * ms
N_IN, N = 200, 30
LIF = dict(tau_m=20 * ms, v_rest=-65 * mV, v_reset=-65 * mV, v_thresh=-50 * mV, t_ref=2 * ms, tau_syn=5 * ms,
           r_m=100 * Mohm)
W_SCALE = 60 * pA


@njit(nogil=True)
def _count_under_lock(words, times):
    """``times`` increments of ``words[8]``, a plain read-modify-write, each under the lock ``words[0]``."""
    for _ in range(times):
        while not compare_exchange(words, 0, 0, 1):
            spin_pause()
        words[8] = words[8] + 1
        store_release(words, 0, 0)
    return load_acquire(words, 8)


@njit
def _exchange(words, index, expected, value):
    return compare_exchange(words, index, expected, value)


def test_a_compare_exchange_lock_keeps_two_threads_out_of_each_other():
    """Two threads increment one count with a plain read and write, each under the lock: none is lost."""
    words = np.zeros(16, np.int64)
    _count_under_lock(words, 1)  # compiled before the threads race
    words[:] = 0
    threads = [threading.Thread(target=_count_under_lock, args=(words, 200_000)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert words[8] == 400_000 and words[0] == 0
    assert not _exchange(words, 8, 0, 5) and words[8] == 400_000  # not the expected value: unchanged
    assert _exchange(words, 8, 400_000, 5) and words[8] == 5


def _join_catch_up_threads():
    """Wait for catch-up threads that their runs left loading their kernel (each stops once loaded)."""
    background.join_left(timeout=60)
    assert not any(t.name == "neuroimc-catch-up" for t in threading.enumerate())


def _run(case, threads, durations=(0.2, 0.3)):
    rule, mapping, w_lo, device = ni.STDP(a_pre=0.01, a_post=-0.0105), "differential", 0.2, "ideal"
    if case.startswith("rram"):  # every non-ideality on, devices that fail within the run
        rule = ni.STDP(a_pre=0.02, a_post=-0.021)
        device = ni.devices.replace("rram_hfox", endurance={"cycles_mean": 300.0, "cycles_log_sigma": 0.5})
    if case.endswith("reference"):
        mapping = "reference"
    elif case == "two_sided":
        rule, w_lo = ni.STDP(a_pre=0.01, a_post=-0.0105, w_min=-0.5), -0.3
    elif case == "triplet":
        rule = ni.TripletSTDP(w_max=1.0)
    in_idx, in_times = poisson_spike_trains(N_IN, 15.0, 0.5, DT, seed=61)
    w0 = np.random.default_rng(62).uniform(w_lo, 0.8, (N_IN, N))
    net = ni.Network(dt=DT, seed=1, threads=threads)
    net.chunk_steps = 700  # chunk ends inside runs, and runs end inside chunks
    net.background_work = 0  # however short the run
    src = net.add(ni.SpikeSource(N_IN, indices=in_idx, times=in_times))
    pop = net.add(ni.LIFPopulation(N, **LIF))
    xb = net.connect(src, pop, ni.Crossbar.from_weights(w0 * W_SCALE, device=device, w_max=W_SCALE, seed=1,
                                                        mapping=mapping), plasticity=rule)
    mon = net.monitor_spikes(pop)
    energy = net.monitor_energy()
    applied = 0
    for duration in durations:
        net.run(duration * second, progress=False)
        applied += net.background_catch_ups["entries"]
    assert xb._learns_weight_only() if device == "ideal" else xb._defers_potentiation()
    other = "minus" if mapping == "differential" else "reference"
    return applied, dict(steps=mon.steps, idx=mon.indices, w=xb.weights(), plus=xb.pulse_counts("plus"),
                         minus=xb.pulse_counts(other), failed=xb.failed(), reads=energy.report().breakdown[
                             "synapse_reads"], g=np.concatenate([a.ravel() for a in xb.conductances()]))


@pytest.mark.parametrize("case", ["pair", "reference", "two_sided", "triplet", "short_log", "rram", "rram_reference",
                                  "rram_short_log"])
def test_background_catch_ups_leave_the_run_the_same_bit_for_bit(case, monkeypatch):
    """A run with the background thread equals the run without it: spikes, weights, conductances, write
    counts, failures and read energy, bit for bit, for ideal crossbars (weight-only) and for the RRAM card
    with every non-ideality (replays on the devices). The thread takes any row with one entry pending
    (the most interleaving with the network's thread, and the most contention for row locks), running
    free and in lockstep;
    "short_log" makes the logs fill every few steps (the RRAM card's depression log at every step with a pre
    spike), so that the network's thread pauses the background one to empty them, again and again."""
    monkeypatch.setattr(background, "MIN_BATCH", 1)
    if case.endswith("short_log"):
        monkeypatch.setattr(ni.kernels.deferred, "LOG_MIN", 8)
        monkeypatch.setattr(ni.kernels.deferred, "LOG_PER_NEURON", 0)
        monkeypatch.setattr(ni.kernels.deferred, "DEP_PER_NEURON", 1)
    none, alone = _run(case, threads=1)
    assert none == 0
    assert len(alone["steps"]) > 100 and alone["plus"].sum() > 10 * N_IN * N
    if case == "two_sided":
        assert alone["minus"].sum() > 100
    if case.startswith("rram"):
        assert alone["failed"].any()
    # free-running, the thread takes rows when it gets a core (on a loaded machine maybe never); in lockstep the
    # network's thread waits for it to join at the first step, then at each step for it to sweep every row
    for lockstep in (False, True):
        monkeypatch.setattr(background, "LOCKSTEP", lockstep)
        applied, helped = _run(case, threads=2)
        for key in alone:
            np.testing.assert_array_equal(helped[key], alone[key], err_msg=key)
        _join_catch_up_threads()
    assert applied > 1000  # in lockstep the background thread did apply entries


def test_threads_validation(monkeypatch):
    assert ni.Network(threads=1).threads == 1
    assert ni.Network().background_catch_ups == {"rows": 0, "entries": 0, "sweeps": 0}  # no run started it
    monkeypatch.delenv("NEUROIMC_THREADS", raising=False)
    assert ni.Network().threads == min(2, background.usable_cores())
    monkeypatch.setenv("NEUROIMC_THREADS", "1")  # as sweeps set it for worker processes that share the cores
    assert ni.Network().threads == 1 and ni.Network(threads=2).threads == 2
    monkeypatch.setenv("NEUROIMC_THREADS", "4")
    with pytest.raises(ValueError, match="NEUROIMC_THREADS must be 1 or 2, got '4'"):
        ni.Network()
    with pytest.raises(ValueError, match="threads must be <= 2, got 3"):
        ni.Network(threads=3)
    with pytest.raises(TypeError, match="threads must be an integer, got True"):
        ni.Network(threads=True)


def test_a_thread_that_joins_mid_run_or_is_left_loading_leaves_the_run_the_same(monkeypatch):
    """The thread loads its kernel while the network runs, and joins at the next step once in its loop: here it
    enters its loop only once the network has logged 20 potentiations, and in lockstep from then on it sweeps
    every row each step; the run is the same bit for bit.  A run that ends while its thread is still loading
    does not wait for it: the thread stops by itself once loaded, and the next run goes on as usual.  A thread
    whose kernel fails makes its run, or the next, raise."""
    monkeypatch.setattr(background, "MIN_BATCH", 1)
    _, alone = _run("pair", threads=1)
    _run("pair", threads=2)  # the kernel compiled (or loaded) in this process
    _join_catch_up_threads()
    real_loop = background.catch_up_loop

    def late_loop(ctl, *args):
        ctl[background.CTL_LATE] = 1  # the network's thread, in lockstep, does not wait for this one yet
        off, n = args[-1][5], args[-1][3]  # deferred's tables: the log's length
        while n[off[0, deferred.O_LOG_LEN]] < 20 and not ctl[background.CTL_STOP]:
            pass  # a spin, not a sleep: the network goes on without this thread meanwhile
        ctl[background.CTL_LATE] = 0
        return real_loop(ctl, *args)

    monkeypatch.setattr(background, "catch_up_loop", late_loop)
    monkeypatch.setattr(background, "LOCKSTEP", True)
    applied, late = _run("pair", threads=2)
    for key in alone:
        np.testing.assert_array_equal(late[key], alone[key], err_msg=key)
    assert applied > 1000  # it joined, then took rows
    _join_catch_up_threads()
    monkeypatch.setattr(background, "LOCKSTEP", False)

    release, entered = threading.Event(), []

    def loading_loop(*args):
        entered.append(None)
        assert release.wait(timeout=60)
        return real_loop(*args)

    monkeypatch.setattr(background, "catch_up_loop", loading_loop)
    for _ in range(5):  # until a run ends with its thread loading (it may also end before the thread got a core)
        applied, left = _run("pair", threads=2)
        assert applied == 0
        for key in alone:
            np.testing.assert_array_equal(left[key], alone[key], err_msg=key)
        if entered:
            break
    assert entered and sum(t.name == "neuroimc-catch-up" for t in threading.enumerate()) >= len(entered)
    release.set()
    _join_catch_up_threads()  # they stop by themselves once loaded

    def failing_loop(*args):
        raise ValueError("no kernel")

    monkeypatch.setattr(background, "catch_up_loop", failing_loop)
    net = ni.Network(dt=DT, seed=1, threads=2)
    net.background_work = 0
    src = net.add(ni.PoissonSource(N_IN, rate=15.0))
    pop = net.add(ni.LIFPopulation(N, **LIF))
    net.connect(src, pop, ni.Crossbar.from_weights(np.full((N_IN, N), 0.5 * W_SCALE), w_max=W_SCALE),
                plasticity=ni.STDP(a_pre=0.01, a_post=-0.0105))
    with pytest.raises(RuntimeError, match="the background catch-up thread (of an earlier run )?failed") as failure:
        for _ in range(20):  # a run raises at its end, or the next one (its thread failed after it ended); a thread
            net.run(0.2 * second, progress=False)  # that did not get a core before its run ended did not fail
    assert isinstance(failure.value.__cause__, ValueError)
    _join_catch_up_threads()
