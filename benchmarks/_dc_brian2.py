"""The Diehl & Cook (2015) training network in Brian2, and the two ways Brian2 trains it.

Written against Brian2's own API from the parameter description of
``_dc_params.describe`` (read from a ``DiehlCook2015`` object), never through
neuroimc: an independent implementation of the same network::

    excitatory (N):  dv/dt = (v_rest - v + r_m*I_syn)/tau_m  (unless refractory)
                     dI_syn/dt = -I_syn/tau_syn,  dtheta/dt = -theta/tau_theta
                     v > v_thresh + theta  ->  v = v_reset, theta += theta_plus, refractory t_ref
    inhibitory (N):  the same without theta
    input i -> excitatory j:   I_syn_post += w*w_unit, triplet STDP on w in [w_min, w_max]
    excitatory j -> inhibitory j:         I_syn_post += w_ei
    inhibitory j -> excitatory k != j:    I_syn_post -= w_ie

The learning synapses carry Brian2's usual per-synapse event-driven traces
(Pfister & Gerstner's rule as in ``neuroimc.learning.TripletSTDP``; with
nearest-spike pairing a spike sets its traces to 1)::

    on_pre:  I_syn_post += w*w_unit;  w = clip(w - o1*(a2_minus + a3_minus*r2), w_min, w_max);  r1 = 1;  r2 = 1
    on_post: w = clip(w + r1*(a2_plus + a3_plus*o2), w_min, w_max);  o1 = 1;  o2 = 1

Each pathway reads the slow trace of its own side before the spike sets it.
Terms whose coefficient is zero are left out, with the trace only they use
(Diehl & Cook's rule needs three traces: r1, o1, o2), so Brian2 is not charged
for arithmetic the rule does not do.  The synapse objects are named so that
Brian2 runs their presynaptic pathways in neuroimc's order (exc -> inh, inh ->
exc, input -> exc; all before the postsynaptic STDP pathway): the same sums
in the same order, which lets a replayed input give identical spikes.

Two forms are timed (each in its own worker process, see ``_worker.py``):

``loop`` (runtime target, cython or numpy)
    The protocol exactly, in a Python loop over images as a Brian2 user writes
    it: scale each neuron's input weights to ``input_total`` (numpy on
    ``S.w``), set the Poisson rates, run the presentation, count the
    excitatory spikes, run the rest, and show the image again with the rate
    raised by ``rate_step`` if it drew fewer than ``min_spikes`` spikes.
``standalone`` (cpp_standalone)
    The whole subset as one compiled run: the rates come from a
    ``TimedArray`` indexed by image (zero during the rest), and a summed
    variable plus ``run_regularly`` at the start of every image does the
    synaptic scaling.  There is no re-presentation (a compiled run cannot
    branch on a spike count between presentations): it omits the boost, so
    its time is a lower bound for Brian2 on this protocol.
"""
import gc
import os
import time

import numpy as np

from _brian2_nets import build_and_run, insert_timers, standalone_device
from _peak_memory import peak_rss_mb

LIF_EQS = """
dv/dt = (v_rest - v + r_m*I_syn)/tau_m : volt (unless refractory)
dI_syn/dt = -I_syn/tau_syn : amp
"""
# Brian2 runs objects of one schedule slot in the order of (order, name): these names put the
# presynaptic pathways in neuroimc's order of nodes (excitatory, inhibitory, then the inputs)
NAMES = {"exc_inh": "dc1_exc_inh", "inh_exc": "dc2_inh_exc", "input": "dc3_input_exc"}


# ------------------------------------------------------------------------------------ model text
def neuron_model(pop, extra=""):
    """``(equations, threshold, reset)`` of one population (``pop``: a ``_dc_params.population`` dict)."""
    eqs, threshold, reset = LIF_EQS, "v > v_thresh", "v = v_reset"
    if pop["theta_plus"] > 0.0:
        # no decay (tau_theta None = infinite): theta is a parameter that only the reset changes
        eqs += "dtheta/dt = -theta/tau_theta : volt\n" if pop["tau_theta"] is not None else "theta : volt\n"
        threshold, reset = "v > v_thresh + theta", "v = v_reset\ntheta += theta_plus"
    return eqs + extra, threshold, reset


def neuron_namespace(b2, pop):
    ns = {"tau_m": pop["tau_m"] * b2.second, "v_rest": pop["v_rest"] * b2.volt, "v_reset": pop["v_reset"] * b2.volt,
          "v_thresh": pop["v_thresh"] * b2.volt, "tau_syn": pop["tau_syn"] * b2.second, "r_m": pop["r_m"] * b2.ohm,
          "theta_plus": pop["theta_plus"] * b2.volt}
    if pop["tau_theta"] is not None:
        ns["tau_theta"] = pop["tau_theta"] * b2.second
    return ns


def triplet_model(rule):
    """``(model, on_pre, on_post, traces)`` of the triplet rule, without the terms whose coefficient is 0."""
    if rule["rule"] not in ("additive", "soft_bound") or rule["pairing"] not in ("nearest", "all_to_all"):
        raise ValueError(f"rule must be additive or soft_bound with nearest or all_to_all pairing, got "
                         f"{rule['rule']!r}/{rule['pairing']!r}")
    dep = [t for t, a in (("a2_minus", rule["a2_minus"]), ("a3_minus*r2", rule["a3_minus"])) if a != 0.0]
    pot = [t for t, a in (("a2_plus", rule["a2_plus"]), ("a3_plus*o2", rule["a3_plus"])) if a != 0.0]
    depression = f"o1*({' + '.join(dep)})" if dep else ""
    potentiation = f"r1*({' + '.join(pot)})" if pot else ""
    if rule["rule"] == "soft_bound":
        depression = depression and f"{depression}*(w - w_min)"
        potentiation = potentiation and f"{potentiation}*(w_max - w)"
    text = depression + potentiation
    # a trace is kept when a weight change reads it
    traces = [(name, tau) for name, tau in (("r1", "tau_plus"), ("r2", "tau_x"), ("o1", "tau_minus"),
                                            ("o2", "tau_y")) if name in text]
    model = "w : 1\n" + "".join(f"d{x}/dt = -{x}/{tau} : 1 (event-driven)\n" for x, tau in traces)
    op = "=" if rule["pairing"] == "nearest" else "+="
    names = [x for x, _ in traces]
    on_pre = ["I_syn_post += w*w_unit"]
    if depression:
        on_pre.append(f"w = clip(w - {depression}, w_min, w_max)")
    on_pre += [f"{x} {op} 1" for x in ("r1", "r2") if x in names]  # after the change: read before the step
    on_post = [f"w = clip(w + {potentiation}, w_min, w_max)"] if potentiation else []
    on_post += [f"{x} {op} 1" for x in ("o1", "o2") if x in names]
    return model, "\n".join(on_pre), "\n".join(on_post), names


def synapse_namespace(b2, p):
    r = p["rule"]
    ns = {k: r[k] for k in ("a2_plus", "a3_plus", "a2_minus", "a3_minus", "w_min", "w_max")}
    ns.update({k: r[k] * b2.second for k in ("tau_plus", "tau_minus", "tau_x", "tau_y")})
    ns["w_unit"] = p["w_unit"] * b2.amp
    return ns


# ------------------------------------------------------------------------------------ network
class Twin:
    """The Brian2 objects of one network (``net`` holds them all)."""

    def __init__(self, **objects):
        self.__dict__.update(objects)


def build(b2, p, w0, inp, *, summed_scaling=False, record=False):
    """The network around the input group ``inp`` (a PoissonGroup or SpikeGeneratorGroup).

    ``summed_scaling`` adds the column sum of the input weights as a summed variable ``colsum``
    of the excitatory group (the standalone form's synaptic scaling); ``record`` a SpikeMonitor
    with spike times (otherwise spikes are only counted, per neuron).
    """
    dt = p["dt"] * b2.second
    n, n_in = p["n_neurons"], p["n_input"]
    eqs, threshold, reset = neuron_model(p["exc"], "colsum : 1\n" if summed_scaling else "")
    exc = b2.NeuronGroup(n, eqs, threshold=threshold, reset=reset, refractory=p["exc"]["t_ref"] * b2.second,
                         method="exact", namespace=neuron_namespace(b2, p["exc"]), dt=dt, name="excitatory")
    eqs, threshold, reset = neuron_model(p["inh"])
    inh = b2.NeuronGroup(n, eqs, threshold=threshold, reset=reset, refractory=p["inh"]["t_ref"] * b2.second,
                         method="exact", namespace=neuron_namespace(b2, p["inh"]), dt=dt, name="inhibitory")
    exc.v = p["exc"]["v_rest"] * b2.volt
    inh.v = p["inh"]["v_rest"] * b2.volt
    ei = b2.Synapses(exc, inh, on_pre="I_syn_post += w_ei", namespace={"w_ei": p["w_ei"] * b2.amp}, dt=dt,
                     name=NAMES["exc_inh"])
    ei.connect(j="i")
    ie = b2.Synapses(inh, exc, on_pre="I_syn_post -= w_ie", namespace={"w_ie": p["w_ie"] * b2.amp}, dt=dt,
                     name=NAMES["inh_exc"])
    ie.connect(condition="i != j")
    model, on_pre, on_post, _ = triplet_model(p["rule"])
    namespace = synapse_namespace(b2, p)
    if summed_scaling:
        model += "colsum_post = w : 1 (summed)\n"
        namespace.update(input_total=p["input_total"], rtol=p["normalize_rtol"])
    S = b2.Synapses(inp, exc, model, on_pre=on_pre, on_post=on_post, namespace=namespace, dt=dt,
                    name=NAMES["input"])
    ii, jj = np.divmod(np.arange(n_in * n), n)  # row-major: synapse k is (k // n, k % n), as w0.ravel()
    S.connect(i=ii, j=jj)
    S.w = np.asarray(w0, np.float64).ravel()
    counter = b2.SpikeMonitor(exc, record=record, name="exc_spikes")
    net = b2.Network(inp, exc, inh, ei, ie, S, counter, name="diehl_cook")
    return Twin(net=net, inp=inp, exc=exc, inh=inh, S=S, counter=counter)


def check_order(S, n_in, n):
    """The synapses must be stored row-major for ``S.w`` to be ``W.ravel()``."""
    k = np.asarray(S.i[:], np.int64) * n + np.asarray(S.j[:], np.int64)
    if not np.array_equal(k, np.arange(n_in * n)):
        raise RuntimeError("Brian2 stored the input synapses in an unexpected order")


def _theta(twin, b2):
    return np.asarray(twin.exc.theta[:] / b2.volt, np.float64) if hasattr(twin.exc, "theta") else None


def _spike_list(twin, b2, dt):
    steps = np.round(np.asarray(twin.counter.t / b2.second) / dt).astype(np.int64)
    return steps, np.asarray(twin.counter.i[:], np.int64)


# ------------------------------------------------------------------------------------ loop form
class _GcClock:
    """A ``gc.callbacks`` hook adding up the time spent in garbage collections (read, never changed)."""

    def __init__(self):
        self.total, self._t0 = 0.0, None

    def __call__(self, phase, info):
        if phase == "start":
            self._t0 = time.perf_counter()
        elif self._t0 is not None:
            self.total += time.perf_counter() - self._t0
            self._t0 = None


def normalise(W, total, rtol, w_min, w_max):
    """neuroimc's synaptic scaling, in numpy: each column times ``total / sum``, clipped to the rule's bounds.

    Columns whose factor is within ``rtol`` of 1, or whose sum is not positive, are left alone
    (as ``Crossbar.normalize_columns`` does).
    """
    sums = W.sum(axis=0)
    factors = np.ones_like(sums)
    ok = sums > 0.0
    factors[ok] = total / sums[ok]
    factors[np.abs(factors - 1.0) <= rtol] = 1.0
    return np.clip(W * factors, w_min, w_max)


def train_loop(b2, p, w0, images, replay=None, progress=False, desc="Brian2 loop"):
    """Train on ``images`` with the protocol in a Python loop; per-image records and wall times.

    ``replay = (indices, times)`` drives the network with these input spikes instead of Poisson
    trains (absolute times: the caller recorded them in a run of the same protocol).
    """
    from tqdm.auto import tqdm

    n, n_in, sched = p["n_neurons"], p["n_input"], p["schedule"]
    dt = p["dt"] * b2.second
    if replay is None:
        inp = b2.PoissonGroup(n_in, rates=0 * b2.Hz, dt=dt, name="input")
    else:
        inp = b2.SpikeGeneratorGroup(n_in, replay[0], replay[1] * b2.second, dt=dt, name="input")
    twin = build(b2, p, w0, inp, record=replay is not None)
    S, counter, net = twin.S, twin.counter, twin.net
    rule = p["rule"]
    images = np.asarray(images, np.float64).reshape(len(images), n_in)
    accepted = np.zeros(len(images), np.int64)  # excitatory spikes of the accepted presentation
    totals = np.zeros(len(images), np.int64)  # all excitatory spikes of the image (every attempt and rest)
    attempts = np.zeros(len(images), np.int64)

    def _show(k):
        """Show image ``k`` until accepted; returns the wall-clock and CPU time it took."""
        t0, c0 = time.perf_counter(), time.process_time()
        start = int(counter.count[:].sum())
        for attempt in range(sched["max_attempts"]):
            W = normalise(np.asarray(S.w[:]).reshape(n_in, n), p["input_total"], p["normalize_rtol"],
                          rule["w_min"], rule["w_max"])
            S.w[:] = W.ravel()
            if replay is None:
                peak = sched["max_rate"] + attempt * sched["rate_step"]
                inp.rates = images[k] / sched["full_scale"] * peak * b2.Hz
            before = int(counter.count[:].sum())
            net.run(sched["presentation"] * b2.second, namespace={})
            drawn = int(counter.count[:].sum()) - before
            if replay is None:
                inp.rates = 0 * b2.Hz
            if sched["rest"] > 0:
                net.run(sched["rest"] * b2.second, namespace={})
            accepted[k], attempts[k] = drawn, attempt + 1
            if drawn >= sched["min_spikes"]:
                break
        else:
            attempts[k] = sched["max_attempts"] + 1  # neuroimc's mark of an image never accepted
        totals[k] = int(counter.count[:].sum()) - start
        return time.perf_counter() - t0, time.process_time() - c0

    walls, cpus = np.zeros(len(images)), np.zeros(len(images))
    gc_s = np.zeros(len(images))  # of which in garbage collections (Network.run starts with gc.collect())
    clock = _GcClock()
    gc.callbacks.append(clock)
    try:
        for k in tqdm(range(len(images)), desc=desc, unit="img", disable=not progress, leave=False):
            clock.total = 0.0
            walls[k], cpus[k] = _show(k)
            gc_s[k] = clock.total
    finally:
        gc.callbacks.remove(clock)
    check_order(S, n_in, n)
    out = {"accepted_spikes": accepted, "total_spikes": totals, "attempts": attempts, "walls": walls, "cpus": cpus,
           "gc_s": gc_s,
           "theta": _theta(twin, b2), "W": np.asarray(S.w[:], np.float64).reshape(n_in, n)}
    if replay is not None:
        out["spike_steps"], out["spike_indices"] = _spike_list(twin, b2, p["dt"])
    return out


def _count_modules(folder):
    return sum(sum(f.endswith((".so", ".pyd")) for f in files) for _, _, files in os.walk(folder))


def measure_loop(spec):
    """Form ``loop``: warm-up images (code generation, and compilation unless cached), then the timed images.

    The benchmark compiles in a process of its own first (``n_images = 0``), so that the timed
    process only loads the modules: Brian2 collects garbage at every ``net.run``, and a process that
    has run Cython's compiler holds more objects to collect.
    """
    t_start = time.perf_counter()
    import brian2 as b2

    target = spec["target"]
    b2.prefs.codegen.target = target
    b2.prefs.core.default_float_dtype = np.float64
    if target == "cython":
        b2.prefs.codegen.runtime.cython.cache_dir = spec["cython_cache"]
    b2.seed(spec["seed"])
    p = spec["params"]
    w0 = np.load(spec["w0_path"])
    images = np.load(spec["images_path"])[:spec["n_warmup"] + spec["n_images"]]
    replay = None
    if spec.get("replay_path"):
        rec = np.load(spec["replay_path"])
        replay = (rec["input_indices"], rec["input_times"])
    modules0 = _count_modules(spec["cython_cache"]) if target == "cython" else None
    t_import = time.perf_counter()
    out = train_loop(b2, p, w0, images, replay=replay, progress=spec.get("progress", False),
                     desc=f"Brian2 {target} loop")
    warm, timed = slice(0, spec["n_warmup"]), slice(spec["n_warmup"], None)
    wall = float(out["walls"][timed].sum())
    result = {
        "form": "loop",
        "target": target,
        "brian2_version": b2.__version__,
        "import_s": t_import - t_start,
        "warmup_images": spec["n_warmup"],
        # the first image generates (and compiles, or loads from the cache) every code object
        "warmup_s": float(out["walls"][warm].sum()),
        "compiled_modules": None if modules0 is None else _count_modules(spec["cython_cache"]) - modules0,
        "images": spec["n_images"],
        "run_wall_s": wall,
        "run_cpu_s": float(out["cpus"][timed].sum()),
        "s_per_image": wall / spec["n_images"] if spec["n_images"] else None,
        "presentations_per_image": float(out["attempts"][timed].mean()) if spec["n_images"] else None,
        # Brian2's Network.run begins with a full gc.collect(): its share, and the time without it
        "gc_s": float(out["gc_s"][timed].sum()),
        "s_per_image_without_gc": ((wall - float(out["gc_s"][timed].sum())) / spec["n_images"]
                                   if spec["n_images"] else None),
        "gc_objects": len(gc.get_objects()),
        "theta_mean_v": None if out["theta"] is None else float(out["theta"].mean()),
        "per_image": {k: out[k].tolist() for k in ("accepted_spikes", "total_spikes", "attempts", "walls", "gc_s")},
    }
    if replay is not None:
        _save_state(spec["state_path"], out)
    result.update(peak_rss_mb())
    return result


def _save_state(path, out):
    np.savez(path, theta=out["theta"], W=out["W"], spike_steps=out["spike_steps"],
             spike_indices=out["spike_indices"])


# ------------------------------------------------------------------------------------ standalone form
def _steps(seconds, dt, what):
    k = round(seconds / dt)
    if abs(seconds / dt - k) > 1e-6:
        raise ValueError(f"{what} = {seconds:g} s is not a whole number of steps of dt = {dt:g} s")
    return int(k)


def measure_standalone(spec):
    """Form ``standalone``: build and compile the whole subset as one run, then run the binary."""
    t_start = time.perf_counter()
    import brian2 as b2

    project = spec["project_dir"]
    standalone_device(b2, project, spec["seed"])
    t_import = time.perf_counter()
    p, sched = spec["params"], spec["params"]["schedule"]
    n, n_in, n_img = p["n_neurons"], p["n_input"], spec["n_images"]
    dt = p["dt"] * b2.second
    pres = _steps(sched["presentation"], p["dt"], "presentation")
    period = pres + _steps(sched["rest"], p["dt"], "rest")
    w0 = np.load(spec["w0_path"])
    if spec.get("replay_path"):
        rec = np.load(spec["replay_path"])
        inp = b2.SpikeGeneratorGroup(n_in, rec["input_indices"], rec["input_times"] * b2.second, dt=dt, name="input")
    else:
        images = np.load(spec["images_path"])[:n_img].reshape(n_img, n_in).astype(np.float64)
        # one row of rates per image, looked up by time; zero outside the presentation window
        stim = b2.TimedArray(images / sched["full_scale"] * sched["max_rate"] * b2.Hz, dt=period * dt, name="stim")
        inp = b2.PoissonGroup(n_in, rates="stim(t, i) * int(timestep(t, dt) % period_steps < presentation_steps)",
                              dt=dt, name="input",
                              namespace={"stim": stim, "period_steps": period, "presentation_steps": pres})
    twin = build(b2, p, w0, inp, summed_scaling=True, record=True)
    # Synaptic scaling at every image start.  Brian2 evaluates a summed variable on its target's clock,
    # i.e. every step over all n_input x N synapses (more work than the simulation itself); only the sum
    # at each image start is needed, so its updater moves to the image clock, before the scaling.
    image_clock = b2.Clock(dt=period * dt, name="image_clock")
    updater = twin.S.summed_updaters["colsum_post"]
    updater._clock = image_clock
    twin.S.run_regularly(
        "factor = input_total / (colsum_post + int(colsum_post <= 0))\n"
        "factor = factor * int(abs(factor - 1) > rtol) + int(abs(factor - 1) <= rtol)\n"
        "w = clip(w * factor, w_min, w_max)",
        clock=image_clock, when="groups", order=updater.order + 1, name="synaptic_scaling")
    insert_timers(b2)
    twin.net.run(n_img * period * dt, namespace={})  # queued into the C++ project
    if updater.clock is not image_clock:
        raise RuntimeError("Brian2 did not take the summed variable onto the image clock")
    t_built, figures = build_and_run(b2, project)
    check_order(twin.S, n_in, n)
    steps, idx = _spike_list(twin, b2, p["dt"])
    image = steps // period
    shown = steps % period < pres
    first = np.bincount(image[shown], minlength=n_img)[:n_img]
    totals = np.bincount(image, minlength=n_img)[:n_img]
    theta = _theta(twin, b2)
    result = {
        "form": "standalone",
        "target": "cpp_standalone",
        "brian2_version": b2.__version__,
        "import_s": t_import - t_start,
        "setup_s": t_built - t_import,
        **figures,
        "images": n_img,
        "s_per_image": figures["run_wall_s"] / n_img,
        "openmp_threads": int(b2.prefs.devices.cpp_standalone.openmp_threads),
        "compile_flags": list(b2.prefs.codegen.cpp.extra_compile_args_gcc),
        "theta_mean_v": None if theta is None else float(theta.mean()),
        "per_image": {"first_presentation_spikes": first.tolist(), "total_spikes": totals.tolist()},
        "driver_peak_rss_mb": peak_rss_mb()["peak_rss_mb"],
    }
    if spec.get("replay_path"):
        _save_state(spec["state_path"], {"theta": theta, "W": np.asarray(twin.S.w[:], np.float64).reshape(n_in, n),
                                         "spike_steps": steps, "spike_indices": idx})
    return result


def measure(spec):
    if spec["form"] == "standalone":
        return measure_standalone(spec)
    if spec["form"] == "loop":
        return measure_loop(spec)
    raise ValueError(f"form must be 'loop' or 'standalone', got {spec['form']!r}")
