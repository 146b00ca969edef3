"""The benchmark network in neuroimc, built through the public API only.

:func:`measure` runs in its own worker process (see ``_worker.py``) and times
exactly one call: ``net.run(duration)`` on a network that has already been
packed by ``net.run(0)`` (the packing, which copies the weights into the
engine's buffers, is reported as ``pack_s``), in a process whose compiled
kernels were already loaded by a warm-up run of a tiny network of the same
kind (reported as ``warmup_s``).  Numba's first-call compile is measured
separately (:func:`startup`), in fresh processes.
"""
import dataclasses
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import _bench_net as bn
from _peak_memory import peak_rss_mb


def features():
    """Which optional engine features exist in the installed neuroimc."""
    import neuroimc as ni

    return {
        "rram_hfox": "rram_hfox" in ni.available_devices(),
        "stdp": hasattr(ni, "STDP"),
    }


def _stdp_rule(ni):
    """The benchmark's STDP rule (Brian2's example; weights in units of the crossbar's ``w_max`` = ``w_scale``)."""
    p = bn.STDP
    return ni.STDP(tau_pre=p["tau_pre"], tau_post=p["tau_post"], a_pre=p["A_pre"], a_post=p["A_post"],
                   w_min=p["w_min"], w_max=p["w_max"])


def _connect(ni, net, src, pop, xbar, stdp):
    return net.connect(src, pop, xbar, plasticity=_stdp_rule(ni) if stdp else None)


def periphery(ni, device, n_in):
    """Crossbar options beyond the card for a non-ideal run: a column ADC, if the engine has one.

    Its full scale covers the largest column sum expected in one step (mean
    number of input spikes per step plus five standard deviations, each at
    most one ``w_max``), so the ADC quantises without clipping the
    benchmark's normal drive; 8 bits.
    """
    if device == "ideal" or not hasattr(ni, "ADC"):
        return {}
    per_step = n_in * bn.RATE * bn.DT
    full_scale = (per_step + 5.0 * per_step**0.5 + 1.0) * bn.w_scale(n_in)
    return {"adc": ni.ADC(bits=8, full_scale=full_scale)}


def build(n_in, n_out, device, stdp, seed, weight_seed, precision="float64", threads=None):
    """The benchmark network; returns (net, crossbar, output spike monitor).

    With a real card every non-ideality the card describes applies (the
    crossbar is one chip instance sampled from the network seed), plus the
    column ADC of :func:`periphery`.
    """
    import neuroimc as ni

    net = ni.Network(dt=bn.DT, seed=seed, precision=precision, threads=threads)
    src = net.add(ni.PoissonSource(n_in, rate=bn.RATE))
    pop = net.add(ni.LIFPopulation(n_out, **bn.LIF))
    scale = bn.w_scale(n_in)
    xbar = ni.Crossbar.from_weights(bn.weights(n_in, n_out, weight_seed) * scale, device=device, w_max=scale,
                                    **periphery(ni, device, n_in))
    xbar = _connect(ni, net, src, pop, xbar, stdp)
    return net, xbar, net.monitor_spikes(pop)


def _plain(obj):
    """JSON-safe copy of a card (nested dicts of numbers and strings)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (bool, int, float, str)) or obj is None:
        return obj
    return repr(obj)


def stolen_s():
    """CPU time the host has taken from this virtual machine (all its CPUs, ``steal`` in ``/proc/stat``), seconds;
    None where there is no such file."""
    try:
        with open("/proc/stat") as fh:
            fields = fh.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def measure(spec):
    """One timed run; ``spec`` has n_in, n_out, duration, seed, weight_seed, device, variant."""
    t_start = time.perf_counter()
    import neuroimc as ni
    from neuroimc.kernels import background

    n_in, n_out, duration = spec["n_in"], spec["n_out"], spec["duration"]
    device, stdp = spec["device"], spec["variant"] == bn.STDP_NEUROIMC
    t_import = time.perf_counter()

    # warm-up: same device and variant on a tiny network, so that the timed run
    # neither compiles nor loads kernels from numba's cache
    net, _, _ = build(10, 5, device, stdp, seed=0, weight_seed=0, precision=spec.get("precision", "float64"),
                      threads=spec.get("threads"))
    net.background_work = 0  # the background catch-up thread too, which the timed run starts
    net.run(10 * bn.DT, progress=False)
    background.join_left()  # the run may end before its thread has loaded its kernel
    t_warm = time.perf_counter()

    precision = spec.get("precision", "float64")
    net, xbar, spikes = build(n_in, n_out, device, stdp, spec["seed"], spec["weight_seed"], precision,
                              spec.get("threads"))
    w_before = xbar.weights().copy() if stdp else None
    t_built = time.perf_counter()
    net.run(0.0, progress=False)  # packs the network (copies weights into the engine's buffer)
    t_packed = time.perf_counter()

    steal0 = stolen_s()
    c0 = time.process_time()
    w0 = time.perf_counter()
    net.run(duration, progress=False)
    wall = time.perf_counter() - w0
    cpu = time.process_time() - c0
    steal1 = stolen_s()

    if stdp and np.array_equal(w_before, xbar.weights()):
        raise RuntimeError("STDP was attached but no weight changed during the run")
    out_spikes = int(len(spikes.indices))
    result = {
        "simulator": "neuroimc",
        "neuroimc_version": ni.__version__,
        "device_card": _plain(dataclasses.asdict(ni.load_device(device))),
        "periphery": {k: repr(v) for k, v in periphery(ni, device, n_in).items()},
        "import_s": t_import - t_start,
        "warmup_s": t_warm - t_import,
        "setup_s": t_built - t_warm,
        "pack_s": t_packed - t_built,
        "run_wall_s": wall,
        "run_cpu_s": cpu,
        "input_spikes": int(xbar.row_reads),
        "synaptic_events": int(net.synaptic_events),
        "output_spikes": out_spikes,
        "output_rate_hz": out_spikes / (n_out * duration),
        "window_counts": bn.window_counts(spikes.times, duration),
        "precision": precision,
        "threads": net.threads,
        # what the second thread did, and the CPU time the host took from this virtual machine meanwhile: the
        # first places of a slow repetition to look
        "background_catch_ups": net.background_catch_ups if stdp else None,
        "stolen_s": None if steal0 is None or steal1 is None else steal1 - steal0,
        "weight_itemsize": int(xbar._w_eff.dtype.itemsize),
    }
    result.update(peak_rss_mb())
    return result


_STARTUP = """
import time
t0 = time.perf_counter()
import sys
sys.path.insert(0, {here!r})
import neuroimc
import _neuroimc_nets as nn
t1 = time.perf_counter()
net, _, _ = nn.build(10, 5, "ideal", {stdp!r}, seed=0, weight_seed=0)
if {background!r}:  # start the background catch-up thread however short the run
    net.threads, net.background_work = 2, 0
t2 = time.perf_counter()
net.run(1e-3, progress=False)
t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2)
"""


def startup():
    """Numba's first-call compile and a cached start, each in a fresh process.

    For the static and the STDP network in turn, two processes share a new,
    empty ``NUMBA_CACHE_DIR``: the first compiles every kernel of the ideal
    network and writes the cache, the second loads it.  ``first_run`` is the
    first ``net.run`` of a tiny network (10 inputs, 5 neurons, 1 ms): essentially
    all of it is compiling or loading kernels.  ``build_and_first_run_s`` adds
    building the network in the first process (which compiles what building
    needs): the figure to hold against Brian2's code generation, compilation and
    run.  The static figures keep their top-level keys; the STDP ones are under
    ``"stdp"``, and under ``"stdp_background"`` those of the STDP network made to start the background
    catch-up thread (which a run starts when it has enough to learn, ``Network.background_work``:
    a first run of the benchmark's STDP networks compiles that thread too).
    """
    here = os.path.dirname(os.path.abspath(__file__))
    result = {}
    for stdp, background in ((False, False), (True, False), (True, True)):
        out = []
        with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            for _ in range(2):
                code = _STARTUP.format(here=here, stdp=stdp, background=background)
                res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
                if res.returncode != 0:
                    raise RuntimeError(f"neuroimc start-up measurement failed:\n{res.stderr[-2000:]}")
                out.append([float(x) for x in res.stdout.split()[-3:]])
        (_, build_cold, first_cold), (imp, build, first_cached) = out
        import_build = imp + build
        figures = {
            "what": (f"fresh processes with an empty NUMBA_CACHE_DIR; first net.run of a 10x5 "
                     f"{'STDP' if stdp else 'static'} network, 1 ms"
                     + (", starting the background catch-up thread" if background else "")),
            "numba_compile_first_run_s": first_cold,
            "build_and_first_run_s": build_cold + first_cold,
            "cached_first_run_s": first_cached,
            "import_and_build_s": import_build,
            "cached_start_to_simulating_s": import_build + first_cached,
        }
        if background:
            result["stdp_background"] = figures
        elif stdp:
            result["stdp"] = figures
        else:
            result.update(figures)
    return result
