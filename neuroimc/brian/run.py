"""Reference runs: a network and its Brian2 twin, from the same state, side by side."""
import time

import numpy as np
from tqdm.auto import tqdm

import brian2 as b2

from .. import _checks
from ..inputs import PoissonSource
from ..network import Network
from .build import build_twin, snapshot, source_replay
from .results import PopulationRecord, ReferenceRun, RunResult, WeightRecord


def _record_indices(net, record_v):
    """Neurons whose ``v`` is recorded, per population (see :func:`reference_run`)."""
    if record_v is True:
        return {id(p): np.arange(p.n) for p in net.populations}
    if isinstance(record_v, (int, np.integer)) and not isinstance(record_v, (bool, np.bool_)):
        k = _checks.integer("record_v", record_v, low=0)
        # evenly spread over the population, ends included
        return {
            id(p): np.unique(np.linspace(0, p.n - 1, min(k, p.n)).round().astype(np.int64)) for p in net.populations
        }
    if hasattr(record_v, "items"):
        out = {id(p): np.zeros(0, np.int64) for p in net.populations}
        for pop, idx in record_v.items():
            if id(pop) not in out:
                raise ValueError(f"record_v: {pop!r} is not a population of this network")
            idx = np.asarray(idx)
            if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
                raise TypeError(f"record_v[{pop!r}] must be a 1-d sequence of neuron indices, got {idx!r}")
            if idx.size and (idx.min() < 0 or idx.max() >= pop.n):
                raise ValueError(f"record_v[{pop!r}] indices must lie in [0, {pop.n}), got {idx!r}")
            out[id(pop)] = idx.astype(np.int64)
        return out
    raise TypeError(
        f"record_v must be True, a number of neurons per population or a mapping {{population: indices}}, "
        f"got {record_v!r}"
    )


def reference_run(net, duration, record_v=16, weights="target", target="numpy", progress=True):
    """Run ``net`` and its Brian2 twin for ``duration`` from the same state.

    The twin is built (:func:`~neuroimc.brian.to_brian2`'s rules) from a
    snapshot of ``net`` taken before the run; spike monitors put on every
    Poisson source record what neuroimc draws, and the twin replays exactly
    those spikes.  The network is then advanced by ``duration`` (it keeps the
    monitors this function adds).  Plastic crossbars learn on both sides (the
    twin with the ideal STDP rule, whatever the device card: the reference of
    what the hardware should learn); both results carry their initial and
    final weights (:class:`WeightRecord`), which :func:`compare` compares.

    Parameters
    ----------
    net : neuroimc.Network
    duration : float
        Seconds (a whole number of time steps).
    record_v : int, True or mapping
        Neurons whose membrane potential both sides record: a number per
        population (spread evenly, default 16), ``True`` for all, or
        ``{population: indices}``.
    weights : ``"target"``, ``"effective"`` or mapping
        Weights of the twin.  ``"target"`` (default): the weights a crossbar was
        asked to hold by :func:`~neuroimc.brian.from_brian2` (so the comparison
        shows what the hardware does to the model), else its effective weights
        now; ``"effective"``: the crossbars' effective current jumps now;
        ``{crossbar: W}``: given weights (amperes) for some crossbars.
    target : str
        Brian2 code-generation target (default ``"numpy"``).
    progress : bool
        Progress bars for both simulations.

    Returns
    -------
    ReferenceRun
        ``(neuroimc, brian2)`` :class:`RunResult` pair; ``compare(*run)`` reports
        their agreement.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a neuroimc Network, got {type(net).__name__}")
    duration = _checks.non_negative("duration", duration)
    n_steps = int(round(duration / net.dt))
    if abs(n_steps * net.dt - duration) > 1e-6 * net.dt:
        raise ValueError(f"duration must be a whole number of time steps dt = {net.dt} s, got {duration} s")
    if not net.populations:
        raise ValueError("net has no population: there is nothing to compare")
    records = _record_indices(net, record_v)
    snap = snapshot(net, weights)

    pops = [(pop, label) for pop, label, *_ in snap.populations]
    spikes = {label: net.monitor_spikes(pop) for pop, label in pops}
    traces = {
        label: net.monitor_state(pop, "v", record=records[id(pop)]) for pop, label in pops if records[id(pop)].size
    }
    drawn = {s: net.monitor_spikes(s) for s in net.sources if isinstance(s, PoissonSource)}
    plastic = [(xb, name, W) for xb, name, W in snap.crossbars if name in snap.plastic]
    initial = {name: xb.weights() for xb, name, _ in plastic}
    t0 = time.perf_counter()
    net.run(duration, progress=progress)
    ni_wall = time.perf_counter() - t0
    ours = {}
    for pop, label in pops:
        v = traces[label].values if label in traces else np.zeros((n_steps, 0))
        ours[label] = PopulationRecord(
            label, pop.n, spikes[label].indices.copy(), spikes[label].steps - snap.step0, records[id(pop)], v
        )
    devices = sorted({xb.device.name for xb in net.crossbars})
    ni_weights = {
        name: WeightRecord(name, xb.w_max, initial[name], xb.weights()) for xb, name, _ in plastic
    }
    ni_result = RunResult("neuroimc", net.dt, duration, ours, ni_wall, {"devices": devices}, ni_weights)

    replay = source_replay(snap, drawn)
    state_specs = [(label, "v", records[id(pop)]) for pop, label in pops if records[id(pop)].size]
    twin = build_twin(snap, replay, [label for _, label in pops], state_specs, target)
    t0 = time.perf_counter()
    with tqdm(total=n_steps, unit="step", desc="brian2", disable=not progress, leave=False) as bar:

        def report(elapsed, completed, start, total):
            bar.n = int(round(completed * n_steps))
            bar.refresh()

        twin.network.run(
            duration * b2.second, namespace={}, report=report if progress else None, report_period=1 * b2.second
        )
    b2_wall = time.perf_counter() - t0
    theirs = {}
    v_mons = {label: mon for label, _, _, mon in twin.state_monitors}
    for pop, label in pops:
        mon = twin.spike_monitors[label]
        steps = np.round(np.asarray(mon.t_) / net.dt).astype(np.int64)
        v = np.asarray(v_mons[label].v_).T.copy() if label in v_mons else np.zeros((n_steps, 0))
        theirs[label] = PopulationRecord(label, pop.n, np.asarray(mon.i, np.int64), steps, records[id(pop)], v)
    info = {"target": target, "weights": weights if isinstance(weights, str) else "given"}
    if plastic:
        rules = sorted({type(xb.plasticity).__name__ for xb in net.crossbars if xb.plasticity is not None})
        info["plasticity"] = (f"ideal {' and '.join(rules)} (the same rule on exact weights)" if net.learning
                              else "frozen (learning = False): static synapses")
    b2_weights = {
        name: WeightRecord(name, snap.plastic[name].w_scale, W.copy(), twin.final_weights(name, W.shape))
        for _, name, W in plastic
    }
    b2_result = RunResult("brian2", net.dt, duration, theirs, b2_wall, info, b2_weights)
    return ReferenceRun(ni_result, b2_result)
