"""Property-based tests of the public constructors, ``connect``, ``monitor_state`` and ``run``.

Any input — arbitrary shapes and dtypes, NaN/inf, negative and zero values,
empty and ragged arrays, wrong types — must give either a valid object or a
``ValueError``/``TypeError`` whose message names the parameter.  Never another
exception, a crash inside a kernel, or a silently wrong result: accepted
objects are checked against independent references (the closed-form
propagator in 50-digit mpmath, Brian2's refractory and binning rules written
out with exact integers, deterministic spike counts).

The deterministic reproducers at the end of this file are the defects this
fuzzing found (all fixed); they stay as regression tests.

``NEUROIMC_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py`` searches deeper
than the default run.
"""
import math
import os
import re
import warnings

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import neuroimc as ni

FUZZ = settings(max_examples=int(os.environ.get("NEUROIMC_FUZZ_EXAMPLES", 80)), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
LIF_OK = dict(tau_m=0.02, v_rest=-0.065, v_reset=-0.065, v_thresh=-0.05, t_ref=0.002, tau_syn=0.005, r_m=1e8)
G_RANGE = ni.load_device("ideal").g_max - ni.load_device("ideal").g_min
mpmath.mp.dps = 50

# ---------------------------------------------------------------------- strategies
any_array = hnp.arrays(hnp.scalar_dtypes(), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
_junk_parts = [
    st.none(),
    st.booleans(),
    st.floats(),  # every double: nan, +-inf, -0.0, subnormals, +-1.8e308
    st.text(max_size=3),
    st.complex_numbers(max_magnitude=1e3),
    st.lists(st.floats(), max_size=4),
    st.lists(st.lists(st.integers(-3, 3), max_size=3), max_size=3),  # ragged
    any_array,
    st.builds(object),
    st.sampled_from([np.float32(0.02), np.int64(3), np.bool_(True), np.array(0.02), [0.02], (0.02,)]),
]
junk = st.one_of(*_junk_parts, st.integers(-(2**70), 2**70))
# sizes: small, or too big for numpy to try; never a size that would really allocate gigabytes
sizes = st.one_of(*_junk_parts, st.integers(-3, 6), st.sampled_from([2**63, 2**70, np.uint64(2**63)]))


def positive_floats(lo=5e-324, hi=1.7976931348623157e308):
    return st.floats(min_value=lo, max_value=hi)


def documented(build, *names):
    """``build()``, or ``None`` if it raised ValueError/TypeError naming one of ``names``.

    Anything else (another exception, a message that does not say which
    parameter is wrong) fails the test.
    """
    try:
        return build()
    except (ValueError, TypeError) as exc:
        message = str(exc)
        named = any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9_])", message) for n in names)
        assert named, f"{type(exc).__name__} does not name {names}: {message}"
        return None


def _float(value):
    """``value`` as a float if it is a real scalar, else None."""
    try:
        return float(value) if np.ndim(value) == 0 and not isinstance(value, (str, bytes, complex)) else None
    except (TypeError, ValueError, OverflowError):
        return None


# ---------------------------------------------------------------------- Network
@FUZZ
@given(dt=st.one_of(junk, positive_floats()), seed=st.one_of(junk, st.integers(0, 2**130)))
def test_network_takes_dt_and_seed_or_names_them(dt, seed):
    net = documented(lambda: ni.Network(dt=dt, seed=seed), "dt", "seed")
    if net is not None:
        assert math.isfinite(net.dt) and net.dt > 0 and net.t == 0.0
        assert isinstance(net.seed, int) and net.seed >= 0


# ---------------------------------------------------------------------- LIFPopulation
LIF_PARAMS = ("tau_m", "v_rest", "v_reset", "v_thresh", "t_ref", "tau_syn", "r_m", "v_init")


@st.composite
def lif_arguments(draw):
    """Valid LIF arguments with ``n`` or one parameter replaced by anything."""
    n = draw(st.integers(1, 4))
    kw = dict(LIF_OK)
    bad = draw(st.sampled_from(("n",) + LIF_PARAMS))
    if bad == "n":
        n = draw(sizes)
    else:
        kw[bad] = draw(st.one_of(
            junk,
            st.floats(-1.0, 1.0),
            hnp.arrays(np.float64, st.sampled_from([(n,), (n + 1,), (1,), (n, 1), (0,), ()]),
                       elements=st.floats(-1.0, 1.0)),
        ))
    return n, kw, bad


@FUZZ
@given(lif_arguments())
def test_lif_population_is_valid_or_names_the_parameter(args):
    n, kw, bad = args
    pop = documented(lambda: ni.LIFPopulation(n, **kw), bad)
    if pop is None:
        return
    assert isinstance(pop.n, int) and pop.n >= 1
    for name in ("tau_m", "v_rest", "v_reset", "v_thresh", "t_ref", "tau_syn", "r_m"):
        arr = getattr(pop, name)
        assert arr.shape == (pop.n,) and arr.dtype == np.float64 and np.isfinite(arr).all(), name
        if bad == name and np.ndim(kw[name]) == 1 and len(kw[name]) == pop.n:
            np.testing.assert_array_equal(arr, np.asarray(kw[name], dtype=np.float64))
    assert (pop.tau_m > 0).all() and (pop.tau_syn > 0).all() and (pop.r_m > 0).all() and (pop.t_ref >= 0).all()
    assert pop.v.shape == (pop.n,) and np.isfinite(pop.v).all() and not pop.I_syn.any()


def reference_propagators(dt, tm, ts, rm):
    """Closed form of the exact one-step propagator in 50 digits: (a_vv, a_vI, a_II)."""
    dt, tm, ts, rm = (mpmath.mpf(float(x)) for x in (dt, tm, ts, rm))
    a_vv, a_ii = mpmath.exp(-dt / tm), mpmath.exp(-dt / ts)
    a_vi = rm * dt / tm * a_vv if tm == ts else rm * ts / (ts - tm) * (a_ii - a_vv)
    return a_vv, a_vi, a_ii


@FUZZ
@given(dt=positive_floats(), tau_m=positive_floats(), tau_syn=positive_floats(), r_m=positive_floats(1e-300, 1e300),
       tie=st.sampled_from(["free", "equal", "ulps"]), ulps=st.integers(-1000, 1000))
def test_exact_propagator_equals_the_closed_form(dt, tau_m, tau_syn, r_m, tie, ulps):
    """For every accepted (dt, tau_m, tau_syn, r_m): finite, and equal to the closed form."""
    if tie == "equal":
        tau_syn = tau_m  # the removable singularity
    elif tie == "ulps":
        tau_syn = tau_m * (1 + ulps * 2.2e-16)  # near it: cancellation
        assume(0 < tau_syn < math.inf)
    pop = ni.LIFPopulation(1, **{**LIF_OK, "tau_m": tau_m, "tau_syn": tau_syn, "r_m": r_m})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # exp underflowing to 0 is the right answer
        a_vv, a_vi, a_ii, *_ = pop.propagators(dt)
    got = (a_vv[0], a_vi[0], a_ii[0])
    assert all(math.isfinite(g) for g in got), got
    for g, ref, scale in zip(got, reference_propagators(dt, tau_m, tau_syn, r_m), (1.0, r_m, 1.0)):
        # relative 1e-9, or 1e-15 of the natural scale where the value underflows
        assert abs(mpmath.mpf(float(g)) - ref) <= 1e-9 * abs(ref) + 1e-15 * scale, (g, ref)


@FUZZ
@given(t_ref=st.one_of(st.just(0.0), st.floats(0, 5e-3), st.floats(0, 1e3), st.floats(0, 1e300)),
       dt=st.sampled_from([1e-5, 1e-4, 5e-4]))
def test_refractory_period_counts_whole_steps(t_ref, dt):
    """A neuron resting above threshold fires at step 0, then each time its refractory period ends.

    Reference: Brian2's condition ``t - lastspike >= timestep(t_ref, dt)``,
    ``timestep(t, dt) = int((t + 1e-3 dt)/dt)``, with Python's exact integers.
    """
    net = ni.Network(dt=dt, seed=0)
    pop = net.add(ni.LIFPopulation(1, **{**LIF_OK, "v_rest": -0.04, "v_reset": -0.04, "t_ref": t_ref}))
    mon = net.monitor_spikes(pop)
    net.run(40 * dt, progress=False)
    period = max(1, int((t_ref + 1e-3 * dt) / dt))
    assert mon.steps.tolist() == list(range(0, 40, period))


# ---------------------------------------------------------------------- sources
@FUZZ
@given(n=st.one_of(sizes, st.integers(1, 5)),
       rate=st.one_of(junk, st.floats(0, 1e4),
                      hnp.arrays(np.float64, st.sampled_from([(3,), (2,), (0,), ()]), elements=st.floats(-10, 1e4))))
def test_poisson_source_is_valid_or_names_the_parameter(n, rate):
    src = documented(lambda: ni.PoissonSource(n, rate), "n", "rate")
    if src is not None:
        assert src.rate.shape == (src.n,) and np.isfinite(src.rate).all() and (src.rate >= 0).all()


@FUZZ
@given(p=hnp.arrays(np.float64, st.integers(1, 5), elements=st.sampled_from([0.0, 1.0])),
       dt=st.sampled_from([1e-5, 1e-4, 1e-3, 3e-4]))
def test_poisson_inputs_at_probability_zero_or_one_are_exact(p, dt):
    """rate*dt = 1 fires every step and rate = 0 never: deterministic, so checked spike by spike."""
    net = ni.Network(dt=dt, seed=1)
    src = net.add(ni.PoissonSource(p.size, rate=p / dt))
    mon = net.monitor_spikes(src)
    if (p / dt * dt > 1.0).any():  # rounding puts rate*dt above 1: refused by name, never truncated
        with pytest.raises(ValueError, match="rate"):
            net.run(7 * dt, progress=False)
        return
    net.run(7 * dt, progress=False)
    np.testing.assert_array_equal(mon.counts(), 7 * (p == 1.0))


@st.composite
def spike_source_arguments(draw):
    n = draw(st.one_of(st.integers(1, 4), sizes))
    k = draw(st.integers(0, 6))
    indices = draw(st.one_of(
        hnp.arrays(st.sampled_from([np.int64, np.int32, np.uint8, np.uint64]), k, elements=st.integers(0, 4)),
        hnp.arrays(hnp.scalar_dtypes(), st.integers(0, 6)),
        junk,
    ))
    times = draw(st.one_of(
        hnp.arrays(np.float64, k, elements=st.floats(0, 3e-3)),
        hnp.arrays(np.float64, k, elements=st.sampled_from([0.0, 1e-4, 2e-4, 2.5e-4, 1e-3, 3.9999e-3])),
        hnp.arrays(np.float64, k, elements=st.floats()),
        junk,
    ))
    return n, indices, times


@FUZZ
@given(spike_source_arguments(), st.sampled_from([1e-4, 2.5e-4, 1e-3]))
def test_spike_source_replays_exactly_the_binned_spikes(args, dt):
    """Accepted spikes come back from a run binned as Brian2 bins them: step int((t + 1e-3 dt)/dt)."""
    n, indices, times = args
    src = documented(lambda: ni.SpikeSource(n, indices, times), "n", "indices", "times")
    if src is None:
        return
    assume(not (src.times.size and src.times.max() / dt > 2**62))  # see test_reproducer_spike_time_overflow
    net = ni.Network(dt=dt, seed=0)
    net.add(src)
    mon = net.monitor_spikes(src)
    pairs = [(int((float(t) + 1e-3 * dt) / dt), i) for t, i in zip(src.times, src.indices.tolist())]
    if len(set(pairs)) < len(pairs):  # an input twice in one step: refused, naming times
        with pytest.raises(ValueError, match="times"):
            net.run(dt, progress=False)
        return
    n_steps = round(4e-3 / dt)
    net.run(n_steps * dt, progress=False)
    assert list(zip(mon.steps.tolist(), mon.indices.tolist())) == sorted(p for p in pairs if p[0] < n_steps)


# ---------------------------------------------------------------------- crossbars
conductances = st.one_of(
    junk,
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3),
               elements=st.floats(-1e-4, 2e-4)),
    hnp.arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 3)), elements=st.floats(0, G_RANGE)),
)
devices = st.one_of(st.just("ideal"), junk, st.sampled_from(["", "IDEAL", "nope.toml", "ideal.toml"]))


@FUZZ
@given(g_plus=conductances, g_minus=conductances, pair=st.booleans(), device=devices,
       v_read=st.one_of(st.none(), junk, positive_floats()), gain=st.one_of(junk, positive_floats()))
def test_crossbar_is_valid_or_names_the_parameter(g_plus, g_minus, pair, device, v_read, gain):
    if pair and isinstance(g_plus, np.ndarray) and g_plus.dtype.kind == "f":
        g_minus = np.zeros_like(g_plus)  # same shape, so that the other checks are reached
    xb = documented(lambda: ni.Crossbar(g_plus, g_minus, device=device, v_read=v_read, gain=gain),
                    "g_plus", "g_minus", "device", "v_read", "gain")
    if xb is None:
        return
    W = xb.weights()
    assert W.shape == xb.shape and min(xb.shape) >= 1 and np.isfinite(W).all()
    expected = xb.v_read * xb.gain * (np.asarray(g_plus, float) - np.asarray(g_minus, float))
    np.testing.assert_allclose(W, expected, rtol=1e-12, atol=1e-300)


weight_matrices = st.one_of(
    junk,
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3),
               elements=st.floats(-1e-9, 1e-9)),
    hnp.arrays(st.sampled_from([np.float64, np.float32, np.int16, np.uint8]),
               st.tuples(st.integers(1, 3), st.integers(1, 3)), elements=st.integers(0, 50)),
    hnp.arrays(np.bool_, st.tuples(st.integers(1, 3), st.integers(1, 3))),
    hnp.arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 3)),
               elements=st.floats(allow_nan=False, allow_infinity=False)),
)


@FUZZ
@given(W=weight_matrices, w_max=st.one_of(st.none(), junk, positive_floats(1e-15, 1e-6)),
       v_read=st.one_of(st.none(), st.floats(-1, 1), positive_floats()), device=devices)
def test_crossbar_from_weights_round_trips_the_weights(W, w_max, v_read, device):
    """With an ideal device, weights() gives W back to float rounding of w_max."""
    xb = documented(lambda: ni.Crossbar.from_weights(W, device=device, w_max=w_max, v_read=v_read),
                    "W", "w_max", "v_read", "device")
    if xb is None:
        return
    W = np.asarray(W, dtype=np.float64)
    got = xb.weights()
    assert got.shape == W.shape and np.isfinite(got).all()
    np.testing.assert_allclose(got, W, rtol=0, atol=1e-12 * xb.w_max)
    assert xb.w_max >= np.abs(W).max() * (1 - 1e-12)


# ---------------------------------------------------------------------- connect, monitor_state, run
@st.composite
def connections(draw):
    net = ni.Network(seed=0)
    groups = [
        net.add(ni.PoissonSource(draw(st.integers(1, 3)), rate=2e3)),
        net.add(ni.SpikeSource(2, [0, 1], [0.0, 1e-4])),
        net.add(ni.LIFPopulation(draw(st.integers(1, 3)), **LIF_OK)),
        net.add(ni.LIFPopulation(draw(st.integers(1, 3)), **LIF_OK)),
    ]
    outsider = ni.LIFPopulation(2, **LIF_OK)  # never added
    candidates = st.one_of(st.sampled_from(groups + [outsider]), junk)
    pre, post = draw(candidates), draw(candidates)
    shape = draw(st.one_of(
        st.just((getattr(pre, "n", 1), getattr(post, "n", 1))),
        st.tuples(st.integers(1, 3), st.integers(1, 3)),
    ))
    xb = draw(st.one_of(st.just(ni.Crossbar.from_weights(np.full(shape, 1e-10))), junk))
    return net, pre, post, xb


@FUZZ
@given(connections())
def test_connect_is_valid_or_names_the_parameter_and_then_runs(args):
    net, pre, post, xb = args
    got = documented(lambda: net.connect(pre, post, xb), "pre", "post", "crossbar")
    if got is None:
        assert not any(c is xb for c in net.crossbars)
        return
    assert got is xb and xb.pre is pre and xb.post is post and xb in net.crossbars
    mon = net.monitor_state(post, "I_syn")
    net.run(5e-4, progress=False)
    for pop in net.populations:
        assert np.isfinite(pop.v).all() and np.isfinite(pop.I_syn).all()
    if isinstance(pre, ni.SpikeSource):
        # input 0 fires at step 0, input 1 at step 1: I_syn after step k is the decayed sum of the jumps
        a_ii = post.propagators(net.dt)[2]
        np.testing.assert_allclose(mon.values[1], 1e-10 * np.ones(post.n), rtol=1e-12)
        np.testing.assert_allclose(mon.values[2], 1e-10 * (a_ii + 1), rtol=1e-12)
    with pytest.raises(ValueError, match="already connected"):
        net.connect(pre, post, xb)


@FUZZ
@given(variable=st.one_of(st.sampled_from(["v", "I_syn"]), junk),
       record=st.one_of(st.just(True), st.lists(st.integers(-2, 5), max_size=4), junk))
def test_monitor_state_is_valid_or_names_the_parameter(variable, record):
    net = ni.Network(seed=0)
    pop = net.add(ni.LIFPopulation(3, **{**LIF_OK, "v_init": [-0.07, -0.06, -0.05]}))
    mon = documented(lambda: net.monitor_state(pop, variable, record=record), "variable", "record")
    if mon is None:
        return
    net.run(3e-4, progress=False)
    assert mon.values.shape == (3, mon.record.size)
    if variable == "v" and mon.record.size:
        # the first sample is the initial value (taken before the first update)
        np.testing.assert_array_equal(mon.values[0], np.array([-0.07, -0.06, -0.05])[mon.record])


@FUZZ
@given(duration=st.one_of(junk, st.integers(0, 20).map(lambda k: k * 1e-4), st.floats(0, 2e-3)),
       progress=st.one_of(st.booleans(), st.integers(0, 1)))
def test_run_advances_by_duration_or_names_it(duration, progress):
    dt = 1e-4
    d = _float(duration)
    # a valid long run is not a hang: keep it out; an overflowing step count is a known defect
    assume(d is None or not math.isfinite(d) or d / dt <= 1000)
    net = ni.Network(dt=dt, seed=0)
    src = net.add(ni.PoissonSource(3, rate=1 / dt))  # rate*dt = 1: a spike per input per step
    mon = net.monitor_spikes(src)
    ran = documented(lambda: net.run(duration, progress=progress), "duration")
    if ran is None:
        assert net.t == 0.0 and len(mon) == 0
        return
    n = round(d / dt)
    assert abs(n * dt - d) <= 1e-6 * dt
    assert net.t == pytest.approx(n * dt) and len(mon) == 3 * n


# ---------------------------------------------------------------------- reproducers of found defects
def _quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn()


def test_reproducer_ragged_per_neuron_parameter():
    documented(lambda: ni.LIFPopulation(1, **{**LIF_OK, "tau_m": [[], [0]]}), "tau_m")


def test_reproducer_ragged_spike_indices():
    documented(lambda: ni.SpikeSource(1, [[], [0]], []), "indices")


def test_reproducer_ragged_record_indices():
    net = ni.Network(seed=0)
    pop = net.add(ni.LIFPopulation(2, **LIF_OK))
    documented(lambda: net.monitor_state(pop, "v", record=[[], [0]]), "record")


def test_reproducer_tiny_membrane_time_constant_gives_nan_voltage():
    net = ni.Network(dt=1e-4, seed=0)
    src = net.add(ni.SpikeSource(1, [0], [1e-3]))
    pop = net.add(ni.LIFPopulation(1, **{**LIF_OK, "tau_m": 1e-8}))  # accepted: tau_m > 0
    net.connect(src, pop, ni.Crossbar.from_weights(np.array([[5e-10]])))
    _quiet(lambda: net.run(3e-3, progress=False))
    # as tau_m -> 0, v follows v_rest + r_m*I_syn: a_vI -> r_m*exp(-dt/tau_syn), finite
    assert np.isfinite(pop.v).all()


def test_reproducer_huge_product_of_time_constants_gives_a_wrong_propagator():
    pop = ni.LIFPopulation(1, **{**LIF_OK, "tau_m": 2.0, "tau_syn": 1e308, "r_m": 1.0})
    a_vi = _quiet(lambda: pop.propagators(1.0))[1][0]
    assert a_vi == pytest.approx(float(reference_propagators(1.0, 2.0, 1e308, 1.0)[1]), rel=1e-9)  # 0.3935


def test_reproducer_long_refractory_period_blocks_the_first_spike():
    net = ni.Network(dt=1e-4, seed=0)
    pop = net.add(ni.LIFPopulation(1, **{**LIF_OK, "v_rest": -0.04, "v_reset": -0.04, "t_ref": 2e8}))
    mon = net.monitor_spikes(pop)
    net.run(1e-3, progress=False)
    assert mon.steps.tolist() == [0]  # rests above threshold: fires at once, then stays refractory


def test_reproducer_huge_refractory_period_wraps_around():
    net = ni.Network(dt=1e-4, seed=0)
    pop = net.add(ni.LIFPopulation(1, **{**LIF_OK, "v_rest": -0.04, "v_reset": -0.04, "t_ref": 1e300}))
    mon = net.monitor_spikes(pop)
    _quiet(lambda: net.run(1e-3, progress=False))
    assert mon.steps.tolist() == [0]  # brian2_timestep(1e300, 1e-4) is -2**63 (float -> int64 cast)


def test_reproducer_crossbar_gain_overflow_gives_nan_weights():
    def build():
        return ni.Crossbar(np.zeros((1, 2)), np.zeros((1, 2)), v_read=1e100, gain=1e300)

    xb = _quiet(lambda: documented(build, "v_read", "gain"))
    assert xb is None or np.isfinite(xb.weights()).all()


def test_reproducer_crossbar_read_voltage_squared_overflows():
    documented(lambda: ni.Crossbar(np.zeros((1, 1)), np.zeros((1, 1)), v_read=1.4e154), "v_read")


def test_reproducer_from_weights_subnormal_read_voltage():
    documented(lambda: ni.Crossbar.from_weights(np.ones((1, 1)), v_read=5e-324), "v_read")


def test_reproducer_from_weights_huge_weights_name_gain():
    documented(lambda: ni.Crossbar.from_weights(np.array([[1e308]])), "W", "w_max")


def test_reproducer_run_step_count_overflow():
    documented(lambda: ni.Network(dt=1e-4).run(1e305, progress=False), "duration")


def test_reproducer_monitor_state_unhashable_variable():
    net = ni.Network(seed=0)
    pop = net.add(ni.LIFPopulation(1, **LIF_OK))
    documented(lambda: net.monitor_state(pop, ["v"]), "variable")


def test_reproducer_huge_sizes():
    documented(lambda: ni.PoissonSource(2**63, rate=1.0), "n")
    net = ni.Network(seed=0)
    src = documented(lambda: ni.SpikeSource(2**63, [], []), "n")
    if src is not None:
        net.add(src)
        documented(lambda: net.run(1e-4, progress=False), "n")


def test_reproducer_spike_time_overflow():
    src = ni.SpikeSource(1, [0, 0], [1e300, 2e300])
    msg = ""
    try:
        _quiet(lambda: src.steps(1e-4))
    except ValueError as exc:
        msg = str(exc)
    assert "fires twice" not in msg


def test_reproducer_run_progress_array():
    documented(lambda: ni.Network().run(1e-4, progress=np.array([1, 2])), "progress")
