"""Recognising neuroimc's LIF model in a Brian2 ``NeuronGroup``.

neuroimc has one neuron model (:class:`~neuroimc.LIFPopulation`)::

    dv/dt = (v_rest - v + r_m*I)/tau_m : volt (unless refractory)
    dI/dt = -I/tau_syn
    threshold v > v_thresh;  reset v = v_reset;  refractory t_ref

A Brian2 group maps onto it if its equations have this *structure*, whatever
its symbols are called and however the constants are written: exactly two
differential equations, one for the membrane ``v`` (the variable of the
threshold, in volts) and one for a single synaptic current ``I``, with

* ``dv/dt = c0 + cv*v + cI*I`` (affine in ``v`` and ``I``, ``cv < 0``, ``cI > 0``),
* ``dI/dt = dI*I`` (pure decay, ``dI < 0``),

where the coefficients may be any expression of parameters and constants (one
value per neuron after evaluation).  Then ``tau_m = -1/cv``,
``v_rest = -c0/cv``, ``r_m = -cI/cv`` and ``tau_syn = -1/dI``.  ``I`` may carry
any unit (amperes, or volts as in Brian2's CUBA example): ``r_m`` then has the
matching unit and neuroimc's ``I_syn`` holds the Brian2 variable's values.

Everything else is refused with a :class:`Brian2MappingError` that names the
construct: non-linear terms, several synaptic currents, time-dependent or
stochastic terms, ``>=`` thresholds, resets that are not ``v = const``,
refractoriness given as a condition, currents that are held during
refractoriness...
"""
from dataclasses import dataclass

import numpy as np
import sympy

from brian2 import NeuronGroup, volt
from brian2.core.variables import ArrayVariable, Constant
from brian2.parsing.statements import parse_statement
from brian2.parsing.sympytools import str_to_sympy, sympy_to_str
from brian2.units.fundamentalunits import Quantity


class Brian2MappingError(ValueError):
    """A Brian2 construct that neuroimc cannot represent; ``construct`` names it."""

    def __init__(self, construct, message):
        super().__init__(f"{construct}: {message}")
        self.construct = construct


@dataclass
class LIFMapping:
    """The LIF parameters (SI, one value per neuron) recognised in a Brian2 group."""

    v: str  # name of the membrane variable
    current: str  # name of the synaptic current variable
    tau_m: np.ndarray
    v_rest: np.ndarray
    r_m: np.ndarray
    tau_syn: np.ndarray
    v_thresh: np.ndarray
    v_reset: np.ndarray
    t_ref: np.ndarray


def group_values(group, names, namespace, where):
    """Numeric values (SI floats; arrays per neuron or scalars) of identifiers of ``group``."""
    out = {}
    for name in names:
        if name == "i":
            out[name] = np.arange(len(group), dtype=np.float64)
            continue
        try:
            var = group.resolve_all([name], namespace)[name]
        except KeyError:
            raise Brian2MappingError(
                f"identifier '{name}' in {where}",
                "is not defined; pass the constants it needs with namespace={...}",
            ) from None
        if isinstance(var, Constant):
            out[name] = np.float64(var.value)
        elif isinstance(var, ArrayVariable):
            out[name] = np.asarray(var.get_value(), dtype=np.float64)
        else:
            raise Brian2MappingError(
                f"'{name}' in {where}", f"is a {type(var).__name__}, not a number that can be evaluated"
            )
    return out


def evaluate(expr, values, n, where):
    """Evaluate a sympy expression on per-neuron values; returns a float64 array of length ``n``."""
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    missing = [s.name for s in symbols if s.name not in values]
    if missing:
        raise Brian2MappingError(f"{where}", f"depends on {missing}, which cannot be evaluated")
    try:
        fn = sympy.lambdify(symbols, expr, "numpy")
        result = fn(*[values[s.name] for s in symbols])
    except Exception as exc:  # a function numpy does not know, a shape mismatch...
        raise Brian2MappingError(where, f"cannot evaluate '{sympy_to_str(expr)}' ({exc})") from None
    result = np.asarray(result)
    if result.dtype == bool:
        raise Brian2MappingError(where, f"'{sympy_to_str(expr)}' is a condition, not a value")
    result = np.broadcast_to(result.astype(np.float64), (n,)).copy()
    if not np.isfinite(result).all():
        raise Brian2MappingError(where, f"'{sympy_to_str(expr)}' is not finite for every neuron")
    return result


def _symbols(expr):
    return {s.name: s for s in expr.free_symbols}


def _statements(code, where):
    lines = [line.split("#")[0].strip() for line in str(code).splitlines()]
    lines = [line for line in lines if line]
    try:
        return [parse_statement(line)[:3] for line in lines]
    except ValueError as exc:
        raise Brian2MappingError(where, f"cannot be parsed ({exc})") from None


def recognise_lif(group, namespace):
    """Check that ``group`` is neuroimc's LIF model and return its :class:`LIFMapping`."""
    name = f"NeuronGroup '{group.name}'"
    if type(group) is not NeuronGroup:
        raise Brian2MappingError(
            f"{type(group).__name__} '{group.name}'", "only NeuronGroups can become LIF populations"
        )
    eqs = group.user_equations
    if eqs.stochastic_variables:
        raise Brian2MappingError(
            f"stochastic term {sorted(eqs.stochastic_variables)} in {name}",
            "neuroimc's LIF is deterministic between spikes",
        )
    extra_events = sorted(set(group.events) - {"spike"})
    if extra_events:
        raise Brian2MappingError(f"custom events {extra_events} of {name}", "only spikes can be mapped")
    v = _threshold_variable(group, name)
    diff = sorted(eqs.diff_eq_names)
    others = [d for d in diff if d != v]
    if len(others) > 1:
        raise Brian2MappingError(
            f"several synaptic currents {others} in {name}",
            "neuroimc's LIF has one synaptic current I_syn (every crossbar adds to it, with one tau_syn); "
            "merge them into one current or keep this model in Brian2",
        )
    if not others:
        raise Brian2MappingError(
            f"no synaptic current in {name} (only d{v}/dt)",
            f"neuroimc synapses add to a decaying current; a model whose synapses jump {v} directly cannot be mapped",
        )
    cur = others[0]
    if group.variables[v].dim is not volt.dim:
        raise Brian2MappingError(
            f"membrane variable '{v}' of {name}", f"must be in volts, has {group.variables[v].dim}"
        )
    exprs = dict(eqs.get_substituted_expressions(group.variables))
    f = str_to_sympy(exprs[v].code, group.variables)
    g = str_to_sympy(exprs[cur].code, group.variables)
    V, I = sympy.Symbol(v, real=True), sympy.Symbol(cur, real=True)
    # one symbol object per state variable, whatever assumptions the parser gave it
    f = f.xreplace({s: {v: V, cur: I}[s.name] for s in f.free_symbols if s.name in (v, cur)})
    g = g.xreplace({s: {v: V, cur: I}[s.name] for s in g.free_symbols if s.name in (v, cur)})
    for eq_name, expr in ((v, f), (cur, g)):
        for bad, what in (("t", "time-dependent term"), ("lastspike", "dependence on lastspike"),
                          ("not_refractory", "dependence on not_refractory")):
            if bad in _symbols(expr):
                raise Brian2MappingError(f"{what} '{bad}' in d{eq_name}/dt of {name}", "cannot be mapped")
    cv, cI, c0 = _affine(f, V, I, f"d{v}/dt of {name}")
    dv, dI, d0 = _affine(g, V, I, f"d{cur}/dt of {name}")
    if dv != 0:
        raise Brian2MappingError(
            f"term '{sympy_to_str(dv * V)}' in d{cur}/dt of {name}",
            f"the synaptic current must decay on its own (d{cur}/dt = -{cur}/tau_syn)",
        )
    if d0 != 0:
        raise Brian2MappingError(
            f"constant term '{sympy_to_str(d0)}' in d{cur}/dt of {name}",
            f"the synaptic current must decay to zero (d{cur}/dt = -{cur}/tau_syn)",
        )
    _check_flags(group, v, cur, name)

    needed = set().union(*(_symbols(e) for e in (cv, cI, c0, dI))) - {v, cur}
    values = group_values(group, sorted(needed), namespace, f"the equations of {name}")
    n = len(group)
    cv_, cI_, c0_, dI_ = (evaluate(e, values, n, f"a coefficient of the equations of {name}") for e in (cv, cI, c0, dI))
    if (cv_ >= 0).any():
        raise Brian2MappingError(
            f"coefficient of {v} in d{v}/dt of {name} ('{sympy_to_str(cv)}')",
            "must be negative for every neuron (a leak towards rest, -1/tau_m)",
        )
    if (cI_ <= 0).any():
        raise Brian2MappingError(
            f"coefficient of {cur} in d{v}/dt of {name} ('{sympy_to_str(cI)}')",
            "must be positive for every neuron (r_m/tau_m: the current depolarises)",
        )
    if (dI_ >= 0).any():
        raise Brian2MappingError(
            f"coefficient of {cur} in d{cur}/dt of {name} ('{sympy_to_str(dI)}')",
            "must be negative for every neuron (-1/tau_syn)",
        )
    return LIFMapping(
        v=v,
        current=cur,
        tau_m=-1.0 / cv_,
        v_rest=-c0_ / cv_,
        r_m=-cI_ / cv_,
        tau_syn=-1.0 / dI_,
        v_thresh=_threshold_value(group, v, namespace, name),
        v_reset=_reset_value(group, v, namespace, name),
        t_ref=_refractory_value(group, namespace, name),
    )


def _affine(expr, V, I, where):
    """``(coefficient of V, coefficient of I, rest)`` of an expression affine in V and I."""
    expr = sympy.expand(expr)
    for term in sympy.Add.make_args(expr):
        if term.has(V) or term.has(I):
            for x in (V, I):
                if sympy.diff(term, x).has(V) or sympy.diff(term, x).has(I):
                    raise Brian2MappingError(
                        f"non-linear term '{sympy_to_str(term)}' in {where}",
                        "neuroimc's LIF is linear in the membrane potential and the synaptic current "
                        "(conductance-based, exponential or quadratic models cannot be mapped)",
                    )
    cV, cI = sympy.diff(expr, V), sympy.diff(expr, I)
    rest = sympy.simplify(expr - cV * V - cI * I)
    return cV, cI, rest


def _threshold_variable(group, name):
    cond = group.events.get("spike")
    if cond is None:
        raise Brian2MappingError(f"{name} without threshold", "a LIF population must spike")
    expr = str_to_sympy(cond, group.variables)
    if isinstance(expr, sympy.StrictGreaterThan):
        lhs, rhs = expr.lhs, expr.rhs
    elif isinstance(expr, sympy.StrictLessThan):
        lhs, rhs = expr.rhs, expr.lhs
    elif isinstance(expr, (sympy.GreaterThan, sympy.LessThan)):
        raise Brian2MappingError(
            f"threshold '{cond}' of {name}", "uses a non-strict comparison; neuroimc fires on v > v_thresh, write '>'"
        )
    else:
        raise Brian2MappingError(f"threshold '{cond}' of {name}", "must be a single comparison 'v > v_thresh'")
    if not isinstance(lhs, sympy.Symbol) or lhs.name not in group.user_equations.diff_eq_names:
        raise Brian2MappingError(
            f"threshold '{cond}' of {name}",
            "must compare the membrane variable (a differential equation) to a threshold"
        )
    state = set(group.user_equations.diff_eq_names)
    if state & set(_symbols(rhs)):
        raise Brian2MappingError(f"threshold '{cond}' of {name}", "the threshold must not depend on state variables")
    return lhs.name


def _threshold_value(group, v, namespace, name):
    cond = str_to_sympy(group.events["spike"], group.variables)
    rhs = cond.rhs if isinstance(cond, sympy.StrictGreaterThan) else cond.lhs
    values = group_values(group, sorted(_symbols(rhs)), namespace, f"the threshold of {name}")
    return evaluate(rhs, values, len(group), f"the threshold of {name}")


def _reset_value(group, v, namespace, name):
    code = group.event_codes.get("spike")
    if code is None:
        raise Brian2MappingError(
            f"{name} without reset", f"neuroimc resets {v} after every spike; add reset='{v} = ...'"
        )
    where = f"reset '{code}' of {name}"
    statements = _statements(code, where)
    if len(statements) != 1 or statements[0][0] != v or statements[0][1] != "=":
        raise Brian2MappingError(where, f"must be the single statement '{v} = v_reset' (neuroimc resets only {v})")
    expr = str_to_sympy(statements[0][2], group.variables)
    if set(group.user_equations.diff_eq_names) & set(_symbols(expr)):
        raise Brian2MappingError(where, "the reset value must not depend on state variables")
    values = group_values(group, sorted(_symbols(expr)), namespace, where)
    return evaluate(expr, values, len(group), where)


def _refractory_value(group, namespace, name):
    ref = group._refractory
    n = len(group)
    if ref is False:
        return np.zeros(n)
    if isinstance(ref, Quantity):
        return np.full(n, float(ref))
    where = f"refractory '{ref}' of {name}"
    expr = str_to_sympy(str(ref), group.variables)
    if isinstance(expr, (sympy.core.relational.Relational, sympy.logic.boolalg.Boolean)):
        raise Brian2MappingError(where, "refractoriness given as a condition cannot be mapped; give a duration")
    values = group_values(group, sorted(_symbols(expr)), namespace, where)
    t_ref = evaluate(expr, values, n, where)
    if (t_ref < 0).any():
        raise Brian2MappingError(where, "must be >= 0 for every neuron")
    return t_ref


def _check_flags(group, v, cur, name):
    eqs = group.user_equations
    if group._refractory is False:
        return
    if "unless refractory" not in eqs[v].flags:
        raise Brian2MappingError(
            f"d{v}/dt of {name} without the flag (unless refractory)",
            f"neuroimc clamps {v} during the refractory period; add '(unless refractory)'",
        )
    if "unless refractory" in eqs[cur].flags:
        raise Brian2MappingError(
            f"d{cur}/dt of {name} with the flag (unless refractory)",
            "neuroimc's synaptic current keeps decaying during the refractory period",
        )


def synaptic_increment(code, current, where):
    """Parse an ``on_pre`` code: ``(sign, expression string)`` of ``current_post += expr``."""
    statements = _statements(code, where)
    if len(statements) != 1:
        raise Brian2MappingError(
            f"on_pre code '{code}' of {where}", f"must be the single statement '{current}_post += w' (one per synapse)"
        )
    var, op, expr = statements[0]
    target = var[: -len("_post")] if var.endswith("_post") else var
    if target != current:
        raise Brian2MappingError(
            f"on_pre code '{code}' of {where}",
            f"writes '{var}'; a crossbar can only add to the postsynaptic current '{current}_post' "
            "(synapses that change the membrane or their own state cannot be mapped)",
        )
    if op not in ("+=", "-="):
        raise Brian2MappingError(f"on_pre code '{code}' of {where}", f"uses '{op}'; only '+=' and '-=' add a weight")
    return (1.0 if op == "+=" else -1.0), expr


__all__ = ["Brian2MappingError", "LIFMapping", "recognise_lif", "synaptic_increment", "evaluate", "group_values"]
