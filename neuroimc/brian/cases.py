"""The networks of the validation suite.

Each builder returns ``(net, weights)``: a neuroimc network, not yet run, and
the intended weight matrix of each crossbar (``{crossbar: W}``, amperes), which
is the ideal Brian2 reference's weights when the crossbars use a non-ideal
device card.  Parameters are drawn from ``numpy.random.default_rng(seed)`` and
the network is seeded with ``seed``: the same seed builds the same network.
"""
import numpy as np

from ..crossbar import Crossbar
from ..inputs import PoissonSource
from ..learning import STDP
from ..network import Network
from ..neurons import LIFPopulation
from ..units import Hz, Mohm, mV, ms, pA


def feedforward(seed=1, device="ideal", n_in=500, n=100, dt=0.1 * ms):
    """``n_in`` Poisson inputs (20 Hz) drive ``n`` heterogeneous LIF neurons through one signed crossbar.

    Membrane time constants, resets and thresholds vary per neuron; weights are
    uniform in [-15, 22] pA (for 500 inputs; scaled by 500/n_in), so inputs
    excite and inhibit.  The mean drive ``r_m * n_in * rate * tau_syn * <W>``
    is 17.5 mV above rest, near the ~15 mV to threshold: firing is driven by
    the input fluctuations, irregular, at tens of Hz.
    """
    rng = np.random.default_rng(seed)
    net = Network(dt=dt, seed=seed)
    src = net.add(PoissonSource(n_in, rate=20 * Hz, name="input"))
    pop = net.add(_heterogeneous_lif(rng, n))
    W = rng.uniform(-15, 22, (n_in, n)) * pA * (500 / n_in)
    xb = net.connect(src, pop, Crossbar.from_weights(W, device=device))
    return net, {xb: W}


def cuba_ei(seed=1, device="ideal", n_exc=800, n_inh=200, n_in=200, dt=0.1 * ms):
    """The topology of Brian2's CUBA example with neuroimc's single-current LIF.

    ``n_exc`` excitatory and ``n_inh`` inhibitory neurons (4:1 as in CUBA,
    scaled down from 3200 + 800), all-to-all through dense crossbars: E -> E,
    E -> I (positive weights) and I -> E, I -> I (negative), plus ``n_in``
    Poisson inputs (10 Hz) onto both populations that keep the network active.
    CUBA's neuron parameters (tau_m = 20 ms, v_reset = -60 mV, v_thresh =
    -50 mV, 5 ms refractory, initial v uniform in [v_reset, v_thresh]); its two
    synaptic currents (tau_e = 5 ms, tau_i = 10 ms) become one (tau_syn = 5 ms)
    with inhibitory jumps doubled to keep CUBA's charge per spike.  CUBA's
    sparse weights (p = 0.02; 1.62 mV and -9 mV jumps of v-equivalent current)
    are spread over the dense crossbars: mean jumps 1.3 pA (E) and -14.4 pA (I)
    for 800 + 200 neurons at r_m = 100 MOhm, uniform in [0, 2*mean], scaled
    inversely with the population sizes.  The rest potential sits at v_reset;
    the Poisson input (mean 30 pA per input spike) supplies the drive that
    CUBA gets from a rest potential above threshold.
    """
    rng = np.random.default_rng(seed)
    net = Network(dt=dt, seed=seed)
    src = net.add(PoissonSource(n_in, rate=10 * Hz, name="input"))
    params = dict(tau_m=20 * ms, v_rest=-60 * mV, v_reset=-60 * mV, v_thresh=-50 * mV, t_ref=5 * ms,
                  tau_syn=5 * ms, r_m=100 * Mohm)
    exc = net.add(LIFPopulation(n_exc, v_init=rng.uniform(-60, -50, n_exc) * mV, name="exc", **params))
    inh = net.add(LIFPopulation(n_inh, v_init=rng.uniform(-60, -50, n_inh) * mV, name="inh", **params))
    mean = {exc: 1.3 * pA * 800 / n_exc, inh: -14.4 * pA * 200 / n_inh, src: 30 * pA * 200 / n_in}
    weights = {}
    for pre, post in ((exc, exc), (exc, inh), (inh, exc), (inh, inh), (src, exc), (src, inh)):
        W = rng.uniform(0, 2, (pre.n, post.n)) * mean[pre]
        xb = net.connect(pre, post, Crossbar.from_weights(W, device=device))
        weights[xb] = W
    return net, weights


def stdp_feedforward(seed=1, device="ideal", n_in=200, n=30, w_scale=25 * pA, rule=None, dt=0.1 * ms):
    """``n_in`` Poisson inputs (15 Hz) -> ``n`` LIF neurons through one crossbar that learns with STDP.

    The crossbar's ``w_max`` is ``w_scale``; initial weights are uniform in
    [0.2, 0.8] ``w_max``.  The mean drive ``r_m * n_in * rate * tau_syn * <W>``
    (200 inputs, 25 pA: 19 mV) sits near the 13 to 17 mV from rest to the
    heterogeneous thresholds, so firing is fluctuation-driven and input-output
    spike pairs are frequent: the weights move by a few percent of ``w_max``
    per second.  ``rule`` defaults to additive all-to-all pair STDP (Song,
    Miller and Abbott 2000: tau = 20 ms, a_post slightly stronger than a_pre,
    so that the weights stay bounded).
    """
    rng = np.random.default_rng(seed)
    rule = STDP(tau_pre=20 * ms, tau_post=20 * ms, a_pre=0.01, a_post=-0.0105) if rule is None else rule
    net = Network(dt=dt, seed=seed)
    src = net.add(PoissonSource(n_in, rate=15 * Hz, name="input"))
    pop = net.add(_heterogeneous_lif(rng, n))
    W = rng.uniform(0.2, 0.8, (n_in, n)) * w_scale * (200 / n_in)
    xb = net.connect(src, pop, Crossbar.from_weights(W, device=device, w_max=w_scale * (200 / n_in)), plasticity=rule)
    return net, {xb: W}


def _heterogeneous_lif(rng, n):
    """``n`` LIF neurons whose tau_m, reset and threshold vary per neuron (drawn from ``rng`` in that order)."""
    return LIFPopulation(
        n,
        tau_m=rng.uniform(15, 25, n) * ms,
        v_rest=-65 * mV,
        v_reset=rng.uniform(-70, -65, n) * mV,
        v_thresh=rng.uniform(-52, -48, n) * mV,
        t_ref=2 * ms,
        tau_syn=5 * ms,
        r_m=100 * Mohm,
        name="lif",
    )
