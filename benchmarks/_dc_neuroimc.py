"""neuroimc's side of the training benchmark: the timed pass, and the runs Brian2 is checked against.

Both run in their own worker process (``_worker.py``) on a fresh
``DiehlCook2015`` built from the spec (its initial weights must equal the ones
the Brian2 twin was given: same constructor, same seed).

``time``
    ``model.present(images, learn=True)`` exactly as a user trains: after
    ``n_warmup`` images on the same model (numba kernels loaded from their
    cache, buffers packed), the next ``n_images`` are timed.  With ``full``
    the kernels are loaded on a tiny throw-away model instead and the whole
    image set is timed in one call, from the untrained network.
``stats``
    The per-image records the Brian2 runs are compared with, for two
    protocols: ``protocol`` (the model's own schedule, with re-presentation:
    Brian2's loop form) and ``no_boost`` (``max_attempts = 1``: one
    presentation per image, Brian2's standalone form).  Each image is shown by
    its own ``present`` call so that the spikes of every attempt and rest can
    be counted; the input spikes of the first ``n_replay`` images are saved for
    Brian2 to replay, with the state (theta, weights, excitatory spikes) they
    led to.
"""
import dataclasses
import time

import numpy as np

from _peak_memory import peak_rss_mb


def make_model(spec, protocol="protocol"):
    """The benchmark's ``DiehlCook2015``; its initial weights are checked against the twin's."""
    from neuroimc.diehl_cook import DiehlCook2015

    model = DiehlCook2015(spec["n_input"], spec["n_neurons"], seed=spec["seed"])
    if protocol == "no_boost":
        model.schedule = dataclasses.replace(model.schedule, max_attempts=1)
    elif protocol != "protocol":
        raise ValueError(f"protocol must be 'protocol' or 'no_boost', got {protocol!r}")
    w0 = np.load(spec["w0_path"])
    if not np.array_equal(model.synapses.programmed_weights(), w0):
        raise RuntimeError("the neuroimc model's initial weights differ from the ones given to Brian2")
    return model


def measure_time(spec):
    t_start = time.perf_counter()
    import neuroimc as ni
    from neuroimc.diehl_cook import DiehlCook2015

    images = np.load(spec["images_path"], mmap_mode="r")
    t_import = time.perf_counter()
    if spec["full"]:
        DiehlCook2015(spec["n_input"], 2, seed=spec["seed"]).present(images[:1], progress=False)
        warm = slice(0, 0)
    else:
        warm = slice(0, spec["n_warmup"])
    t_warm_kernels = time.perf_counter()
    model = make_model(spec)
    t_built = time.perf_counter()
    if warm.stop:
        model.present(np.asarray(images[warm]), learn=True, progress=False)
    t_warm = time.perf_counter()
    # the full pass is every image of the set; a subset the n_images after the warm-up ones
    timed = np.asarray(images if spec["full"] else images[warm.stop:warm.stop + spec["n_images"]])
    c0, w0 = time.process_time(), time.perf_counter()
    responses, attempts = model.present(timed, learn=True, progress=spec.get("progress", False),
                                        desc="neuroimc training (timed)")
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    result = {
        "simulator": "neuroimc",
        "neuroimc_version": ni.__version__,
        "full_pass": bool(spec["full"]),
        "import_s": t_import - t_start,
        "kernel_warmup_s": t_warm_kernels - t_import,
        "setup_s": t_built - t_warm_kernels,
        "warmup_images": warm.stop,
        "warmup_s": t_warm - t_built,
        "images": len(timed),
        "run_wall_s": wall,
        "run_cpu_s": cpu,
        "s_per_image": wall / len(timed),
        "presentations_per_image": float(attempts.mean()),
        "accepted_spikes_per_image": float(responses.sum(axis=1).mean()),
        "theta_mean_v": float(model.exc.theta.mean()),
        "simulated_s": float(model.net.t),
    }
    result.update(peak_rss_mb())
    return result


def run_protocol(spec, images, protocol, n_replay, record_path):
    """Per-image records of one protocol; saves the replay of the first ``n_replay`` images."""
    model = make_model(spec, protocol)
    net, dt = model.net, model.net.dt
    inputs, outputs = net.monitor_spikes(model.input), net.monitor_spikes(model.exc)
    n = len(images)
    accepted, totals, attempts = (np.zeros(n, np.int64) for _ in range(3))
    snapshot = None
    for k in range(n):
        before = len(outputs)
        r, a = model.present(images[k:k + 1], learn=True, progress=False)
        accepted[k], attempts[k], totals[k] = r.sum(), a[0], len(outputs) - before
        if k + 1 == n_replay:
            snapshot = dict(t_end_steps=round(net.t / dt), theta=model.exc.theta.copy(),
                            W=model.synapses.programmed_weights().copy())
    if snapshot is not None:
        end = snapshot["t_end_steps"]
        keep_in, keep_out = inputs.steps < end, outputs.steps < end
        np.savez(record_path, input_indices=inputs.indices[keep_in].astype(np.int64),
                 input_times=inputs.steps[keep_in].astype(np.float64) * dt,
                 spike_steps=outputs.steps[keep_out].astype(np.int64),
                 spike_indices=outputs.indices[keep_out].astype(np.int64),
                 theta=snapshot["theta"], W=snapshot["W"], attempts=attempts[:n_replay],
                 duration_steps=np.int64(end))
    return {
        "images": n,
        "theta_mean_v": float(model.exc.theta.mean()),
        "simulated_s": float(net.t),
        "per_image": {"accepted_spikes": accepted.tolist(), "total_spikes": totals.tolist(),
                      "attempts": attempts.tolist()},
    }


def measure_stats(spec):
    images = np.load(spec["images_path"], mmap_mode="r")
    out = {"simulator": "neuroimc"}
    for protocol in ("protocol", "no_boost"):
        n = spec[f"n_{protocol}"]
        out[protocol] = run_protocol(spec, np.asarray(images[:n]), protocol, spec["n_replay"],
                                     spec[f"record_{protocol}_path"])
    return out


def measure(spec):
    if spec["mode"] == "time":
        return measure_time(spec)
    if spec["mode"] == "stats":
        return measure_stats(spec)
    raise ValueError(f"mode must be 'time' or 'stats', got {spec['mode']!r}")
