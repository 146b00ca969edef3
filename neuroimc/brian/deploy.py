"""Deploying a Brian2 network (its trained synapses) on memristive crossbars.

:func:`from_brian2` reads a Brian2 network and builds the neuroimc network that
runs it on hardware:

* every ``NeuronGroup`` that is neuroimc's LIF model (recognised structurally,
  see :mod:`neuroimc.brian.equations`) becomes an :class:`~neuroimc.LIFPopulation`
  with the group's parameters and current state;
* a ``SpikeGeneratorGroup`` becomes a :class:`~neuroimc.SpikeSource` with the
  spikes still to come; a ``PoissonGroup`` of fixed rates a
  :class:`~neuroimc.PoissonSource` (same rates, neuroimc's own random draws);
* every ``Synapses`` whose ``on_pre`` adds a weight to the postsynaptic current
  becomes a crossbar: its per-synapse increments are summed into a dense
  matrix ``W`` (rows: presynaptic neurons of the whole group, columns:
  postsynaptic; zero where there is no synapse, so synapses between subgroups
  map exactly) and written with ``Crossbar.from_weights(W, device, w_max, ...)``.
  ``W`` is remembered as the crossbar's *target* weights
  (:func:`target_weights`), so that :func:`~neuroimc.brian.reference_run`
  compares the hardware with the model it was meant to run;
* every ``Synapses`` that is pair STDP (recognised structurally, see
  :mod:`neuroimc.brian.stdp`) becomes a plastic crossbar with the same rule
  (:class:`~neuroimc.STDP`).  The rule's upper weight bound becomes one fully
  programmed device (the crossbar's ``w_max``; weights, bounds and additive
  trace steps are expressed in that unit), and the traces carry over, so a
  network Brian2 has already run continues learning where it was.  Every cell
  of a crossbar learns, so plastic synapses must connect all pairs of two whole
  groups, once each.

The deployed network's time 0 is the Brian2 network's current time.  Anything
that cannot be represented raises :class:`Brian2MappingError` naming the
construct (delays, summed variables, plasticity other than pair STDP, ``on_post``
without it, PoissonInput, non-linear or multi-current neurons, network
operations, ...).
"""
import dataclasses
import warnings
import weakref

import numpy as np

from brian2 import NeuronGroup, PoissonGroup, PoissonInput, SpikeGeneratorGroup, Synapses
from brian2 import Network as Brian2Network
from brian2.core.namespace import get_local_namespace
from brian2.core.variables import Constant, Subexpression
from brian2.equations.equations import SUBEXPRESSION
from brian2.groups.subgroup import Subgroup
from brian2.monitors import EventMonitor, PopulationRateMonitor, StateMonitor
from brian2.parsing.sympytools import str_to_sympy

from .. import _checks
from ..crossbar import Crossbar
from ..inputs import PoissonSource, SpikeSource
from ..network import Network
from ..neurons import NEVER, LIFPopulation, brian2_timestep
from .equations import Brian2MappingError, evaluate, recognise_lif, synaptic_increment
from .stdp import has_plasticity, neuron_traces, recognise_stdp

# crossbar -> the weights (amperes, or the unit of the Brian2 current) it was asked to hold
_TARGETS = weakref.WeakKeyDictionary()
# monitors only observe: a deployment leaves them out (EventMonitor covers SpikeMonitor)
_OBSERVERS = (EventMonitor, StateMonitor, PopulationRateMonitor)
_SOURCES = (SpikeGeneratorGroup, PoissonGroup)


def target_weights(crossbar):
    """The weights :func:`from_brian2` deployed on ``crossbar`` (a copy), or ``None``."""
    W = _TARGETS.get(crossbar)
    return None if W is None else W.copy()


def _root(group):
    """``(group, offset)``: the group a subgroup belongs to and the subgroup's first index."""
    if isinstance(group, Subgroup):
        return group.source, int(group.start)
    return group, 0


def _collect(obj):
    if isinstance(obj, Synapses):
        return [obj]
    if isinstance(obj, Brian2Network):
        return list(obj.objects)
    if isinstance(obj, (list, tuple, set)):
        return list(obj)
    raise TypeError(
        f"synapses_or_network must be a brian2 Synapses, a brian2 Network or a list of Brian2 objects, "
        f"got {type(obj).__name__}"
    )


def from_brian2(synapses_or_network, device="ideal", w_max=None, seed=None, namespace=None,
                learning_pulses="deterministic", **crossbar_options):
    """Deploy a Brian2 network on memristive crossbars; returns a neuroimc :class:`~neuroimc.Network`.

    Parameters
    ----------
    synapses_or_network : brian2.Synapses, brian2.Network or list
        One ``Synapses`` (deploys it with its source and target groups), a whole
        ``Network``, or a list of Brian2 objects.  Monitors are left out.
    device : str, path or DeviceModel
        Device card of every crossbar (default ``"ideal"``).
    w_max : float, optional
        Weight of one fully programmed device, passed to
        :meth:`Crossbar.from_weights` (default: each matrix's ``max|W|``, and
        for plastic synapses the current of a weight at the rule's upper bound).
    seed : int, optional
        Seed of the neuroimc network (Poisson sources, device sampling).
    namespace : dict, optional
        Values of external constants in the Brian2 equations; by default the
        caller's local and global variables, as ``brian2.run`` does.
    learning_pulses : {"deterministic", "stochastic"}
        How the weight changes of plastic synapses become whole numbers of
        programming pulses on non-ideal devices (:class:`~neuroimc.STDP`'s ``pulses``).
    **crossbar_options
        Further keyword arguments of :meth:`Crossbar.from_weights` for every
        crossbar, e.g. ``deploy="verify"`` (program-and-verify with the card's
        pulses), ``mapping="reference"``, ``adc=...``, ``tile=...``.

    Populations and sources keep the Brian2 names.  A crossbar's target weights
    are available as :func:`target_weights`.  Groups whose equations Brian2
    integrates with a method other than ``exact`` produce a warning: neuroimc
    always integrates exactly, so its spikes then differ from that Brian2 model.
    """
    _checks.choice("learning_pulses", learning_pulses, {"deterministic", "stochastic"})
    if namespace is None:
        namespace = get_local_namespace(level=1)
    objects = [o for o in _collect(synapses_or_network) if getattr(o, "active", True)]
    synapses, groups = [], {}
    for obj in objects:
        if isinstance(obj, Synapses):
            synapses.append(obj)
            for g in (obj.source, obj.target):
                root = _root(g)[0]
                groups[root.name] = root
        elif isinstance(obj, (NeuronGroup, Subgroup) + _SOURCES):
            root = _root(obj)[0]
            groups[root.name] = root
        elif isinstance(obj, _OBSERVERS):
            continue
        elif isinstance(obj, PoissonInput):
            raise Brian2MappingError(
                f"PoissonInput '{obj.name}'",
                "adds binomial input directly to a variable; use a PoissonGroup with Synapses, "
                "which maps to a crossbar",
            )
        else:
            what = f"{type(obj).__name__} '{getattr(obj, 'name', obj)}'"
            raise Brian2MappingError(what, "has no neuroimc equivalent")
    if not groups:
        raise ValueError("synapses_or_network holds no NeuronGroup, source or Synapses to deploy")
    plastic = {S.name: _check_synapses(S) for S in synapses}
    dt, t_now = _clock(groups.values())
    step_now = int(brian2_timestep(t_now, dt))

    # Brian2 applies pathways in name order; ordering neuroimc's groups by their
    # first appearance as presynaptic group there keeps most float sums in Brian2's order
    synapses.sort(key=lambda S: S._pathways[0].name)
    first_use = {}
    for k, S in enumerate(synapses):
        first_use.setdefault(_root(S.source)[0].name, k)
    ordered = sorted(groups.values(), key=lambda g: (first_use.get(g.name, len(synapses)), g.name))

    net = Network(dt=dt, seed=seed)
    mapped, lif = {}, {}
    for g in ordered:
        if isinstance(g, NeuronGroup):
            lif[g.name] = m = recognise_lif(g, namespace)
            _warn_method(g)
            mapped[g.name] = net.add(_population(g, m, step_now))
    for g in ordered:
        if isinstance(g, SpikeGeneratorGroup):
            mapped[g.name] = net.add(_spike_source(g, dt, step_now))
        elif isinstance(g, PoissonGroup):
            mapped[g.name] = net.add(_poisson_source(g))
    for S in synapses:
        (pre, pre0), (post, post0) = _root(S.source), _root(S.target)
        if post.name not in lif:
            raise Brian2MappingError(f"target '{post.name}' of Synapses '{S.name}'", "must be a LIF NeuronGroup")
        if plastic[S.name]:
            stdp = recognise_stdp(S, lif[post.name].current, namespace)
            W, unit, rule = _plastic_weights(S, stdp, pre, pre0, post, post0, w_max, learning_pulses)
            xb_w_max = stdp.scale * unit
        else:
            W = _dense_weights(S, pre, pre0, post, post0, lif[post.name].current, namespace)
            rule, xb_w_max = None, w_max
        try:
            xb = Crossbar.from_weights(W, device=device, w_max=xb_w_max, **crossbar_options)
        except ValueError as exc:
            raise ValueError(f"Synapses '{S.name}': {exc}") from None
        _TARGETS[xb] = W
        net.connect(mapped[pre.name], mapped[post.name], xb, plasticity=rule)
        if rule is not None:
            rows, cols = np.asarray(S.i[:], np.int64), np.asarray(S.j[:], np.int64)
            xb._pre_trace[:], xb._post_trace[:] = neuron_traces(S, stdp, rows, cols, len(pre), len(post), t_now, dt,
                                                                unit)
    return net


def _check_synapses(S):
    """Refuse what no crossbar can do; returns True for synapses with plasticity (checked as STDP later)."""
    where = f"Synapses '{S.name}'"
    if S.summed_updaters:
        raise Brian2MappingError(
            f"summed variables {sorted(S.summed_updaters)} of {where}", "continuous coupling is not a crossbar read"
        )
    for p in S._pathways:
        delays = np.asarray(p._delays.get_value())
        if delays.size and np.any(delays != 0):
            raise Brian2MappingError(
                f"delays of {where} (up to {delays.max():g} s)", "a crossbar read acts in the step of the spike"
            )
    if has_plasticity(S):  # traces and on_post: recognise_stdp names what does not fit
        return True
    for p in S._pathways:
        if p.event != "spike":
            raise Brian2MappingError(f"pathway '{p.name}' of {where} on event '{p.event}'", "only spikes are mapped")
    if len(S._pathways) != 1:
        raise Brian2MappingError(
            f"{len(S._pathways)} presynaptic pathways of {where}", "a crossbar has exactly one on_pre increment"
        )
    return False


def _clock(groups):
    dts = {_scalar(g.clock.variables["dt"]) for g in groups}
    if len(dts) != 1:
        raise Brian2MappingError(f"several time steps {sorted(dts)} s", "a neuroimc network has one dt")
    ts = {_scalar(g.clock.variables["t"]) for g in groups}
    if len(ts) != 1:
        raise Brian2MappingError(f"groups at different times {sorted(ts)} s", "cannot be deployed together")
    return dts.pop(), ts.pop()


def _scalar(variable):
    return float(np.asarray(variable.get_value()).ravel()[0])


def _warn_method(g):
    method = g.state_updater.method_choice
    if method not in (None, "exact", "linear", ("exact",), ("linear",)):
        warnings.warn(
            f"NeuronGroup '{g.name}' is integrated with method={method!r} in Brian2; neuroimc integrates "
            "exactly, so its spikes differ from this Brian2 model (use method='exact' there)",
            stacklevel=3,
        )


def _population(g, m, step_now):
    pop = LIFPopulation(
        len(g),
        tau_m=m.tau_m,
        v_rest=m.v_rest,
        v_reset=m.v_reset,
        v_thresh=m.v_thresh,
        t_ref=m.t_ref,
        tau_syn=m.tau_syn,
        r_m=m.r_m,
        v_init=np.asarray(g.variables[m.v].get_value(), np.float64),
        name=g.name,
    )
    pop.I_syn = np.asarray(g.variables[m.current].get_value(), np.float64)
    if "lastspike" in g.variables:
        last = np.asarray(g.variables["lastspike"].get_value(), np.float64)
        # Brian2 starts lastspike far in the past (-1e4 s): such neurons never spiked
        steps = np.where(last < -1e3, NEVER, brian2_timestep(last, _scalar(g.clock.variables["dt"])) - step_now)
        pop.lastspike = steps
    return pop


def _spike_source(g, dt, step_now):
    period = float(np.asarray(g.variables["period"].get_value()).ravel()[0])
    if period != 0.0:
        raise Brian2MappingError(
            f"period {period:g} s of SpikeGeneratorGroup '{g.name}'", "repeating spike patterns cannot be mapped"
        )
    idx = np.asarray(g.variables["neuron_index"].get_value(), np.int64)
    steps = brian2_timestep(np.asarray(g.variables["spike_time"].get_value(), np.float64), dt)
    keep = steps >= step_now  # spikes already delivered stay in the past
    # times on the step grid: neuroimc bins them back to exactly these steps
    return SpikeSource(len(g), idx[keep], (steps[keep] - step_now) * dt, name=g.name)


def _poisson_source(g):
    if isinstance(g.variables["rates"], Subexpression):
        raise Brian2MappingError(
            f"rates '{g.variables['rates'].expr}' of PoissonGroup '{g.name}'", "only fixed rates can be mapped"
        )
    return PoissonSource(len(g), np.asarray(g.variables["rates"].get_value(), np.float64), name=g.name)


def _plastic_weights(S, stdp, pre, pre0, post, post0, w_max, pulses):
    """``(W, unit, rule)`` of a pair-STDP ``Synapses``: current jumps, weight unit of one device, normalised rule."""
    where = f"plastic Synapses '{S.name}'"
    if pre0 != 0 or len(S.source) != len(pre) or post0 != 0 or len(S.target) != len(post):
        raise Brian2MappingError(
            f"{where} between subgroups ({S.source.name} -> {S.target.name})",
            "every cell of a plastic crossbar learns; plastic synapses must connect whole groups",
        )
    i, j = np.asarray(S.i[:], np.int64), np.asarray(S.j[:], np.int64)
    n_pre, n_post = len(pre), len(post)
    if len(S) != n_pre * n_post or np.unique(i * n_post + j).size != len(S):
        raise Brian2MappingError(
            f"connectivity of {where} ({len(S)} synapses for {n_pre} x {n_post} neuron pairs)",
            "every cell of a plastic crossbar learns; plastic synapses must connect every pair exactly once "
            "(S.connect())",
        )
    if w_max is None:
        if stdp.w_max <= 0:
            raise Brian2MappingError(f"upper weight bound {stdp.w_max:g} of {where}",
                                     "must be > 0 to become one fully programmed device")
        unit = stdp.w_max  # the rule's range fills the device window
    else:
        unit = _checks.positive("w_max", w_max) / stdp.scale
    try:
        rule = dataclasses.replace(stdp.normalised(unit), pulses=pulses)
    except ValueError as exc:
        raise ValueError(
            f"Synapses '{S.name}': its STDP rule does not fit w_max = {unit * stdp.scale:g} (bounds "
            f"[{stdp.w_min:g}, {stdp.w_max:g}] of '{stdp.weight}' = [{stdp.w_min * stdp.scale:g}, "
            f"{stdp.w_max * stdp.scale:g}] of current): {exc}"
        ) from None
    W = np.zeros((n_pre, n_post))
    W[i, j] = stdp.scale * np.asarray(S.variables[stdp.weight].get_value(), np.float64)
    return W, unit, rule


def _dense_weights(S, pre, pre0, post, post0, current, namespace):
    where = f"Synapses '{S.name}'"
    sign, text = synaptic_increment(S._pathways[0].code, current, where)
    expr = str_to_sympy(text, S.variables)
    # synaptic subexpressions are written out first
    for _ in range(10):
        subs = {s: str_to_sympy(S.equations[s.name].expr.code, S.variables) for s in expr.free_symbols
                if s.name in S.equations and S.equations[s.name].type == SUBEXPRESSION}
        if not subs:
            break
        expr = expr.xreplace(subs)
    n_syn = len(S)
    values = {}
    for s in sorted(expr.free_symbols, key=lambda s: s.name):
        try:
            var = S.resolve_all([s.name], namespace)[s.name]
        except KeyError:
            raise Brian2MappingError(
                f"identifier '{s.name}' in the on_pre code of {where}",
                "is not defined; pass the constants it needs with namespace={...}",
            ) from None
        if isinstance(var, Constant):
            values[s.name] = np.float64(var.value)
        elif getattr(var, "owner", None) is not None and var.owner.name == S.name and s.name not in ("N_pre", "N_post"):
            values[s.name] = np.asarray(var.get_value(), np.float64)
        else:
            raise Brian2MappingError(
                f"'{s.name}' in the on_pre code of {where}",
                "the increment may depend only on synaptic parameters and constants, not on pre- or postsynaptic "
                "state",
            )
    w = sign * evaluate(expr, values, n_syn, f"the on_pre increment of {where}")
    i = np.asarray(S.i[:], np.int64) + pre0
    j = np.asarray(S.j[:], np.int64) + post0
    W = np.zeros((len(pre), len(post)))
    np.add.at(W, (i, j), w)  # several synapses between one pair act as their sum
    return W
