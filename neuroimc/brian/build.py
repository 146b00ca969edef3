"""The Brian2 twin of a neuroimc network.

:func:`to_brian2` rebuilds a network in Brian2 from its current state:

* each :class:`~neuroimc.LIFPopulation` becomes a ``NeuronGroup`` with the same
  model (:data:`LIF_EQUATIONS`, integrated with ``method='exact'``), its
  per-neuron parameters and its state (``v``, ``I_syn``, time of the last spike);
  a population with an adaptive threshold gets :data:`ADAPTIVE_LIF_EQUATIONS`
  (``dtheta/dt = -theta/tau_theta``, threshold ``v > v_thresh + theta``, reset
  ``v = v_reset; theta += theta_plus``) and its current ``theta``;
* each source becomes a ``SpikeGeneratorGroup`` that replays spikes: a recorded
  :class:`~neuroimc.SpikeSource` its own spikes, a
  :class:`~neuroimc.PoissonSource` the spikes neuroimc drew (recorded by a
  monitor), so that both simulators see identical input.  A Poisson source
  without recorded spikes becomes a ``PoissonGroup`` of the same rates: the
  same statistics, different draws;
* each crossbar becomes a dense ``Synapses`` (every row-column pair is a
  synapse, as every cell of a crossbar is a device) with
  ``on_pre='I_syn_post += w'`` and ``w`` the effective current jumps at build time;
* each plastic crossbar (:class:`~neuroimc.STDP`, :class:`~neuroimc.TripletSTDP`)
  becomes a dense ``Synapses`` with the same rule in Brian2 notation
  (:data:`~neuroimc.brian.stdp.STDP_MODEL`, :data:`~neuroimc.brian.stdp.TRIPLET_MODEL`):
  ``w`` the weights normalised by the crossbar's ``w_max`` (``w_scale``),
  traces ``apre[i, j]``/``apost[i, j]`` (triplet: ``r1``, ``r2``, ``o1``,
  ``o2``) the crossbar's per-neuron traces now.
  With ideal devices this is exactly what the chip computes.  On a non-ideal
  card the twin still learns with the *ideal* rule: it is the reference of what
  the hardware should have learned, and the comparison measures how far device
  physics (pulse granularity, nonlinear steps, write noise, wear...) moves the
  spikes and the weights from it;
* each spike or state monitor becomes its Brian2 counterpart.

A network with ``learning = False`` has a twin that does not learn either:
plastic crossbars become static synapses holding their weights now, and
adaptive thresholds hold their ``theta`` (threshold ``v > v_thresh + theta``,
no decay, no growth), as the chip does in its test phase.

Float sums.  In one step neuroimc adds the rows of spiking nodes to ``I_syn``
in the order neurons (population order), Poisson sources, recorded sources; each
node reads its outgoing crossbars in connection order.  Brian2 applies one
``Synapses`` pathway after the other, sorted by name.  The twin names its
pathways so that Brian2 applies them in the same order, so each ``I_syn`` is the
same sum in the same order.  (Only two crossbars between the *same* pair of
groups interleave differently: their sums can then differ in the last bit.)

The twin's time 0 is the network's current time ``net.t``.  All objects use
Brian2's runtime device and the given code-generation target, set per object
(``codeobj_class``), so Brian2's global preferences are left alone.
"""
import dataclasses
import re
import warnings
from dataclasses import dataclass

import numpy as np

import brian2 as b2
from brian2.codegen.targets import codegen_targets
from brian2.devices.device import RuntimeDevice, get_device
from brian2.stateupdaters.exact import exact as brian2_exact

from .. import _checks
from ..inputs import PoissonSource, SpikeSource
from ..monitors import SpikeMonitor
from ..network import Network
from ..neurons import NEVER
from .deploy import target_weights
from .stdp import plastic_twin

#: The model of :class:`~neuroimc.LIFPopulation` in Brian2 notation (SI units).
LIF_EQUATIONS = """
dv/dt = (v_rest - v + r_m*I_syn)/tau_m : volt (unless refractory)
dI_syn/dt = -I_syn/tau_syn : amp
v_rest : volt (constant)
v_reset : volt (constant)
v_thresh : volt (constant)
t_ref : second (constant)
r_m : ohm (constant)
tau_m : second (constant)
tau_syn : second (constant)
"""
LIF_THRESHOLD = "v > v_thresh"
LIF_RESET = "v = v_reset"
#: The model of an :class:`~neuroimc.LIFPopulation` with an adaptive threshold (``theta_plus > 0``).
ADAPTIVE_LIF_EQUATIONS = LIF_EQUATIONS + """
dtheta/dt = -theta/tau_theta : volt
theta_plus : volt (constant)
tau_theta : second (constant)
"""
ADAPTIVE_THRESHOLD = "v > v_thresh + theta"
ADAPTIVE_RESET = "v = v_reset\ntheta += theta_plus"
# learning = False: theta is held (neither decays nor grows) but still raises the threshold
_FROZEN_THETA_EQUATIONS = LIF_EQUATIONS + """
theta : volt (constant)
"""
# a string: Brian2 then evaluates timestep(t_ref, dt) per neuron, as neuroimc does
LIF_REFRACTORY = "t_ref"
_PARAMETERS = ("v_rest", "v_reset", "v_thresh", "t_ref", "r_m", "tau_m", "tau_syn")
_ADAPTATION = ("theta_plus", "tau_theta")
# Brian2's lastspike of a neuron that never spiked
_NEVER_SPIKED = -1e4


class _SharedExact:
    """Brian2's own ``exact`` integrator, its symbolic solution derived once per process.

    Every twin group has one of a few models (:data:`LIF_EQUATIONS`, or with an
    adaptive threshold :data:`ADAPTIVE_LIF_EQUATIONS`, all parameters per-neuron
    constants), but Brian2 caches the solution per group name and so redoes
    sympy's matrix exponential (about 1.5 s) for each group.
    The abstract code is Brian2's, unchanged; it is only reused.
    """

    __name__ = "exact"

    def __init__(self):
        self._code = {}

    def __call__(self, equations, variables=None, method_options=None):
        key = (str(equations), repr(method_options))
        if key not in self._code:
            self._code[key] = brian2_exact(equations, variables, method_options)
        return self._code[key]


_EXACT = _SharedExact()


def codeobj_class(target):
    """The Brian2 code-object class of a code-generation target name (``"numpy"``, ``"cython"``)."""
    names = sorted(t.class_name for t in codegen_targets if t.class_name)
    for cls in codegen_targets:
        if cls.class_name == target:
            return cls
    raise ValueError(f"target must be one of Brian2's code-generation targets {names}, got {target!r}")


def check_brian2_setup():
    """Refuse a standalone device; warn when Brian2 does not compute in float64."""
    device = get_device()
    if not isinstance(device, RuntimeDevice):
        raise ValueError(
            f"the Brian2 twin needs Brian2's runtime device, but the active device is {type(device).__name__}; "
            "call brian2.set_device('runtime') first"
        )
    if b2.prefs.core.default_float_dtype is not np.float64:
        warnings.warn(
            f"Brian2's prefs.core.default_float_dtype is {b2.prefs.core.default_float_dtype}; "
            "neuroimc computes in float64, so spikes will not be identical",
            stacklevel=3,
        )


# --------------------------------------------------------------------------- snapshot
@dataclass
class Snapshot:
    """A copy of what a network is at one moment: the starting point of its twin.

    ``populations`` holds ``(population, label, v, I_syn, lastspike_steps, theta)``,
    ``sources`` ``(source, label)``, ``crossbars`` ``(crossbar, name, W)`` with
    ``W`` the current jumps (amperes) the twin's synapses get, ``plastic`` a
    :class:`PlasticState` per plastic crossbar name.  ``step0`` is the
    network's step at the snapshot, the twin's time 0; ``learning`` is the
    network's :attr:`~neuroimc.Network.learning` (``False``: the twin does not learn).
    """

    dt: float
    step0: int
    populations: list
    sources: list
    crossbars: list
    labels: dict  # id(object) -> label
    taken: set  # Brian2 names in use
    plastic: dict  # crossbar name -> PlasticState
    learning: bool = True


@dataclass
class PlasticState:
    """A plastic crossbar at the snapshot: its rule, weight unit (amperes) and per-neuron traces.

    ``pre_trace2``/``post_trace2`` are the slow traces of a triplet rule (empty for pair STDP, and
    for a triplet rule whose triplet term on that side is zero: the chip does not keep them).
    """

    rule: object  # neuroimc.STDP or neuroimc.TripletSTDP
    w_scale: float
    pre_trace: np.ndarray
    post_trace: np.ndarray
    ideal: bool  # the card is ideal: the twin computes what the chip computes
    pre_trace2: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    post_trace2: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))

    @property
    def traces(self):
        """The per-neuron traces, fast ones first: ``(pre, post[, pre2, post2])``."""
        fast = (self.pre_trace, self.post_trace)
        return fast + ((self.pre_trace2, self.post_trace2) if self.rule.triplet else ())


def _identifier(name):
    text = re.sub(r"[^0-9A-Za-z_]", "_", str(name)).strip("_") or "group"
    return text if text[0].isalpha() else f"g_{text}"


def _unique(base, taken):
    name, k = base, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


def _emission_order(net):
    """Groups in the order neuroimc processes their spikes within a step."""
    poisson = [s for s in net.sources if isinstance(s, PoissonSource)]
    recorded = [s for s in net.sources if isinstance(s, SpikeSource)]
    return net.populations + poisson + recorded


def snapshot(net, weights="effective"):
    """Copy the state and weights of ``net`` now (see :class:`Snapshot`).

    ``weights``: ``"effective"`` (each crossbar's current jumps now),
    ``"target"`` (the weights :func:`~neuroimc.brian.from_brian2` deployed, where
    known, else effective) or a mapping ``{crossbar: W}`` (amperes) overriding
    some crossbars.
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a neuroimc Network, got {type(net).__name__}")
    chosen = _choose_weights(net, weights)
    taken = set()
    labels = {id(g): _unique(_identifier(g.name), taken) for g in net.populations + net.sources}
    step0 = int(round(net.t / net.dt))
    pops = [
        (p, labels[id(p)], p.v.copy(), p.I_syn.copy(), p.lastspike.copy(), p.theta.copy()) for p in net.populations
    ]
    rank = {id(g): k for k, g in enumerate(_emission_order(net))}
    order = sorted(range(len(net.crossbars)), key=lambda x: (rank[id(net.crossbars[x].pre)], x))
    width = len(str(max(len(order) - 1, 0)))
    xbars = [None] * len(order)
    plastic = {}
    for r, x in enumerate(order):
        xb = net.crossbars[x]
        # the rank prefix makes Brian2 (which sorts pathways by name) apply them in neuroimc's order
        name = _unique(f"xb{r:0{width}d}_{labels[id(xb.pre)]}_to_{labels[id(xb.post)]}", taken)
        xbars[x] = (xb, name, chosen[x])
        if xb.plasticity is not None:
            plastic[name] = PlasticState(xb.plasticity, xb.w_max, xb._pre_trace.copy(), xb._post_trace.copy(),
                                         xb.device.is_ideal, xb._pre_trace2.copy(), xb._post_trace2.copy())
    return Snapshot(
        dt=net.dt,
        step0=step0,
        populations=pops,
        sources=[(s, labels[id(s)]) for s in net.sources],
        crossbars=xbars,
        labels=labels,
        taken=taken,
        plastic=plastic,
        learning=net.learning,
    )


def _choose_weights(net, weights):
    if isinstance(weights, str):
        if weights not in ("effective", "target"):
            raise ValueError(f"weights must be 'effective', 'target' or a mapping {{crossbar: W}}, got {weights!r}")
        if weights == "effective":
            return [xb.weights().copy() for xb in net.crossbars]
        out = []
        for xb in net.crossbars:
            W = target_weights(xb)
            # a plastic crossbar's deployed weights are its target only until it has learned (t = 0)
            stale = xb.plasticity is not None and net.t != 0.0
            out.append(xb.weights().copy() if W is None or stale else W.copy())
        return out
    if not hasattr(weights, "items"):
        raise TypeError(
            f"weights must be 'effective', 'target' or a mapping {{crossbar: W}}, got {type(weights).__name__}"
        )
    chosen = [xb.weights().copy() for xb in net.crossbars]
    position = {id(xb): x for x, xb in enumerate(net.crossbars)}
    for xb, W in weights.items():
        if id(xb) not in position:
            raise ValueError(f"weights: {xb!r} is not a crossbar of this network")
        W = np.asarray(W, dtype=np.float64)
        if W.shape != xb.shape:
            raise ValueError(f"weights for {xb!r} must have shape {xb.shape}, got {W.shape}")
        if not np.isfinite(W).all():
            raise ValueError(f"weights for {xb!r} must be finite")
        chosen[position[id(xb)]] = W.copy()
    return chosen


def _neuron_model(pop, theta, learning):
    """``(equations, threshold, reset)`` of a population's twin.

    The plain LIF model unless the threshold adapts or has adapted (``theta``
    not all zero); with ``learning`` off, ``theta`` is a constant the threshold adds.
    """
    if not (pop.adaptive or np.any(theta != 0.0)):
        return LIF_EQUATIONS, LIF_THRESHOLD, LIF_RESET
    if not learning:
        return _FROZEN_THETA_EQUATIONS, ADAPTIVE_THRESHOLD, LIF_RESET
    return ADAPTIVE_LIF_EQUATIONS, ADAPTIVE_THRESHOLD, ADAPTIVE_RESET


# --------------------------------------------------------------------------- twin
@dataclass
class Twin:
    """A built Brian2 twin and handles on its parts (keyed by neuroimc labels)."""

    network: object  # brian2.Network
    groups: dict
    spike_monitors: dict  # label -> brian2.SpikeMonitor
    state_monitors: list  # (label, variable, record, brian2.StateMonitor)
    synapses: dict  # crossbar name -> brian2.Synapses
    weight_monitors: dict  # plastic crossbar name -> brian2.StateMonitor of w

    def final_weights(self, name, shape):
        """Current jumps (amperes, ``shape``) of a twin crossbar now (after a run: the learned weights)."""
        S = self.synapses[name]
        W = np.zeros(shape)
        w = np.asarray(S.w_, np.float64)
        if "w_scale" in S.variables:  # plastic: normalised weights
            w = w * float(np.asarray(S.w_scale_).ravel()[0])
        W[np.asarray(S.i[:]), np.asarray(S.j[:])] = w
        return W


def source_replay(snap, source_spikes):
    """Per source label: ``(indices, steps)`` to replay, steps counted from the snapshot.

    ``source_spikes`` maps sources to a :class:`~neuroimc.SpikeMonitor` or an
    ``(indices, times)`` pair (times in seconds of network time).  Recorded
    sources not in it replay their own spikes.  Spikes before the snapshot are dropped.
    """
    given = {}
    for src, spikes in (source_spikes or {}).items():
        if not any(src is s for s, _ in snap.sources):
            raise ValueError(f"source_spikes: {src!r} is not a source of this network")
        if isinstance(spikes, SpikeMonitor):
            if spikes.group is not src:
                raise ValueError(f"source_spikes: the monitor given for {src!r} records {spikes.group!r}")
            idx, steps = spikes.indices, spikes.steps
        else:
            try:
                idx, times = spikes
            except (TypeError, ValueError):
                raise TypeError(
                    f"source_spikes[{src!r}] must be a SpikeMonitor or an (indices, times) pair, got {spikes!r}"
                ) from None
            probe = SpikeSource(src.n, idx, times)  # validates and bins like the engine
            idx, steps = probe.indices, probe.steps(snap.dt)
        given[id(src)] = (np.asarray(idx, np.int64), np.asarray(steps, np.int64))
    replay = {}
    for src, label in snap.sources:
        if id(src) in given:
            idx, steps = given[id(src)]
        elif isinstance(src, SpikeSource):
            idx, steps = src.indices, src.steps(snap.dt)
        else:
            continue
        keep = steps >= snap.step0
        replay[label] = (idx[keep], steps[keep] - snap.step0)
    return replay


def _weight_period(record_weights, dt):
    """Sampling period (seconds) of the twin's weight monitors, or None."""
    if record_weights is None or record_weights is False:
        return None
    if record_weights is True:
        return dt
    period = _checks.positive("record_weights", record_weights)
    if abs(round(period / dt) * dt - period) > 1e-6 * dt or round(period / dt) < 1:
        raise ValueError(f"record_weights must be a whole number of time steps dt = {dt} s, got {period} s")
    return period


def build_twin(snap, replay, spike_groups, state_specs, target="numpy", weight_period=None):
    """Build the Brian2 network of a :class:`Snapshot`.

    ``replay``: per source label, ``(indices, steps)`` (see :func:`source_replay`);
    ``spike_groups``: labels whose spikes are monitored; ``state_specs``:
    ``(label, variable, record)`` triples for state monitors;
    ``weight_period``: sampling period (seconds) of a monitor of every plastic
    crossbar's ``w`` (``None``: no monitor).
    """
    check_brian2_setup()
    cls = codeobj_class(target)
    dt = snap.dt * b2.second
    groups = {}
    for pop, label, v, I_syn, last, theta in snap.populations:
        equations, threshold, reset = _neuron_model(pop, theta, snap.learning)
        G = b2.NeuronGroup(
            pop.n,
            equations,
            threshold=threshold,
            reset=reset,
            refractory=LIF_REFRACTORY,
            method=_EXACT,
            dt=dt,
            name=label,
            codeobj_class=cls,
        )
        for p in _PARAMETERS + (_ADAPTATION if "theta_plus" in G.variables else ()):
            setattr(G, p + "_", getattr(pop, p))
        if "theta" in G.variables:
            G.theta_ = theta
        G.v_ = v
        G.I_syn_ = I_syn
        # refractoriness carries over: Brian2 derives it from lastspike at every step
        G.lastspike_ = np.where(last == NEVER, _NEVER_SPIKED, (last - snap.step0) * snap.dt)
        groups[label] = G
    poisson_groups = []
    for src, label in snap.sources:
        if label in replay:
            idx, steps = replay[label]
            # grid times: Brian2 bins int((t + 1e-3 dt)/dt) back to exactly these steps
            groups[label] = b2.SpikeGeneratorGroup(
                src.n, idx, steps * snap.dt * b2.second, dt=dt, name=label, codeobj_class=cls
            )
        else:
            poisson_groups.append(src.name)
            groups[label] = b2.PoissonGroup(src.n, src.rate * b2.Hz, dt=dt, name=label, codeobj_class=cls)
    if poisson_groups:
        warnings.warn(
            f"Poisson sources {poisson_groups} have no recorded spikes to replay: their twins are Brian2 "
            "PoissonGroups with the same rates but other draws, so spikes will differ "
            "(pass source_spikes, or use reference_run)",
            stacklevel=3,
        )
    synapses, weight_monitors = {}, {}
    for xb, name, W in snap.crossbars:
        # a network that does not learn (learning = False) has static twin synapses
        plastic = snap.plastic.get(name) if snap.learning else None
        if plastic is None:
            model, on_pre, on_post = "w : amp (constant)", "I_syn_post += w", None
        else:
            model, on_pre, on_post, set_parameters, trace_names = plastic_twin(plastic.rule)
        S = b2.Synapses(
            groups[snap.labels[id(xb.pre)]],
            groups[snap.labels[id(xb.post)]],
            model,
            on_pre=on_pre,
            on_post=on_post,
            dt=dt,
            name=name,
            codeobj_class=cls,
        )
        n_pre, n_post = W.shape
        # row-major: every cell of the crossbar is a synapse
        S.connect(i=np.repeat(np.arange(n_pre), n_post), j=np.tile(np.arange(n_post), n_pre))
        if plastic is None:
            S.w_ = W.ravel()
        else:
            set_parameters(S, plastic.rule, plastic.w_scale)
            S.w_ = W.ravel() / plastic.w_scale
            # per-synapse traces = per-neuron ones (presynaptic ones repeat along a row, postsynaptic
            # ones along a column); neuroimc holds their values after the step before the twin's t = 0,
            # so that is when they were last updated
            for k, (trace, values) in enumerate(zip(trace_names, plastic.traces)):
                if values.size == 0:  # a slow trace the chip does not keep: no triplet term reads it
                    values = np.zeros(n_pre if k % 2 == 0 else n_post)
                setattr(S, trace + "_", np.repeat(values, n_post) if k % 2 == 0 else np.tile(values, n_pre))
            S.lastupdate_ = -snap.dt
            if weight_period is not None:
                weight_monitors[name] = b2.StateMonitor(
                    S, "w", record=True, dt=weight_period * b2.second, name=_unique(f"weightmon_{name}", snap.taken),
                    codeobj_class=cls,
                )
        synapses[name] = S
    spike_monitors = {}
    for label in spike_groups:
        name = _unique(f"spikemon_{label}", snap.taken)
        spike_monitors[label] = b2.SpikeMonitor(groups[label], name=name, codeobj_class=cls)
    state_monitors = []
    for label, variable, record in state_specs:
        name = _unique(f"statemon_{label}_{variable}", snap.taken)
        mon = b2.StateMonitor(groups[label], variable, record=np.asarray(record), dt=dt, name=name, codeobj_class=cls)
        state_monitors.append((label, variable, np.asarray(record), mon))
    objs = (list(groups.values()) + list(synapses.values()) + list(spike_monitors.values())
            + [m for *_, m in state_monitors] + list(weight_monitors.values()))
    return Twin(b2.Network(*objs), groups, spike_monitors, state_monitors, synapses, weight_monitors)


def to_brian2(net, source_spikes=None, weights="effective", target="numpy", record_weights=False):
    """Build the Brian2 twin of ``net`` as it is now; returns a ``brian2.Network``.

    Parameters
    ----------
    net : neuroimc.Network
    source_spikes : mapping, optional
        ``{source: SpikeMonitor or (indices, times)}``: spikes the twin's
        sources replay (times in seconds of network time; spikes before
        ``net.t`` are dropped).  Give the spikes neuroimc drew for each
        :class:`~neuroimc.PoissonSource` to make the twin's input identical;
        :func:`~neuroimc.brian.reference_run` does this for you.
    weights : ``"effective"``, ``"target"`` or mapping
        Synaptic weights of the twin: the crossbars' effective current jumps now
        (default), the weights :func:`~neuroimc.brian.from_brian2` was asked to
        deploy, or ``{crossbar: W}`` (amperes) for some crossbars.
    target : str
        Brian2 code-generation target of every object (default ``"numpy"``:
        no compiler needed).
    record_weights : bool or float
        Monitor the weights ``w`` of every plastic crossbar: ``True`` every time
        step, a number of seconds (a whole number of steps) at that period.  A
        sample holds every cell, so mind the memory (cells x samples x 8 bytes).

    Plastic crossbars learn in the twin with the same STDP rule (weights ``w``
    normalised by the crossbar's ``w_max``, which is the shared parameter
    ``w_scale``); on a non-ideal device card the twin learns as ideal devices
    would, the reference the hardware is measured against.  The learned
    current jumps are ``S.w_ * S.w_scale_`` of the crossbar's ``Synapses``.

    Brian2 object names: each population and source is named by its neuroimc
    name made a valid, unique identifier (``net["exc"]``); crossbars
    ``xbNN_<pre>_to_<post>``; monitors of ``net``'s monitors
    ``spikemon_<group>`` and ``statemon_<group>_<variable>``, weight monitors
    ``weightmon_<crossbar>``.  Run it with
    ``b2net.run(duration * brian2.second, namespace={})``: every constant is a
    group parameter.
    """
    period = _weight_period(record_weights, net.dt)
    snap = snapshot(net, weights)
    replay = source_replay(snap, source_spikes)
    # the network's monitors (private lists: Network has no public accessor yet)
    spike_groups = list(dict.fromkeys(snap.labels[id(m.group)] for m in net.spike_monitors))
    state_specs = [(snap.labels[id(m.group)], m.variable, m.record) for m in net.state_monitors]
    return build_twin(snap, replay, spike_groups, state_specs, target, period).network
