"""Pair-based STDP in Brian2 notation: the twin's synapses, and recognising them in a Brian2 model.

neuroimc's on-chip rule (:class:`~neuroimc.STDP`, see :mod:`neuroimc.learning`)
sees weights normalised by the crossbar's ``w_max`` and keeps one trace per
neuron.  In Brian2 it is exactly (:data:`STDP_MODEL`, :func:`stdp_code`)::

    w : 1
    dapre/dt = -apre/taupre : 1 (event-driven)
    dapost/dt = -apost/taupost : 1 (event-driven)
    on_pre:  I_syn_post += w*w_scale;  apre += Aplus;   w = clip(w + apost, wmin, wmax)
    on_post: apost += Aminus;          w = clip(w + apre, wmin, wmax)

with ``w_scale`` the crossbar's ``w_max`` (amperes); ``soft_bound`` updates
``w + apost*(w - wmin)`` and ``w + apre*(wmax - w)``; ``nearest`` pairing sets
the traces (``apre = Aplus``) instead of adding to them.  Brian2's traces are
per synapse, but for these rules the trace of synapse ``(i, j)`` only ever
changes with the spikes of neuron ``i`` (``apre``) or ``j`` (``apost``), so it
equals neuroimc's per-neuron trace: ``apre[i, j] = pre_trace[i]``,
``apost[i, j] = post_trace[j]``.  (The parameters are called ``Aplus``,
``taupre``...: Brian2 reserves the suffixes ``_pre``/``_post``.)

:func:`recognise_stdp` finds this rule in a Brian2 ``Synapses`` by its
*structure*, whatever the symbols are called and however constants are
written: two event-driven traces that decay linearly (``dx/dt = c*x``, ``c < 0``);
``on_pre`` adds ``k*w`` (``k > 0``, one value for every synapse) to the
postsynaptic current, steps or sets one trace and writes
``w = clip(w + <other trace>[*(w - lo)], lo, hi)``; ``on_post`` steps or
sets the other trace and writes ``w = clip(w + <first trace>[*(hi - w)], lo, hi)``.
Every deviation raises :class:`~neuroimc.brian.Brian2MappingError` naming it.

Triplet STDP (:class:`~neuroimc.TripletSTDP`, Pfister & Gerstner 2006) has
its twin too (:data:`TRIPLET_MODEL`, :func:`triplet_code`): four event-driven
traces, a fast (``r1``, ``o1``) and a slow (``r2``, ``o2``) one per side::

    on_pre:  I_syn_post += w*w_scale
             w = clip(w - o1*(A2minus + A3minus*r2), wmin, wmax);  r1 += 1;  r2 += 1
    on_post: w = clip(w + r1*(A2plus + A3plus*o2), wmin, wmax);     o1 += 1;  o2 += 1

The slow trace of a spike's own side enters its weight change *before* the
spike steps it (the triplet is the spike with two earlier ones), so each
pathway reads ``r2``/``o2`` first and increments after.  ``soft_bound``
multiplies the changes by ``(w - wmin)`` and ``(wmax - w)``, ``nearest``
pairing sets the traces to 1.  As for pair STDP, a per-synapse trace equals
neuroimc's per-neuron one.  :func:`recognise_stdp` does not map triplet rules
back (four traces raise :class:`~neuroimc.brian.Brian2MappingError`).
"""
from dataclasses import dataclass

import numpy as np
import sympy

from brian2.core.variables import Constant
from brian2.equations.equations import DIFFERENTIAL_EQUATION
from brian2.parsing.sympytools import str_to_sympy, sympy_to_str

from ..learning import STDP, TripletSTDP
from .equations import Brian2MappingError, _statements, evaluate

#: The synapse model of a plastic crossbar's twin (all parameters shared constants of the Synapses).
STDP_MODEL = """
w : 1
dapre/dt = -apre/taupre : 1 (event-driven)
dapost/dt = -apost/taupost : 1 (event-driven)
taupre : second (constant, shared)
taupost : second (constant, shared)
Aplus : 1 (constant, shared)
Aminus : 1 (constant, shared)
wmin : 1 (constant, shared)
wmax : 1 (constant, shared)
w_scale : amp (constant, shared)
"""


def stdp_code(rule, current="I_syn"):
    """``(on_pre, on_post)`` of :data:`STDP_MODEL` for the :class:`~neuroimc.STDP` ``rule``."""
    op = "=" if rule.pairing == "nearest" else "+="
    if rule.rule == "additive":
        depress, potentiate = "w = clip(w + apost, wmin, wmax)", "w = clip(w + apre, wmin, wmax)"
    else:
        depress = "w = clip(w + apost*(w - wmin), wmin, wmax)"
        potentiate = "w = clip(w + apre*(wmax - w), wmin, wmax)"
    # the current first: a spike delivers the weight it finds, then the weight learns (as on chip)
    return f"{current}_post += w*w_scale\napre {op} Aplus\n{depress}", f"apost {op} Aminus\n{potentiate}"


def set_stdp_parameters(S, rule, w_scale):
    """Write the rule's constants into a twin ``Synapses`` built from :data:`STDP_MODEL`."""
    S.taupre_ = rule.tau_pre
    S.taupost_ = rule.tau_post
    S.Aplus_ = rule.a_pre
    S.Aminus_ = rule.a_post
    S.wmin_ = rule.w_min
    S.wmax_ = rule.w_max
    S.w_scale_ = w_scale


#: The synapse model of a crossbar with a :class:`~neuroimc.TripletSTDP` rule (shared constants).
TRIPLET_MODEL = """
w : 1
dr1/dt = -r1/tauplus : 1 (event-driven)
dr2/dt = -r2/taux : 1 (event-driven)
do1/dt = -o1/tauminus : 1 (event-driven)
do2/dt = -o2/tauy : 1 (event-driven)
tauplus : second (constant, shared)
taux : second (constant, shared)
tauminus : second (constant, shared)
tauy : second (constant, shared)
A2plus : 1 (constant, shared)
A3plus : 1 (constant, shared)
A2minus : 1 (constant, shared)
A3minus : 1 (constant, shared)
wmin : 1 (constant, shared)
wmax : 1 (constant, shared)
w_scale : amp (constant, shared)
"""


def triplet_code(rule, current="I_syn"):
    """``(on_pre, on_post)`` of :data:`TRIPLET_MODEL` for the :class:`~neuroimc.TripletSTDP` ``rule``."""
    op = "=" if rule.pairing == "nearest" else "+="
    depression, potentiation = "o1*(A2minus + A3minus*r2)", "r1*(A2plus + A3plus*o2)"
    if rule.rule == "soft_bound":
        depression, potentiation = f"{depression}*(w - wmin)", f"{potentiation}*(wmax - w)"
    # the slow trace of the spiking side is read (in the weight change) before the spike steps it
    on_pre = f"{current}_post += w*w_scale\nw = clip(w - {depression}, wmin, wmax)\nr1 {op} 1\nr2 {op} 1"
    on_post = f"w = clip(w + {potentiation}, wmin, wmax)\no1 {op} 1\no2 {op} 1"
    return on_pre, on_post


def set_triplet_parameters(S, rule, w_scale):
    """Write the rule's constants into a twin ``Synapses`` built from :data:`TRIPLET_MODEL`."""
    S.tauplus_, S.taux_, S.tauminus_, S.tauy_ = rule.tau_plus, rule.tau_x, rule.tau_minus, rule.tau_y
    S.A2plus_, S.A3plus_, S.A2minus_, S.A3minus_ = rule.a2_plus, rule.a3_plus, rule.a2_minus, rule.a3_minus
    S.wmin_ = rule.w_min
    S.wmax_ = rule.w_max
    S.w_scale_ = w_scale


def plastic_twin(rule):
    """``(model, on_pre, on_post, set_parameters, traces)`` of the twin synapses of ``rule``.

    ``traces`` names the Brian2 trace variables in the order ``(pre fast, post
    fast, pre slow, post slow)`` (pair rules: the first two only), matching the
    crossbar's ``_pre_trace``, ``_post_trace``, ``_pre_trace2``, ``_post_trace2``.
    """
    if isinstance(rule, TripletSTDP):
        return (TRIPLET_MODEL, *triplet_code(rule), set_triplet_parameters, ("r1", "o1", "r2", "o2"))
    if isinstance(rule, STDP):
        return (STDP_MODEL, *stdp_code(rule), set_stdp_parameters, ("apre", "apost"))
    raise TypeError(f"rule must be an STDP or TripletSTDP rule, got {type(rule).__name__}")


# --------------------------------------------------------------------------- recognition
@dataclass
class STDPMapping:
    """The pair-STDP rule recognised in a Brian2 ``Synapses``, in the units of its weight variable.

    ``scale`` is the current increment per unit of ``weight`` (``k`` in
    ``I_post += k*w``); ``w_min``/``w_max`` the clip bounds; ``a_pre``/``a_post``
    the trace increments (units of the weight for the additive rule,
    dimensionless for the soft-bound one).
    """

    weight: str
    pre_trace: str
    post_trace: str
    scale: float
    tau_pre: float
    tau_post: float
    a_pre: float
    a_post: float
    w_min: float
    w_max: float
    rule: str
    pairing: str

    def normalised(self, unit):
        """The :class:`~neuroimc.STDP` rule for weights measured in ``unit`` (units of the Brian2 weight)."""
        additive = self.rule == "additive"
        # additive traces are weight changes and scale with the unit; soft-bound traces are fractions
        a_pre, a_post = (self.a_pre / unit, self.a_post / unit) if additive else (self.a_pre, self.a_post)
        return STDP(tau_pre=self.tau_pre, tau_post=self.tau_post, a_pre=a_pre, a_post=a_post,
                    w_max=self.w_max / unit, w_min=self.w_min / unit, rule=self.rule, pairing=self.pairing)


def has_plasticity(S):
    """True if ``S`` has synaptic dynamics or postsynaptic updates: then it must be pair STDP."""
    dynamic = [n for n, eq in S.equations.items() if eq.type == DIFFERENTIAL_EQUATION]
    return bool(dynamic or (S.event_driven is not None and S.event_driven.diff_eq_names)
                or any(p.prepost != "pre" for p in S._pathways))


def recognise_stdp(S, current, namespace):
    """Check that ``S`` is pair STDP onto the current ``current``; returns its :class:`STDPMapping`."""
    where = f"Synapses '{S.name}'"
    clock_driven = sorted(n for n, eq in S.equations.items() if eq.type == DIFFERENTIAL_EQUATION)
    traces = sorted(S.event_driven.diff_eq_names) if S.event_driven is not None else []
    if clock_driven:
        raise Brian2MappingError(
            f"synaptic differential equations {sorted(clock_driven + traces)} of {where}",
            "synapses with their own clock-driven dynamics cannot be mapped; only pair STDP with two "
            "(event-driven) traces can",
        )
    post_paths = [p for p in S._pathways if p.prepost == "post"]
    if not traces and post_paths:
        raise Brian2MappingError(
            f"on_post pathway '{post_paths[0].name}' of {where}",
            "postsynaptic updates can only be mapped as pair STDP (two event-driven traces, "
            "w = clip(w + trace, lo, hi) on pre and post spikes)",
        )
    if len(traces) != 2:
        raise Brian2MappingError(
            f"synaptic differential equations {traces} of {where}",
            "the only synaptic dynamics that can be mapped are the two (event-driven) traces of pair STDP",
        )
    pre_paths = [p for p in S._pathways if p.prepost == "pre"]
    if len(pre_paths) != 1 or len(post_paths) != 1:
        raise Brian2MappingError(
            f"{len(pre_paths)} presynaptic and {len(post_paths)} postsynaptic pathways of {where}",
            "pair STDP has exactly one on_pre and one on_post code",
        )
    for p in S._pathways:
        if p.event != "spike":
            raise Brian2MappingError(f"pathway '{p.name}' of {where} on event '{p.event}'", "only spikes are mapped")
    pre_code, post_code = pre_paths[0].code, post_paths[0].code
    pre = _classify(_statements(pre_code, f"on_pre code of {where}"), current, traces, f"on_pre code of {where}")
    post = _classify(_statements(post_code, f"on_post code of {where}"), None, traces, f"on_post code of {where}")
    if pre["increment"] is None:
        raise Brian2MappingError(f"on_pre code '{pre_code}' of {where}",
                                 f"must add the weight to the postsynaptic current ('{current}_post += w')")
    if pre["trace"][0] == post["trace"][0]:
        raise Brian2MappingError(
            f"trace '{pre['trace'][0]}' of {where}", "is stepped by both pre- and postsynaptic spikes; "
            "pair STDP steps one trace on each side")
    weight = pre["weight"][0]
    if post["weight"][0] != weight:
        raise Brian2MappingError(f"weights '{weight}' (on_pre) and '{post['weight'][0]}' (on_post) of {where}",
                                 "pair STDP updates one weight variable on both sides")
    if pre["order"].index("weight") < pre["order"].index("increment"):
        raise Brian2MappingError(
            f"on_pre code '{pre_code}' of {where}",
            "updates the weight before delivering it; neuroimc delivers the weight a spike finds, then learns "
            f"(write '{current}_post += ...' first)",
        )
    var = S.variables.get(weight)
    if var is None or getattr(var, "owner", None) is None or var.owner.name != S.name or var.scalar or var.constant:
        raise Brian2MappingError(f"weight '{weight}' of {where}", "must be a per-synapse, non-constant parameter")
    x_pre, x_post = pre["trace"][0], post["trace"][0]
    W, X_pre, X_post = sympy.Symbol(weight, real=True), sympy.Symbol(x_pre, real=True), sympy.Symbol(x_post, real=True)

    sign, inc = pre["increment"]
    inc = _with_symbols(str_to_sympy(inc, S.variables), (W,))
    k = sympy.diff(inc, W)
    if k.has(W) or sympy.simplify(inc.subs(W, 0)) != 0:
        raise Brian2MappingError(f"increment '{sympy_to_str(inc)}' in the on_pre code of {where}",
                                 f"must be proportional to the weight '{weight}' (k*{weight})")
    state = set(traces) | {weight}
    scale = sign * _uniform(S, k, namespace, f"the factor of '{weight}' in the on_pre increment of {where}", state)
    if scale <= 0:
        raise Brian2MappingError(
            f"on_pre increment of {where} ({'-' if sign < 0 else '+'}{sympy_to_str(k)}*{weight})",
            "plastic synapses must add a positive multiple of their weight (inhibitory plasticity cannot be mapped)",
        )

    taus = {}
    for x in traces:
        X = sympy.Symbol(x, real=True)
        rhs = _with_symbols(str_to_sympy(S.event_driven[x].expr.code, S.variables), (X,))
        c = sympy.diff(rhs, X)
        if c.has(X) or sympy.simplify(rhs - c * X) != 0:
            raise Brian2MappingError(f"d{x}/dt = {sympy_to_str(rhs)} in {where}",
                                     f"an STDP trace must decay linearly (d{x}/dt = -{x}/tau)")
        rate = _uniform(S, c, namespace, f"the decay rate of '{x}' in {where}", state)
        if rate >= 0:
            raise Brian2MappingError(f"d{x}/dt = {sympy_to_str(rhs)} in {where}", f"the trace '{x}' must decay")
        taus[x] = -1.0 / rate

    pairing = {pre["trace"][1], post["trace"][1]}
    if len(pairing) != 1:
        raise Brian2MappingError(
            f"trace updates '{x_pre} {pre['trace'][1]} ...' and '{x_post} {post['trace'][1]} ...' of {where}",
            "both traces must accumulate (+=, all-to-all pairing) or both be set (=, nearest pairing)",
        )
    a_pre = _uniform(S, _sym(pre["trace"][2], S), namespace, f"the increment of '{x_pre}' in {where}", state)
    a_post = _uniform(S, _sym(post["trace"][2], S), namespace, f"the increment of '{x_post}' in {where}", state)

    bounds, kinds = [], []
    for side, stmt, own, other in (("on_pre", pre["weight"][1], X_post, False), ("on_post", post["weight"][1], X_pre,
                                                                                  True)):
        what = f"weight update '{weight} = {stmt}' in the {side} code of {where}"
        lo, hi, kind = _weight_update(_sym(stmt, S), W, own, other, what)
        bounds.append((_uniform(S, lo, namespace, f"the lower bound of the {what}", state),
                       _uniform(S, hi, namespace, f"the upper bound of the {what}", state)))
        kinds.append(kind)
    if bounds[0] != bounds[1]:
        raise Brian2MappingError(f"weight bounds {bounds[0]} (on_pre) and {bounds[1]} (on_post) of {where}",
                                 "must be the same on both sides")
    if kinds[0] != kinds[1]:
        raise Brian2MappingError(f"weight updates of {where} ({kinds[0]} on_pre, {kinds[1]} on_post)",
                                 "must both be additive or both soft-bound")
    w_min, w_max = bounds[0]
    if not w_min < w_max:
        raise Brian2MappingError(f"weight bounds [{w_min}, {w_max}] of {where}", "need lower < upper")
    return STDPMapping(weight=weight, pre_trace=x_pre, post_trace=x_post, scale=scale, tau_pre=taus[x_pre],
                       tau_post=taus[x_post], a_pre=a_pre, a_post=a_post, w_min=w_min, w_max=w_max, rule=kinds[0],
                       pairing="nearest" if pairing == {"="} else "all_to_all")


def _classify(statements, current, traces, where):
    """Sort the statements of one pathway into current increment, trace update and weight update."""
    out = {"increment": None, "trace": None, "weight": None, "order": []}
    for var, op, expr in statements:
        target = var[: -len("_post")] if var.endswith("_post") else var
        if current is not None and target == current:
            kind = "increment"
            if op not in ("+=", "-="):
                raise Brian2MappingError(f"statement '{var} {op} {expr}' in the {where}",
                                         f"uses '{op}'; only '+=' and '-=' deliver a weight")
            value = (1.0 if op == "+=" else -1.0, expr)
        elif var in traces:
            kind = "trace"
            if op not in ("+=", "-=", "="):
                raise Brian2MappingError(f"statement '{var} {op} {expr}' in the {where}",
                                         "an STDP trace is stepped ('+=', '-=') or set ('=') by a spike")
            value = (var, "+=", f"-({expr})") if op == "-=" else (var, op, expr)
        elif op == "=" and "clip(" in expr.replace(" ", ""):
            kind = "weight"
            value = (var, expr)
        else:
            raise Brian2MappingError(
                f"statement '{var} {op} {expr}' in the {where}",
                "pair STDP only delivers the weight, steps a trace and writes w = clip(w + ..., lo, hi)",
            )
        if out[kind] is not None:
            raise Brian2MappingError(f"second {kind} statement '{var} {op} {expr}' in the {where}",
                                     "pair STDP has one of each")
        out[kind] = value
        out["order"].append(kind)
    for kind in ("trace", "weight"):
        if out[kind] is None:
            raise Brian2MappingError(f"{where}", f"has no {kind} update; pair STDP steps a trace and clips the weight")
    return out


def _sym(text, S):
    return str_to_sympy(text, S.variables)


def _with_symbols(expr, symbols):
    """Replace the parser's symbols by ``symbols`` (same names, our assumptions) so that diff/subs see them."""
    by_name = {s.name: s for s in symbols}
    return expr.xreplace({s: by_name[s.name] for s in expr.free_symbols if s.name in by_name})


def _weight_update(expr, W, trace, potentiate, what):
    """``(lo, hi, kind)`` of ``clip(W + trace, lo, hi)`` (additive) or its soft-bound form."""
    if getattr(expr.func, "__name__", "") != "clip" or len(expr.args) != 3:
        raise Brian2MappingError(what, "must be w = clip(w + trace, lo, hi)")
    inner, lo, hi = (_with_symbols(a, (W, trace)) for a in expr.args)
    for bound in (lo, hi):
        if bound.has(W) or bound.has(trace):
            raise Brian2MappingError(what, "the clip bounds must be constants")
    delta = sympy.expand(inner - W)
    if sympy.simplify(delta - trace) == 0:
        return lo, hi, "additive"
    soft = trace * (hi - W) if potentiate else trace * (W - lo)
    if sympy.simplify(delta - soft) == 0:
        return lo, hi, "soft_bound"
    expected = f"{trace} * ({sympy_to_str(hi)} - {W})" if potentiate else f"{trace} * ({W} - {sympy_to_str(lo)})"
    raise Brian2MappingError(
        what, f"the change must be '{trace}' (additive) or '{expected}' (soft-bound), got '{sympy_to_str(delta)}'"
    )


def _uniform(S, expr, namespace, where, state):
    """Value of an expression of constants and shared or uniform synaptic parameters (one float).

    ``state``: names of the rule's state variables (weight, traces), which a constant may not depend on.
    """
    values = {}
    for s in sorted(expr.free_symbols, key=lambda s: s.name):
        try:
            var = S.resolve_all([s.name], namespace)[s.name]
        except KeyError:
            raise Brian2MappingError(f"identifier '{s.name}' in {where}",
                                     "is not defined; pass the constants it needs with namespace={...}") from None
        owned = getattr(var, "owner", None) is not None and var.owner.name == S.name
        if isinstance(var, Constant):
            values[s.name] = np.float64(var.value)
        elif owned and s.name not in state and s.name not in ("N_pre", "N_post", "lastupdate"):
            values[s.name] = np.asarray(var.get_value(), np.float64)
        else:
            raise Brian2MappingError(f"'{s.name}' in {where}",
                                     "may depend only on constants and synaptic parameters")
    n = max([np.size(v) for v in values.values()] + [1])
    result = evaluate(expr, values, n, where)
    if np.any(result != result[0]):
        raise Brian2MappingError(where, f"differs between synapses ({result.min():g} to {result.max():g}); "
                                        "a crossbar has one learning rule")
    return float(result[0])


def neuron_traces(S, mapping, rows, cols, n_pre, n_post, t_now, dt, unit):
    """Per-neuron traces (neuroimc's state before the first step at ``t_now``) from Brian2's per-synapse ones.

    Brian2 stores an event-driven trace as its value at the synapse's
    ``lastupdate``; neuroimc's state at ``t_now`` holds the traces after the
    step before (``t_now - dt``): the stored values are decayed to that time.
    Additive traces are weight changes and are expressed in ``unit``.
    """
    where = f"Synapses '{S.name}'"
    last = np.asarray(S.variables["lastupdate"].get_value(), np.float64)
    out = []
    for name, tau, index, n in ((mapping.pre_trace, mapping.tau_pre, rows, n_pre),
                                (mapping.post_trace, mapping.tau_post, cols, n_post)):
        x = np.asarray(S.variables[name].get_value(), np.float64) * np.exp(-(t_now - dt - last) / tau)
        if mapping.rule == "additive":
            x = x / unit
        per = np.zeros(n)
        per[index] = x  # every neuron has synapses (all-to-all): each entry is written
        spread = np.abs(x - per[index])
        if spread.size and spread.max() > 1e-9 * max(np.abs(x).max(), 1e-300):
            raise Brian2MappingError(
                f"trace '{name}' of {where}",
                "differs between synapses of the same neuron; neuroimc keeps one trace per neuron",
            )
        out.append(per)
    return out
