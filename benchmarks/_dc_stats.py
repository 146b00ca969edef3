"""Is the Brian2 twin the same network?  Two kinds of evidence, from the records of both simulators.

**Replay** (deterministic).  neuroimc's Poisson input spikes of the first images
are recorded and Brian2 is driven by exactly these spikes
(``SpikeGeneratorGroup``).  Then the excitatory spikes (step, neuron) must be
identical -- both simulators integrate exactly, add the same currents in the
same order and take the same re-presentation decisions -- and the thresholds
and weights agree to rounding: :data:`THETA_ATOL` volts (thresholds of about
1 mV, built from a few hundred additions), :data:`W_ATOL` in units of
``w_max`` (weights of 0.01 to 1 after ~1e5 float64 updates and rescalings;
measured differences are near 1e-14).

**Statistics** (the timed Poisson runs).  The simulators draw different Poisson
trains, so each image's spike count differs by chance.  Both see the same
images in the same order, so the per-image differences ``d_k`` are compared
(paired): if the networks are the same, every ``d_k`` has mean 0, and
``|mean(d)| <= TOLERANCE_SE * sd(d) / sqrt(K)`` holds unless a
``TOLERANCE_SE``-sigma fluctuation happened (treating the ``d_k`` as
independent; learning makes neighbouring images weakly dependent, which the
homeostasis -- more spikes, higher thresholds -- counteracts).

The mean adaptive threshold is checked through its link to the spike count:
every spike of a neuron adds ``theta_plus`` to it, which then decays with
``tau_theta``, so after ``S`` excitatory spikes in a run of duration ``T``::

    theta_plus / N * S * exp(-T / tau_theta)  <=  mean(theta)  <=  theta_plus / N * S

(checked for each simulator: ``identity``), and two runs differ in mean theta
by ``theta_plus / N`` times their difference in total spikes (tolerance from
the paired per-image totals as above) plus the decay bound.
"""
import math

import numpy as np

#: two means agree when they differ by at most this many standard errors of the difference
TOLERANCE_SE = 4.0
#: replay: largest threshold difference accepted (V): rounding of a few thousand additions of theta_plus
THETA_ATOL = 1e-12
#: replay: largest weight difference accepted (units of w_max)
W_ATOL = 1e-9
# relative rounding allowed in the theta/spike-count identity (sums of ~1e5 float64 terms)
_IDENTITY_RTOL = 1e-9


def paired(neuroimc, brian2, what):
    """Paired comparison of per-image values of the two simulators on the same images."""
    a, b = np.asarray(neuroimc, np.float64), np.asarray(brian2, np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"{what}: per-image records must have one equal length, got {a.shape} and {b.shape}")
    k = a.size
    d = a - b
    se = float(d.std(ddof=1) / math.sqrt(k)) if k > 1 else None
    diff = float(d.mean()) if k else None
    agree = None if se is None else bool(abs(diff) <= TOLERANCE_SE * se)
    return {"what": what, "images": int(k), "mean_neuroimc": float(a.mean()) if k else None,
            "mean_brian2": float(b.mean()) if k else None, "difference": diff, "se": se,
            "tolerance": None if se is None else TOLERANCE_SE * se, "agree": agree}


def theta_bounds(total_spikes, theta_plus, n, duration, tau_theta):
    """``(low, high)`` of the mean threshold after ``total_spikes`` excitatory spikes in ``duration`` s."""
    high = theta_plus / n * total_spikes
    low = high * (math.exp(-duration / tau_theta) if tau_theta is not None else 1.0)
    return low, high


def theta_identity(theta_mean, total_spikes, theta_plus, n, duration, tau_theta):
    """Whether one run's mean threshold is what its spike count implies."""
    low, high = theta_bounds(total_spikes, theta_plus, n, duration, tau_theta)
    slack = _IDENTITY_RTOL * max(high, theta_plus / n)
    return {"theta_mean_v": theta_mean, "spikes": int(total_spikes), "low_v": low, "high_v": high,
            "agree": bool(low - slack <= theta_mean <= high + slack)}


def theta_comparison(theta_neuroimc, theta_brian2, totals_neuroimc, totals_brian2, exc, n, durations):
    """Mean thresholds of the two runs after the same images, with the tolerance their spike counts give.

    ``durations``: simulated time of each run (s); ``exc``: the excitatory population's parameters.
    """
    tp, tau = exc["theta_plus"], exc["tau_theta"]
    a, b = np.asarray(totals_neuroimc, np.float64), np.asarray(totals_brian2, np.float64)
    spikes = paired(a, b, "excitatory spikes per image, all presentations and rests")
    per_spike = tp / n
    decay = 0.0 if tau is None else 1.0 - math.exp(-max(durations) / tau)
    tol = None
    if spikes["se"] is not None:
        tol = TOLERANCE_SE * per_spike * spikes["se"] * a.size + per_spike * max(a.sum(), b.sum()) * decay
    diff = theta_neuroimc - theta_brian2
    return {
        "theta_mean_v": {"neuroimc": theta_neuroimc, "brian2": theta_brian2},
        "difference_v": diff,
        "tolerance_v": tol,
        "agree": None if tol is None else bool(abs(diff) <= tol + _IDENTITY_RTOL * per_spike),
        "identity": {"neuroimc": theta_identity(theta_neuroimc, a.sum(), tp, n, durations[0], tau),
                     "brian2": theta_identity(theta_brian2, b.sum(), tp, n, durations[1], tau)},
        "total_spikes": spikes,
    }


def replay(reference, brian2):
    """Compare Brian2's replayed run with neuroimc's recorded one (``np.load``-ed ``.npz`` mappings)."""
    ours = sorted(zip(reference["spike_steps"].tolist(), reference["spike_indices"].tolist()))
    theirs = sorted(zip(brian2["spike_steps"].tolist(), brian2["spike_indices"].tolist()))
    first = next((k for k, (x, y) in enumerate(zip(ours, theirs)) if x != y), None)
    if first is None and len(ours) != len(theirs):
        first = min(len(ours), len(theirs))
    d_theta = float(np.abs(reference["theta"] - brian2["theta"]).max())
    d_w = float(np.abs(reference["W"] - brian2["W"]).max())
    identical = first is None
    return {
        "images": int(len(reference["attempts"])),
        "input_spikes": int(len(reference["input_indices"])),
        "excitatory_spikes": {"neuroimc": len(ours), "brian2": len(theirs)},
        "identical_spikes": identical,
        "first_difference": None if identical else {
            "index": first, "neuroimc": ours[first] if first < len(ours) else None,
            "brian2": theirs[first] if first < len(theirs) else None},
        "theta_max_abs_diff_v": d_theta,
        "w_max_abs_diff": d_w,
        "tolerances": {"theta_v": THETA_ATOL, "w": W_ATOL},
        "agree": bool(identical and d_theta <= THETA_ATOL and d_w <= W_ATOL),
    }
