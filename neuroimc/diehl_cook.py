"""Diehl & Cook (2015): unsupervised digit recognition with STDP, on a memristive crossbar.

P. U. Diehl and M. Cook, "Unsupervised learning of digit recognition using
spike-timing-dependent plasticity", Front. Comput. Neurosci. 9:99 (2015).

Architecture::

    n_input Poisson inputs (pixel / full_scale * 63.75 Hz)
        --[crossbar: learns, TripletSTDP on the devices]-->  N excitatory LIF, adaptive threshold theta
    excitatory j --[one-to-one]--> inhibitory j --[all but j]--> every other excitatory neuron

The inhibitory layer makes the excitatory one winner-take-all; the adaptive
threshold (``theta += 0.05 mV`` per spike, decaying with 1e7 ms, a third of
a 60000-image pass) stops single neurons from winning every input; the
rule is the authors' nearest-spike triplet form (``nu_pre = 1e-4``,
``nu_post = 0.01``, post traces 20 and 40 ms, pre trace 20 ms); before each
presentation every neuron's input weights are scaled to sum to
``0.1 * n_input`` (78 for MNIST's 784 pixels).  Images are shown for 350 ms
and followed by 150 ms without input; a presentation that draws fewer than
5 excitatory spikes is repeated with the input rates raised by 32 Hz
(:class:`~neuroimc.encoding.PresentationSchedule`).

This is the current-based version of the paper's conductance-based neurons
(a crossbar column delivers a current): each synaptic current decays with
``tau_syn = 1 ms`` and is sized by the peak voltage excursion it causes.  An
input of weight 1 gives +0.6 mV (the paper's ``ge += w`` with 1 ms and
``E_exc = 0`` at -60 mV), scaled by ``784 / n_input`` so that smaller images
get the same total drive; one excitatory spike drives its inhibitory partner
+50 mV, far past threshold.  One inhibitory spike gives -50 mV
(``inhibition``).  The paper's ``w = 17`` towards ``E_inh = -100 mV`` for
2 ms is an area of only -13.6 mV, but a conductance also shunts the
excitation it meets, which a current cannot; with -13.6 mV about six
neurons answer each MNIST image instead of one or two and N = 100 stalls
near 65 %, with -50 mV one neuron wins (1.1 per image) and N = 100 reaches
81 % after one pass (the paper: 82.9 %).  The input weights live on the
devices of ``device``; the fixed lateral connections are ideal (digital) crossbars.
"""
import numpy as np

from . import _checks
from .crossbar import Crossbar
from .encoding import PresentationSchedule
from .inputs import PoissonSource
from .learning import RULES, TripletSTDP
from .network import Network
from .neurons import LIFPopulation
from .units import mV, ms

#: membrane resistance of both layers (any value works: the current jumps are scaled by it)
R_M = 100e6
#: the authors' rule, on normalised weights (w_max = 1 = one fully programmed device)
DIEHL_COOK_RULE = TripletSTDP(tau_plus=20 * ms, tau_minus=20 * ms, tau_x=20 * ms, tau_y=40 * ms, a2_plus=0.0,
                              a3_plus=0.01, a2_minus=1e-4, a3_minus=0.0, w_max=1.0, pairing="nearest")


def _peak_per_jump(tau_m, tau_syn):
    """Peak voltage excursion of an exponential current of unit ``r_m * I`` into a leaky membrane."""
    t_peak = np.log(tau_m / tau_syn) * tau_m * tau_syn / (tau_m - tau_syn)
    return tau_syn / (tau_m - tau_syn) * (np.exp(-t_peak / tau_m) - np.exp(-t_peak / tau_syn))


class DiehlCook2015:
    """The network of Diehl & Cook (2015), its input protocol and its read-out.

    Parameters
    ----------
    n_input : int
        Pixels per image.
    n_neurons : int
        Excitatory (and inhibitory) neurons, ``N`` of the paper.
    device : str or DeviceModel
        Card of the learning crossbar's devices.
    seed : int
        Seeds the network (initial weights, Poisson inputs, device sampling and noise).

    Attributes ``w_unit`` (current jump of an input of weight 1), ``w_ei`` and
    ``w_ie`` (excitatory -> inhibitory and inhibitory -> excitatory jumps, A)
    give the synapses in SI units; ``net``, ``input``, ``exc``, ``inh`` and
    ``synapses`` (the learning crossbar) the network.
    rule : STDP or TripletSTDP, optional
        Learning rule (default :data:`DIEHL_COOK_RULE`); pass e.g.
        ``dataclasses.replace(DIEHL_COOK_RULE, pulses="stochastic")`` for stochastic pulsing.
    input_total : float, optional
        Sum of each neuron's normalised input weights after scaling (default ``0.1 * n_input``).
    inhibition : float
        Peak hyperpolarisation of one inhibitory spike on an excitatory neuron, volts (50 mV).
    epsp : float, optional
        Peak voltage excursion of an input spike of weight 1, volts (default ``0.6 mV * 784 / n_input``:
        the paper's total input drive whatever the image size).
    schedule : PresentationSchedule, optional
        Presentation protocol (default: the paper's).
    full_scale : float
        Pixel value of the brightest pixel (255 for MNIST, 16 for scikit-learn's digits).
    dt : float
        Time step (default 0.5 ms, the paper's).
    """

    def __init__(self, n_input, n_neurons=100, *, device="ideal", seed=0, rule=None, input_total=None,
                 epsp=None, inhibition=50 * mV, schedule=None, full_scale=255.0, dt=0.5 * ms):
        self.n_input = _checks.integer("n_input", n_input, low=1, high=10**6)
        self.n_neurons = n = _checks.integer("n_neurons", n_neurons, low=2, high=10**5)
        self.rule = DIEHL_COOK_RULE if rule is None else rule
        if not isinstance(self.rule, RULES):
            raise TypeError(f"rule must be an STDP or TripletSTDP rule, got {type(self.rule).__name__}")
        self.input_total = (0.1 * self.n_input if input_total is None
                            else _checks.real("input_total", input_total, low=0.0, low_open=True))
        self.epsp = (0.6 * mV * 784 / self.n_input if epsp is None
                     else _checks.real("epsp", epsp, low=0.0, low_open=True))
        self.inhibition = _checks.real("inhibition", inhibition, low=0.0)
        self.schedule = PresentationSchedule(full_scale=full_scale) if schedule is None else schedule
        if not isinstance(self.schedule, PresentationSchedule):
            raise TypeError(f"schedule must be a PresentationSchedule, got {type(self.schedule).__name__}")
        self.net = net = Network(dt=dt, seed=seed)
        self.input = net.add(PoissonSource(self.n_input, rate=0.0, name="input"))
        self.exc = net.add(LIFPopulation(n, tau_m=100 * ms, v_rest=-65 * mV, v_reset=-65 * mV, v_thresh=-52 * mV,
                                         t_ref=5 * ms, tau_syn=1 * ms, r_m=R_M, theta_plus=0.05 * mV,
                                         tau_theta=1e4, name="excitatory"))
        self.inh = net.add(LIFPopulation(n, tau_m=10 * ms, v_rest=-60 * mV, v_reset=-45 * mV, v_thresh=-40 * mV,
                                         t_ref=2 * ms, tau_syn=1 * ms, r_m=R_M, name="inhibitory"))
        # current jumps: one unit of input weight -> epsp, one spike of excitatory j -> +50 mV on
        # inhibitory j, one inhibitory spike -> -13.6 mV on every other excitatory neuron
        self.w_unit = unit = self.epsp / (R_M * _peak_per_jump(100 * ms, 1 * ms))
        self.w_ei = w_ei = 50 * mV / (R_M * _peak_per_jump(10 * ms, 1 * ms))
        self.w_ie = w_ie = self.inhibition / (R_M * _peak_per_jump(100 * ms, 1 * ms))
        rng = np.random.default_rng(net.seed)
        w0 = rng.uniform(0.0, 0.3, (self.n_input, n))  # the paper's initial weights, in units of w_max
        self.synapses = net.connect(self.input, self.exc, Crossbar.from_weights(w0 * unit, device=device, w_max=unit),
                                    plasticity=self.rule)
        self.exc_to_inh = net.connect(self.exc, self.inh, Crossbar.from_weights(np.eye(n) * w_ei))
        self.inh_to_exc = net.connect(self.inh, self.exc, Crossbar.from_weights(-(1.0 - np.eye(n)) * w_ie))
        self.spikes = net.monitor_spikes(self.exc)

    # ------------------------------------------------------------------ running
    def _show(self, image, learn):
        """Present one image until accepted; returns (spike counts of the accepted presentation, attempts).

        An image still rejected after ``max_attempts`` keeps its last counts (its attempts are
        ``max_attempts + 1``): one unresponsive image must not stop a long training run.
        """
        net, sched = self.net, self.schedule
        for attempt in range(sched.max_attempts):
            if learn:
                self.synapses.normalize_columns(self.input_total)
            self.input.rate = sched.rates(image, attempt)
            self.spikes.clear()
            net.run(sched.presentation, progress=False)
            counts = self.spikes.counts()
            self.input.rate = 0.0
            if sched.rest > 0:
                net.run(sched.rest, progress=False)
            if sched.accepted(int(counts.sum())):
                return counts, attempt + 1
        return counts, sched.max_attempts + 1

    def present(self, images, learn=True, progress=True, desc=None):
        """Show ``images`` (``(n, n_input)`` or ``(n, h, w)``) one after another.

        With ``learn`` the crossbar learns and thresholds adapt; otherwise both
        are frozen.  Returns ``(responses, attempts)``: excitatory spike counts of
        each image's accepted presentation ``(n, N)`` and presentations per image
        (``max_attempts + 1`` marks an image no presentation made the network answer).
        """
        from tqdm.auto import tqdm

        images = _checks.real_array("images", images)
        if images.ndim < 2 or int(np.prod(images.shape[1:])) != self.n_input:
            raise ValueError(f"images must have shape (n, {self.n_input}) or (n, h, w) with h*w = {self.n_input}, "
                             f"got {images.shape}")
        images = images.reshape(len(images), self.n_input)
        self.net.learning = bool(learn)
        responses = np.zeros((len(images), self.n_neurons), np.int64)
        attempts = np.zeros(len(images), np.int64)
        desc = desc or ("training" if learn else "responses")
        for k in tqdm(range(len(images)), desc=desc, unit="img", disable=not progress, leave=False):
            responses[k], attempts[k] = self._show(images[k], learn)
        return responses, attempts

    def receptive_fields(self, shape=None):
        """Programmed input weights of every neuron, ``(N, n_input)`` or ``(N, *shape)``."""
        rf = self.synapses.programmed_weights().T
        return rf.reshape((self.n_neurons, *shape)) if shape is not None else rf.copy()
