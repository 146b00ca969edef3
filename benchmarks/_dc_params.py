"""Every parameter of a :class:`~neuroimc.diehl_cook.DiehlCook2015` network, read from the object.

The Brian2 twin of the training benchmark (``_dc_brian2.py``) is built from
this description only, so that it follows the neuroimc model wherever its
defaults move: time constants, potentials and threshold adaptation of both
layers (``model.exc``, ``model.inh``), the current jumps ``w_unit``, ``w_ei``
and ``w_ie``, the learning rule, the synaptic-scaling total and tolerance, the
presentation schedule, ``dt`` and the initial weights.  Values are plain SI
floats (JSON-safe); the initial weights are returned apart (an array).

What the description cannot express is refused, not approximated
(``ValueError`` naming the attribute): per-neuron parameters that differ
between neurons, a learning crossbar on non-ideal devices, lateral
connections other than excitatory ``j`` -> inhibitory ``j`` and inhibitory
``j`` -> every excitatory neuron but ``j``.
"""
import dataclasses
import inspect

import numpy as np

#: LIF attributes read from each population (SI units)
LIF_FIELDS = ("tau_m", "v_rest", "v_reset", "v_thresh", "t_ref", "tau_syn", "r_m", "theta_plus", "tau_theta")
#: TripletSTDP fields the twin needs
RULE_FIELDS = ("tau_plus", "tau_minus", "tau_x", "tau_y", "a2_plus", "a3_plus", "a2_minus", "a3_minus", "w_min",
               "w_max", "rule", "pairing")
#: PresentationSchedule fields the twin needs
SCHEDULE_FIELDS = ("presentation", "rest", "max_rate", "rate_step", "min_spikes", "max_attempts", "full_scale")
# relative agreement demanded between a crossbar's read-out and the jumps the model reports: a few
# roundings of the conductance representation (float64), far below any physical difference
_RTOL = 1e-9


def _one_value(where, values):
    """The single value of a per-neuron array (inf kept as None: JSON has no infinity)."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0 or np.any(arr != arr.flat[0]):
        raise ValueError(f"{where} differs between neurons ({arr.min():g} .. {arr.max():g}); the Brian2 twin of the "
                         "training benchmark has one value per population")
    value = float(arr.flat[0])
    return None if np.isinf(value) else value


def population(pop, where):
    """The LIF parameters of ``pop`` as a dict of floats (``tau_theta`` None = no decay)."""
    return {f: _one_value(f"{where}.{f}", getattr(pop, f)) for f in LIF_FIELDS}


def _check_jumps(where, got, expected):
    scale = np.abs(expected).max()
    if got.shape != expected.shape or np.abs(got - expected).max() > _RTOL * scale:
        raise ValueError(f"{where} is not the connection the Brian2 twin builds (largest difference "
                         f"{np.abs(got - expected).max() if got.shape == expected.shape else 'shape'} A); "
                         "update benchmarks/_dc_brian2.py together with neuroimc/diehl_cook.py")


def describe(model):
    """``(params, w0)``: the network's parameters (JSON-safe dict) and initial normalised input weights.

    ``w0`` is ``model.synapses.programmed_weights()`` (``(n_input, n_neurons)``,
    units of ``w_max``), which must be read before the model learns.
    """
    n, n_in = model.n_neurons, model.n_input
    rule = model.rule
    missing = [f for f in RULE_FIELDS if not hasattr(rule, f)]
    if missing:
        raise ValueError(f"model.rule must be a TripletSTDP rule (the twin implements the triplet rule), got "
                         f"{type(rule).__name__} without {missing}")
    device = model.synapses.device
    if not device.is_ideal:
        raise ValueError(f"model.synapses (the learning crossbar) is on the {device.name!r} card; the Brian2 twin "
                         "has exact weights: build the model with device='ideal'")
    w0 = np.array(model.synapses.programmed_weights(), dtype=np.float64)
    # and it reads exactly what it is programmed to
    _check_jumps("model.synapses (the learning crossbar)", model.synapses.weights(), w0 * model.w_unit)
    _check_jumps("model.exc_to_inh", model.exc_to_inh.weights(), np.eye(n) * model.w_ei)
    _check_jumps("model.inh_to_exc", model.inh_to_exc.weights(), -(1.0 - np.eye(n)) * model.w_ie)
    if not np.isclose(model.synapses.w_max, model.w_unit, rtol=_RTOL, atol=0.0):
        raise ValueError(f"model.synapses.w_max = {model.synapses.w_max:g} A differs from model.w_unit = "
                         f"{model.w_unit:g} A: the rule's weights would not be in units of w_unit")
    sched = dataclasses.asdict(model.schedule)
    # the tolerance below which normalize_columns leaves a column alone: part of the protocol
    rtol = inspect.signature(model.synapses.normalize_columns).parameters["rtol"].default
    params = {
        "n_input": int(n_in),
        "n_neurons": int(n),
        "dt": float(model.net.dt),
        "exc": population(model.exc, "model.exc"),
        "inh": population(model.inh, "model.inh"),
        "w_unit": float(model.w_unit),
        "w_ei": float(model.w_ei),
        "w_ie": float(model.w_ie),
        "rule": {f: getattr(rule, f) if isinstance(getattr(rule, f), str) else float(getattr(rule, f))
                 for f in RULE_FIELDS},
        "input_total": float(model.input_total),
        "normalize_rtol": float(rtol),
        "schedule": {f: (int(sched[f]) if f in ("min_spikes", "max_attempts") else float(sched[f]))
                     for f in SCHEDULE_FIELDS},
    }
    return params, w0

