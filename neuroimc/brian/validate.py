"""The validation suite: neuroimc against Brian2 on reference networks.

Cases (each a reference run, :func:`~neuroimc.brian.reference_run`, of a
network from :mod:`neuroimc.brian.cases`):

``feedforward``
    Poisson inputs -> LIF through one ideal crossbar, against its Brian2 twin.
    Must give identical spikes (same neuron, same step) and membrane traces
    equal to 1 nV.
``recurrent_ei``
    The CUBA topology (800 E + 200 I, dense E -> all and I -> all crossbars,
    Poisson drive), float64 on both sides.  Spikes must be identical up to the
    first divergence, which must come no earlier than 20 % of the run (200 ms
    of 1 s) or not at all, and the mean rate of each population must agree
    within 2 %.
``device:<card>``
    The feed-forward network on crossbars of each device card
    (:func:`neuroimc.available_devices`, so new cards join automatically),
    against the *ideal* Brian2 reference (the intended weights).  An ideal
    card must reproduce it exactly; for the others the report shows what the
    device does to the network (no pass/fail: that is the measurement).
``stdp``
    Poisson inputs -> LIF through one ideal crossbar that learns with pair STDP
    (:func:`~neuroimc.brian.cases.stdp_feedforward`), against its Brian2 twin
    learning with the same rule.  Must give identical spikes, membrane traces
    equal to 1 nV and final weights equal to 1e-6 of ``w_max``; learning must
    have moved the weights by at least 1000 times that (else the weight check
    proves nothing).
``stdp:<card>``
    The same learning network on each non-ideal card of ``devices``, against
    Brian2 learning with the ideal rule from the intended weights: how far
    hardware learning (pulse granularity, nonlinear steps, write noise, faults,
    wear) moves the spikes and the learned weights (reported, no pass/fail).

Every case needs an active network (mean rate >= 1 Hz), else its comparison
would prove nothing.  :func:`run_suite` writes ``report.md``, ``results.json``
and one PNG per case into a folder, atomically.
"""
import json
import platform
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

import brian2

from .. import __version__, _checks
from .._io import write_atomic, write_json
from ..devices import available_devices, load_device
from ..units import ms, second
from . import cases
from .compare import compare
from .report import save_figure
from .run import reference_run

CASES = ("feedforward", "recurrent_ei", "devices", "stdp")
#: the first divergence of the E/I case may not come before this fraction of the run
MIN_DIVERGENCE_FRACTION = 0.2
#: largest relative difference of a population's mean rate in the E/I case
MAX_RATE_DIFFERENCE = 0.02
#: largest membrane-trace error where spikes must be identical, volts
MAX_TRACE_ERROR = 1e-9
#: a case is only meaningful if its neurons fire at least this much, Hz
MIN_RATE = 1.0
#: largest final-weight error where learning must be identical, in units of the crossbar's w_max
MAX_WEIGHT_ERROR = 1e-6
#: learning must move the weights (mean |change|, units of w_max) this many times the allowed error
MIN_WEIGHT_CHANGE_FACTOR = 1000


@dataclass
class Check:
    """One criterion of a case: ``passed`` is ``None`` for a reported, unjudged number."""

    description: str
    passed: object
    measured: str

    def to_dict(self):
        return {"description": self.description, "passed": self.passed, "measured": self.measured}


@dataclass
class CaseResult:
    name: str
    title: str
    description: str
    comparison: object
    checks: list
    figure: str
    wall_time: dict = field(default_factory=dict)

    @property
    def passed(self):
        return all(c.passed is not False for c in self.checks)

    def to_dict(self):
        return {
            "name": self.name,
            "title": self.title,
            "passed": self.passed,
            "checks": [c.to_dict() for c in self.checks],
            "comparison": self.comparison.to_dict(),
            "figure": self.figure,
            "wall_time_s": self.wall_time,
        }


@dataclass
class SuiteResult:
    """What :func:`run_suite` measured; ``passed`` is True when no check failed."""

    cases: list
    seed: int
    duration: float
    out: str
    report: str
    results: str

    @property
    def passed(self):
        return all(c.passed for c in self.cases)

    def to_dict(self):
        return {
            "passed": self.passed,
            "seed": self.seed,
            "duration_s": self.duration,
            "neuroimc": __version__,
            "brian2": brian2.__version__,
            "report": self.report,
            "cases": [c.to_dict() for c in self.cases],
        }


def _activity_check(c):
    rates = {name: p.mean_rate_b for name, p in c.populations.items()}
    low = min(rates.values())
    return Check(
        f"network is active (mean rate of every population >= {MIN_RATE:g} Hz in Brian2)",
        bool(low >= MIN_RATE),
        ", ".join(f"{n}: {r:.2f} Hz" for n, r in rates.items()),
    )


def _identical_checks(c):
    return [
        Check(
            "identical spikes (same neuron, same step)",
            bool(c.identical),
            "identical" if c.identical else f"first divergence at {c.first_divergence / ms:.1f} ms, "
            f"matched {100 * c.matched_fraction:.3f} %",
        ),
        Check(
            f"membrane traces agree within {MAX_TRACE_ERROR:g} V",
            bool(c.max_trace_error <= MAX_TRACE_ERROR),
            f"max |v_neuroimc - v_brian2| = {c.max_trace_error:.3g} V",
        ),
    ]


def _ei_checks(c, duration):
    first = c.first_divergence
    limit = MIN_DIVERGENCE_FRACTION * duration
    checks = [
        Check(
            f"spikes identical up to the first divergence, at or after {limit / ms:g} ms "
            f"({100 * MIN_DIVERGENCE_FRACTION:g} % of the run)",
            bool(first is None or first >= limit),
            "no divergence" if first is None else f"first divergence at {first / ms:.1f} ms",
        ),
        Check(
            "trace error before the first divergence within "
            f"{MAX_TRACE_ERROR:g} V",
            bool(not c.max_trace_error_before_divergence > MAX_TRACE_ERROR),
            f"{c.max_trace_error_before_divergence:.3g} V",
        ),
    ]
    for name, p in c.populations.items():
        checks.append(
            Check(
                f"mean rate of '{name}' within {100 * MAX_RATE_DIFFERENCE:g} %",
                bool(p.rate_relative_difference <= MAX_RATE_DIFFERENCE),
                f"{p.mean_rate_a:.3f} Hz vs {p.mean_rate_b:.3f} Hz ({100 * p.rate_relative_difference:.3f} %)",
            )
        )
    checks.append(Check("spikes matched within one step (reported)", None, f"{100 * c.matched_fraction:.3f} %"))
    return checks


def _device_checks(card, c):
    if load_device(card).is_ideal:
        return _identical_checks(c)
    return [
        Check("spikes matched within one step (reported)", None, f"{100 * c.matched_fraction:.3f} %"),
        Check("firing-rate correlation (reported)", None, f"{c.rate_correlation:.4f}"),
        Check(
            "first divergence (reported)",
            None,
            "none" if c.first_divergence is None else f"{c.first_divergence / ms:.1f} ms",
        ),
    ]


def _weight_checks(c):
    change = min(w.mean_change_b for w in c.weights.values())
    least = MIN_WEIGHT_CHANGE_FACTOR * MAX_WEIGHT_ERROR
    return [
        Check(
            f"learning moved the weights (mean |change| >= {least:g} w_max in Brian2, "
            f"{MIN_WEIGHT_CHANGE_FACTOR}x the allowed error)",
            bool(change >= least),
            f"{change:.4g} w_max",
        ),
        Check(
            f"final weights agree within {MAX_WEIGHT_ERROR:g} w_max",
            bool(c.max_weight_error <= MAX_WEIGHT_ERROR),
            f"max |w_neuroimc - w_brian2| = {c.max_weight_error:.3g} w_max (RMS {c.rms_weight_error:.3g})",
        ),
    ]


def _hardware_learning_checks(c):
    checks = [
        Check("spikes matched within one step (reported)", None, f"{100 * c.matched_fraction:.3f} %"),
        Check("firing-rate correlation (reported)", None, f"{c.rate_correlation:.4f}"),
        Check(
            "first divergence (reported)",
            None,
            "none" if c.first_divergence is None else f"{c.first_divergence / ms:.1f} ms",
        ),
        Check(
            "final-weight error, max and RMS (reported)",
            None,
            f"{c.max_weight_error:.3g} w_max, RMS {c.rms_weight_error:.3g} w_max",
        ),
    ]
    for name, w in c.weights.items():
        checks.append(Check(
            f"learning of '{name}': mean |change| on hardware / ideal, correlation of the changes, "
            "RMS error / RMS ideal change (reported)",
            None,
            f"{w.mean_change_a:.4g} / {w.mean_change_b:.4g} w_max, r = {w.change_correlation:.4f}, "
            f"{w.learning_error:.3g}",
        ))
    return checks


def _plan(case_names, devices, seed):
    """``(name, title, description, builder, weights mode, checks)`` of each case to run."""
    plan = []
    if "feedforward" in case_names:
        plan.append((
            "feedforward",
            "Feed-forward, ideal crossbar",
            "500 Poisson inputs (20 Hz) -> 100 heterogeneous LIF neurons through one signed ideal crossbar; "
            "the Brian2 twin replays the input spikes neuroimc drew.",
            lambda: cases.feedforward(seed),
            "effective",
            lambda c, d: _identical_checks(c),
        ))
    if "recurrent_ei" in case_names:
        plan.append((
            "recurrent_ei",
            "Recurrent E/I (CUBA topology), ideal crossbars",
            "800 excitatory + 200 inhibitory LIF neurons, dense crossbars E->E, E->I, I->E, I->I with signed "
            "weights, driven by 200 Poisson inputs (10 Hz); float64 on both sides.",
            lambda: cases.cuba_ei(seed),
            "effective",
            _ei_checks,
        ))
    if "devices" in case_names:
        for card in devices:
            plan.append((
                f"device:{card}",
                f"Device card '{card}' against the ideal Brian2 reference",
                f"The feed-forward network with its crossbar mapped onto '{card}' devices "
                "(Crossbar.from_weights), against Brian2 with the intended weights.",
                (lambda card=card: cases.feedforward(seed, device=card)),
                "given",
                (lambda c, d, card=card: _device_checks(card, c)),
            ))
    if "stdp" in case_names:
        plan.append((
            "stdp",
            "Feed-forward STDP, ideal crossbar",
            "200 Poisson inputs (15 Hz) -> 30 heterogeneous LIF neurons through one ideal crossbar that learns with "
            "additive pair STDP; the Brian2 twin replays the input spikes and learns with the same rule.",
            lambda: cases.stdp_feedforward(seed),
            "effective",
            lambda c, d: _identical_checks(c) + _weight_checks(c),
        ))
        for card in devices:
            if load_device(card).is_ideal:
                continue  # the ideal case above is the exact one
            plan.append((
                f"stdp:{card}",
                f"STDP on '{card}' crossbars against ideal Brian2 learning",
                f"The STDP network with its crossbar on '{card}' devices (weight changes written as programming "
                "pulses), against Brian2 learning with the ideal rule from the intended weights.",
                (lambda card=card: cases.stdp_feedforward(seed, device=card)),
                "given",
                lambda c, d: _hardware_learning_checks(c),
            ))
    return plan


def run_suite(out="out/validate", devices=None, seed=1, duration=1.0 * second, cases=None, progress=True):
    """Run the validation suite and write its report into ``out``; returns a :class:`SuiteResult`.

    Parameters
    ----------
    out : str
        Folder for ``report.md``, ``results.json`` and the figures.
    devices : list of str, optional
        Device cards of the device and hardware-learning cases (default: every
        card, :func:`neuroimc.available_devices`).
    seed : int
        Seed of every network.
    duration : float
        Seconds simulated per case (criteria scale with it: the E/I divergence
        bound is 20 % of it).
    cases : list of str, optional
        Subset of ``("feedforward", "recurrent_ei", "devices", "stdp")`` (default all).
    progress : bool
        Progress bars.
    """
    out = str(out)
    seed = _checks.integer("seed", seed, low=0)
    duration = _checks.positive("duration", duration)
    known = available_devices()
    devices = known if devices is None else list(devices)
    for d in devices:
        _checks.choice("devices", d, known)
    case_names = CASES if cases is None else list(cases)
    for name in case_names:
        _checks.choice("cases", name, CASES)
    plan = _plan(case_names, devices, seed)
    if not plan:
        raise ValueError("nothing to run: cases selects 'devices' but devices is empty")

    results = []
    bar = tqdm(plan, desc="validate", unit="case", disable=not progress)
    for name, title, description, build, weights, judge in bar:
        net, intended = build()
        run = reference_run(net, duration, weights=intended if weights == "given" else weights, progress=progress)
        c = compare(*run)
        figure = f"{name.replace(':', '_')}.png"
        fig = c.plot()
        fig.suptitle(title)
        save_figure(fig, f"{out}/{figure}")
        checks = [_activity_check(c)] + judge(c, duration)
        results.append(CaseResult(
            name, title, description, c, checks, figure,
            {"neuroimc": run.neuroimc.wall_time, "brian2": run.brian2.wall_time},
        ))
    suite = SuiteResult(results, seed, duration, out, f"{out}/report.md", f"{out}/results.json")
    write_atomic(suite.report, _markdown(suite))
    write_json(suite.results, _jsonable(suite.to_dict()))
    return suite


def _jsonable(obj):
    # round-trip through json with numpy scalars made plain
    return json.loads(json.dumps(obj, default=lambda x: x.item() if isinstance(x, np.generic) else str(x)))


def _markdown(suite):
    lines = [
        "# neuroimc validation against Brian2",
        "",
        f"neuroimc {__version__}, Brian2 {brian2.__version__} (numpy target), Python {platform.python_version()}; "
        f"seed {suite.seed}, {suite.duration * 1e3:g} ms per case, dt 0.1 ms.",
        "",
        f"**Result: {'all checks passed' if suite.passed else 'SOME CHECKS FAILED'}.**",
        "",
        "| case | result | matched | first divergence | rate correlation | max final-weight error (w_max) | "
        "wall time neuroimc / Brian2 |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in suite.cases:
        c = r.comparison
        div = "none" if c.first_divergence is None else f"{c.first_divergence / ms:.1f} ms"
        weights = f"{c.max_weight_error:.3g}" if c.weights else "no plasticity"
        lines.append(
            f"| [{r.name}](#{r.name.replace(':', '')}) | {'pass' if r.passed else 'FAIL'} | "
            f"{100 * c.matched_fraction:.3f} % | {div} | {c.rate_correlation:.4f} | {weights} | "
            f"{r.wall_time['neuroimc']:.2f} s / {r.wall_time['brian2']:.2f} s |"
        )
    for r in suite.cases:
        lines += ["", f"## {r.name}", "", f"**{r.title}.** {r.description}", "", "| check | result | measured |",
                  "|---|---|---|"]
        for ch in r.checks:
            verdict = "reported" if ch.passed is None else ("pass" if ch.passed else "FAIL")
            # a bare | (as in |v_a - v_b|) would end the table cell
            cells = (ch.description.replace("|", "\\|"), verdict, ch.measured.replace("|", "\\|"))
            lines.append("| " + " | ".join(cells) + " |")
        lines += ["", r.comparison.to_markdown(), f"![{r.name}]({r.figure})"]
    return "\n".join(lines) + "\n"
