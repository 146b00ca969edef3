"""The benchmark network, defined once for both simulators.

``n_in`` Poisson inputs at 20 Hz drive ``n_out`` LIF neurons through an
all-to-all crossbar (dt = 0.1 ms, exact integration)::

    dv/dt     = (v_rest - v + R*I_syn)/tau_m : volt (unless refractory)
    dI_syn/dt = -I_syn/tau_syn               : amp
    v > v_thresh -> v = v_reset, refractory t_ref
    input spike on row i:  I_syn[j] += w[i, j] * w_scale

``w ~ U(0, 1)`` from ``numpy.random.default_rng(weight_seed)`` (row-major,
shape ``(n_in, n_out)``), identical in both simulators.  ``w_scale`` makes the
mean drive ``R * <w> * w_scale * n_in * rate * tau_syn`` equal to 16 mV, which
puts the mean membrane potential 1 mV above threshold: the neurons fire at
roughly 15-20 Hz for every size, so the work per synapse is the same across the
scaling series.

The STDP variant is Brian2's pair-based additive rule with traces
(``tau_pre = tau_post = 20 ms``, ``A_pre = 0.01``, ``A_post = -1.05 A_pre``,
``w`` clipped to [0, 1]).  Weights are dimensionless (units of ``w_scale``)
in both simulators, so ``A_pre`` and ``A_post`` need no conversion.
"""
import numpy as np

DT = 1e-4  # s
RATE = 20.0  # Hz, every input
LIF = dict(tau_m=20e-3, v_rest=-65e-3, v_reset=-65e-3, v_thresh=-50e-3, t_ref=2e-3, tau_syn=5e-3, r_m=100e6)
MEAN_DRIVE = 16e-3  # V
STDP = dict(tau_pre=20e-3, tau_post=20e-3, A_pre=0.01, A_post=-1.05 * 0.01, w_min=0.0, w_max=1.0)

#: how each variant is named in results
STATIC = "static"
STDP_SYNAPSE = "stdp_synapse"  # Brian2: traces per synapse, as in Brian2's STDP example
STDP_NEURON = "stdp_neuron"  # Brian2: apre per input, apost per output neuron
STDP_NEUROIMC = "stdp"  # neuroimc's own STDP (whatever layout the engine uses)

#: each run's output spikes are counted in this many equal time windows, to
#: estimate the standard error of the population rate (see rate_statistics)
N_WINDOWS = 10


def w_scale(n_in):
    """Current jump (A) of a weight of 1: ``16 mV / (R * 0.5 * n_in * rate * tau_syn)``."""
    return MEAN_DRIVE / (LIF["r_m"] * 0.5 * n_in * RATE * LIF["tau_syn"])


def weights(n_in, n_out, weight_seed):
    """Dimensionless weights ``w ~ U(0, 1)``, shape ``(n_in, n_out)``, float64."""
    return np.random.default_rng(weight_seed).uniform(0.0, 1.0, (n_in, n_out))


def window_counts(spike_times, duration, n_windows=N_WINDOWS):
    """Population spike counts in ``n_windows`` equal windows of ``[0, duration)``."""
    edges = np.linspace(0.0, duration, n_windows + 1)
    t = np.minimum(np.asarray(spike_times, np.float64), np.nextafter(duration, 0.0))
    return np.histogram(t, bins=edges)[0].astype(int).tolist()


def rate_statistics(window_count_lists, n_out, duration):
    """Population rate (Hz) and its standard error from per-window spike counts.

    Neurons share their inputs, so their spike counts are correlated and a
    Poisson error (sqrt of the count) would be far too small.  Each window's
    population count is treated as one sample: windows of several membrane
    time constants are close to independent, and the spread between them
    contains the shared-input fluctuations.  ``window_count_lists`` holds one
    list per run (all of equal duration).
    """
    counts = np.concatenate([np.asarray(c, np.float64) for c in window_count_lists])
    n_windows = counts.size
    if n_windows == 0:
        raise ValueError("rate_statistics needs at least one window of spike counts, got none")
    window = duration / len(window_count_lists[0])
    rates = counts / (n_out * window)
    mean = float(rates.mean())
    if n_windows > 1:
        se = float(rates.std(ddof=1) / np.sqrt(n_windows))
    else:  # one window: fall back to the Poisson error of its count
        se = float(np.sqrt(max(counts[0], 1.0)) / (n_out * window))
    # a floor of the Poisson error of the total count, for very regular trains
    se = max(se, float(np.sqrt(max(counts.sum(), 1.0)) / (n_out * window * n_windows)))
    return mean, se, n_windows
