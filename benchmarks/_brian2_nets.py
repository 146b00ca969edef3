"""The benchmark network in Brian2, and how each code-generation target is timed.

Written against Brian2's own API (not through neuroimc), so the comparison is
with an independent implementation.  Each :func:`measure` call runs in its own
worker process (Brian2 keeps global device state).

What is timed
-------------
``cython``, ``numpy`` (runtime targets)
    ``net.run(0 s)`` first generates (and for cython compiles, or loads from
    the cache directory) every code object: reported as ``prepare_s``, with
    the number of extension modules it had to compile.  Then the timed
    ``net.run(duration)`` (wall clock and process CPU time).  That call still
    includes Brian2's per-run preparation (``before_run``, served from
    caches); a second ``net.run(0 s)`` afterwards measures that overhead
    alone (``rerun_overhead_s``).
``cpp_standalone``
    ``device.build(compile=True, run=False)`` writes the C++ project and runs
    ``make``: ``codegen_s`` is the part before ``make``, ``compile_s`` is
    ``make`` (a full build on the first run of a configuration, only changed
    files afterwards).  The binary is then started by ``device.run()``; the
    run time is measured inside the binary with ``std::chrono::steady_clock``
    around ``network.run`` (code inserted with ``device.insert_code`` in the
    ``before_network_run`` / ``after_network_run`` slots), so it excludes
    loading the weights, creating the synapses and writing results.  Brian2's
    own ``last_run_info.txt`` figure (``std::clock`` CPU time of the same
    loop) is reported as ``run_cpu_s``, and the binary's whole life as
    ``binary_wall_s``.  Peak memory is the binary's own ``VmHWM``, read at
    its end.

Network variants
----------------
``static``        ``PoissonGroup`` -> ``Synapses(on_pre='I_syn_post += w*w_scale')``.
``stdp_synapse``  Brian2's STDP example: event-driven traces ``apre``,
                  ``apost`` stored per synapse, decayed at each event.
``stdp_neuron``   the same rule with ``apre`` per input (a ``NeuronGroup``
                  firing with ``rand() < rate*dt``, trace bumped in its reset)
                  and ``apost`` per output neuron; synapses read them.  The
                  one difference to ``stdp_synapse``: when a pre- and a
                  postsynaptic spike fall in the same 0.1 ms step, the
                  potentiation does not yet see that step's ``apre`` bump
                  (resets run after synapses in Brian2's schedule).
"""
import os
import time

import numpy as np

import _bench_net as bn
from _peak_memory import parse_vmhwm_kb, peak_rss_mb

LIF_EQS = """
dv/dt = (v_rest - v + r_m*I_syn)/tau_m : volt (unless refractory)
dI_syn/dt = -I_syn/tau_syn : amp
"""

# C++ inserted into the standalone main(): wall time of network.run and the
# binary's peak resident memory, written next to Brian2's own results
_CPP_T0 = "std::chrono::steady_clock::time_point _bench_t0 = std::chrono::steady_clock::now();"
_CPP_T1 = (
    "{ double _bench_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - _bench_t0).count();"
    ' std::ofstream _bench_f(brian::results_dir + "bench_run_wall_s.txt");'
    " _bench_f.precision(17); _bench_f << _bench_s; }"
)
_CPP_HWM = (
    '{ std::ifstream _bench_in("/proc/self/status"); std::stringstream _bench_ss; _bench_ss << _bench_in.rdbuf();'
    ' std::ofstream _bench_f(brian::results_dir + "bench_status.txt"); _bench_f << _bench_ss.str(); }'
)


def _namespace(b2, n_in):
    u = b2
    L = bn.LIF
    return {
        "v_rest": L["v_rest"] * u.volt,
        "v_reset": L["v_reset"] * u.volt,
        "v_thresh": L["v_thresh"] * u.volt,
        "tau_m": L["tau_m"] * u.second,
        "tau_syn": L["tau_syn"] * u.second,
        "r_m": L["r_m"] * u.ohm,
        "w_scale": bn.w_scale(n_in) * u.amp,
        "rate_in": bn.RATE * u.Hz,
        "tau_pre": bn.STDP["tau_pre"] * u.second,
        "tau_post": bn.STDP["tau_post"] * u.second,
        "A_pre": bn.STDP["A_pre"],
        "A_post": bn.STDP["A_post"],
        "w_min": bn.STDP["w_min"],
        "w_max": bn.STDP["w_max"],
    }


def build(b2, n_in, n_out, variant, weight_seed):
    """The Brian2 network; returns (network, synapses, output spike monitor, input spike counter)."""
    if variant not in (bn.STATIC, bn.STDP_SYNAPSE, bn.STDP_NEURON):
        raise ValueError(f"variant must be {bn.STATIC!r}, {bn.STDP_SYNAPSE!r} or {bn.STDP_NEURON!r}, got {variant!r}")
    ns = _namespace(b2, n_in)
    dt = bn.DT * b2.second
    if variant == bn.STDP_NEURON:
        inp = b2.NeuronGroup(n_in, "dapre/dt = -apre/tau_pre : 1", threshold="rand() < rate_in*dt",
                             reset="apre += A_pre", method="exact", namespace=ns, dt=dt, name="inputs")
        eqs, reset = LIF_EQS + "dapost/dt = -apost/tau_post : 1\n", "v = v_reset\napost += A_post"
    else:
        inp = b2.PoissonGroup(n_in, rates=bn.RATE * b2.Hz, dt=dt, name="inputs")
        eqs, reset = LIF_EQS, "v = v_reset"
    G = b2.NeuronGroup(n_out, eqs, threshold="v > v_thresh", reset=reset, refractory=bn.LIF["t_ref"] * b2.second,
                       method="exact", namespace=ns, dt=dt, name="lif")
    G.v = bn.LIF["v_rest"] * b2.volt
    if variant == bn.STATIC:
        S = b2.Synapses(inp, G, "w : 1", on_pre="I_syn_post += w*w_scale", namespace=ns, dt=dt, name="crossbar")
    elif variant == bn.STDP_SYNAPSE:  # Brian2's STDP example, in this network's names
        S = b2.Synapses(
            inp, G,
            """w : 1
               dapre/dt = -apre/tau_pre : 1 (event-driven)
               dapost/dt = -apost/tau_post : 1 (event-driven)""",
            on_pre="""I_syn_post += w*w_scale
                      apre += A_pre
                      w = clip(w + apost, w_min, w_max)""",
            on_post="""apost += A_post
                       w = clip(w + apre, w_min, w_max)""",
            namespace=ns, dt=dt, name="crossbar",
        )
    else:
        S = b2.Synapses(inp, G, "w : 1",
                        on_pre="I_syn_post += w*w_scale\nw = clip(w + apost_post, w_min, w_max)",
                        on_post="w = clip(w + apre_pre, w_min, w_max)",
                        namespace=ns, dt=dt, name="crossbar")
    S.connect()  # all to all; Brian2 creates the synapses in row-major (i, then j) order
    S.w = bn.weights(n_in, n_out, weight_seed).ravel()
    out = b2.SpikeMonitor(G, name="out_spikes")
    counter = b2.SpikeMonitor(inp, record=False, name="in_count")  # counts only: cheap
    net = b2.Network(inp, G, S, out, counter, name="bench")
    return net, S, out, counter


def _check_order(S, n_in, n_out):
    """Brian2's all-to-all synapse order must be row-major for ``S.w = W.ravel()`` to be ``W``."""
    k = np.asarray(S.i[:], np.int64) * n_out + np.asarray(S.j[:], np.int64)
    if not np.array_equal(k, np.arange(n_in * n_out)):
        raise RuntimeError("Brian2 created the all-to-all synapses in an unexpected order")


def _counts(out, counter, spec, b2):
    n_out, duration = spec["n_out"], spec["duration"]
    t = np.asarray(out.t / b2.second)
    n_input = int(counter.num_spikes)
    return {
        "input_spikes": n_input,
        "synaptic_events": n_input * n_out,
        "output_spikes": int(t.size),
        "output_rate_hz": t.size / (n_out * duration),
        "window_counts": bn.window_counts(t, duration),
    }


def _count_modules(folder):
    n = 0
    for _, _, files in os.walk(folder):
        n += sum(f.endswith((".so", ".pyd")) for f in files)
    return n


def measure_runtime(spec):
    """``cython`` or ``numpy`` target, in this process."""
    t_start = time.perf_counter()
    import brian2 as b2

    t_import = time.perf_counter()
    target = spec["target"]
    b2.prefs.codegen.target = target
    b2.prefs.core.default_float_dtype = np.float64
    cache = spec.get("cython_cache")
    if target == "cython" and cache:
        b2.prefs.codegen.runtime.cython.cache_dir = cache
    b2.seed(spec["seed"])
    net, S, out, counter = build(b2, spec["n_in"], spec["n_out"], spec["variant"], spec["weight_seed"])
    t_built = time.perf_counter()
    n_mod0 = _count_modules(cache) if target == "cython" and cache else None
    net.run(0 * b2.second)  # code generation (+ compilation or cache load) of every code object
    t_prepared = time.perf_counter()
    n_mod1 = _count_modules(cache) if target == "cython" and cache else None

    c0 = time.process_time()
    w0 = time.perf_counter()
    net.run(spec["duration"] * b2.second)
    wall = time.perf_counter() - w0
    cpu = time.process_time() - c0

    r0 = time.perf_counter()
    net.run(0 * b2.second)  # Brian2's per-run preparation alone, for reference
    rerun = time.perf_counter() - r0
    if spec["n_in"] * spec["n_out"] <= 16_000_000:
        _check_order(S, spec["n_in"], spec["n_out"])
    result = {
        "simulator": "brian2",
        "brian2_version": b2.__version__,
        "import_s": t_import - t_start,
        "setup_s": t_built - t_import,
        "prepare_s": t_prepared - t_built,
        "compiled_modules": None if n_mod0 is None else n_mod1 - n_mod0,
        "run_wall_s": wall,
        "run_cpu_s": cpu,
        "rerun_overhead_s": rerun,
    }
    result.update(_counts(out, counter, spec, b2))
    result.update(peak_rss_mb())
    return result


def standalone_device(b2, project, seed, openmp_threads=0):
    """Switch Brian2 to ``cpp_standalone`` in ``project`` (built later, by :func:`build_and_run`), float64,
    with the headers the inserted timing code needs, and ``openmp_threads`` (0: Brian2's default, one thread)."""
    b2.set_device("cpp_standalone", directory=project, build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = openmp_threads
    b2.prefs.core.default_float_dtype = np.float64
    b2.prefs.codegen.cpp.headers = list(b2.prefs.codegen.cpp.headers) + ["<chrono>", "<fstream>", "<sstream>"]
    b2.seed(seed)


def insert_timers(b2):
    """Have the standalone binary time ``network.run`` and record its peak memory (the ``_CPP_*`` code)."""
    b2.device.insert_code("before_network_run", _CPP_T0)
    b2.device.insert_code("after_network_run", _CPP_T1)
    b2.device.insert_code("after_end", _CPP_HWM)


def build_and_run(b2, project):
    """Build, compile and run the queued standalone project.

    Returns ``(t_built, figures)``: the ``perf_counter`` time the build started, and the code
    generation, compile, binary and in-binary run times, CPU time and the binary's peak memory.
    """
    t_built = time.perf_counter()
    b2.device.build(directory=project, compile=True, run=False, with_output=False)
    t_compiled = time.perf_counter()
    make = b2.device.timers["compile"]["make"]
    b2.device.run(with_output=False)
    t_ran = time.perf_counter()

    results = b2.device.results_dir
    with open(os.path.join(results, "bench_run_wall_s.txt")) as fh:
        wall = float(fh.read())
    with open(os.path.join(results, "bench_status.txt")) as fh:
        binary_hwm_kb = parse_vmhwm_kb(fh.read())
    with open(os.path.join(results, "last_run_info.txt")) as fh:  # Brian2's: "<clock() seconds> <fraction done>"
        cpu, completed = (float(x) for x in fh.read().split())
    if completed != 1.0:
        raise RuntimeError(f"the standalone run stopped at {completed:.1%} of its duration")
    return t_built, {
        "codegen_s": (t_compiled - t_built) - (make or 0.0),
        "compile_s": make,
        "binary_wall_s": t_ran - t_compiled,
        "run_wall_s": wall,
        "run_cpu_s": cpu,
        "peak_rss_mb": binary_hwm_kb / 1024.0,
        "peak_rss_source": "VmHWM of the standalone binary",
    }


def measure_standalone(spec):
    """``cpp_standalone`` target: build and compile here, then run the binary."""
    t_start = time.perf_counter()
    import brian2 as b2

    t_import = time.perf_counter()
    project = spec["project_dir"]
    standalone_device(b2, project, spec["seed"], spec.get("openmp_threads", 0))
    net, S, out, counter = build(b2, spec["n_in"], spec["n_out"], spec["variant"], spec["weight_seed"])
    insert_timers(b2)
    net.run(spec["duration"] * b2.second)  # only queues the run in the C++ project
    t_built, figures = build_and_run(b2, project)
    if spec["n_in"] * spec["n_out"] <= 4_000_000:
        _check_order(S, spec["n_in"], spec["n_out"])
    result = {
        "simulator": "brian2",
        "brian2_version": b2.__version__,
        "import_s": t_import - t_start,
        "setup_s": t_built - t_import,
        **figures,
        "compile_flags": list(b2.prefs.codegen.cpp.extra_compile_args_gcc),
        "openmp_threads": spec.get("openmp_threads", 0),
    }
    result.update(_counts(out, counter, spec, b2))
    result["driver_peak_rss_mb"] = peak_rss_mb()["peak_rss_mb"]
    return result


def measure(spec):
    if spec["target"] == "cpp_standalone":
        return measure_standalone(spec)
    return measure_runtime(spec)
