"""The network: populations, sources and the crossbars that connect them.

A :class:`Network` collects objects, then :meth:`Network.run` packs them into
contiguous arrays (each object's state becomes a view into them, so it stays
inspectable and assignable) and advances time in chunks of many steps inside
the compiled loop of :mod:`neuroimc.kernels.engine`.
"""
import contextlib

import numpy as np
from tqdm.auto import tqdm

from . import _checks
from .crossbar import Crossbar
from .energy import EnergyMonitor
from .inputs import PoissonSource, SpikeSource
from .learning import RULES
from .kernels import background, deferred, engine
from .kernels import entry as K_entry
from .kernels import lanes as K_lanes
from .kernels.random import new_stream, normal_table
from .monitors import SpikeMonitor, StateMonitor
from .neurons import LIFPopulation
from .units import ms

_GROUP_TYPES = (LIFPopulation, PoissonSource, SpikeSource)
_STATE_VARIABLES = {"v": engine.V_VAR, "I_syn": engine.I_VAR}
_CROSSBAR_KEY = 1 << 20  # spawn keys of crossbars, apart from those of sources


def plastic_entry(xb, x, dt, rule=None, consts=None):
    """The kernel's view of plastic crossbar ``xb`` (index ``x``): see :mod:`neuroimc.kernels.entry`.

    ``rule`` and ``consts``, if given, are the arrays to fill and hold (rows of the network's tables).
    """
    dev = xb.device
    if rule is None:
        rule = xb.plasticity.table(dt)
    consts = np.zeros(K_entry.N_CONSTS) if consts is None else consts
    consts[K_entry.C_SCALE] = xb.v_read * xb.gain
    consts[K_entry.C_E_SCALE] = xb.v_read**2 * dev.read.t_read
    consts[K_entry.C_SPAN] = xb._span
    consts[K_entry.C_AGE] = xb._age
    consts[K_entry.C_P_LTP] = dev.pulse.n_pulses_ltp
    consts[K_entry.C_P_LTD] = dev.pulse.n_pulses_ltd
    consts[K_entry.C_REFERENCE] = xb.mapping == "reference"
    consts[K_entry.C_N_PRE], consts[K_entry.C_N_POST] = xb.shape
    consts[K_entry.C_DT] = dt
    consts[K_entry.C_SIMPLE] = xb._simple()
    return (np.int64(x), rule, xb._pre_trace, xb._post_trace, xb._pre_trace2, xb._post_trace2, xb._state, xb._params,
            xb._scalars, xb._ir_factor, consts, np.full(xb.shape[1] + 2, -1, np.int64), K_lanes.scratch())


def _equal_read_noise(xb):
    """Whether every device of ``xb`` reads with the same noise, now and whatever is written: additive
    noise (a fraction of the shared window) without IR drop."""
    return (xb.device.read.noise_model == "additive" and xb._ir_factor.size == 1
            and xb._sd.size > 0 and np.all(xb._sd == xb._sd.flat[0]))


class Network:
    """A spiking network simulated on memristive crossbars.

    Parameters
    ----------
    dt : float
        Time step, seconds (default 0.1 ms).
    seed : int, optional
        Seed of every random draw of the run (Poisson inputs, and device
        sampling and noise once devices are non-ideal).  The same seed gives
        the same run bit for bit.  ``None`` draws a fresh seed, kept in
        :attr:`seed` so the run can be repeated.
    precision : {"float64", "float32"}
        Number type of the crossbar read-out (the current jumps the engine adds
        per spike).  ``"float32"`` halves the memory traffic of every row read
        (large crossbars run up to twice as fast); weights are then rounded to
        about 7 significant digits, so spikes can differ from a float64 run
        (and from Brian2) where a neuron sits within that rounding of its
        threshold.  Neuron state, traces and device state stay float64, except
        that ideal crossbars learn on their weights alone (kernels.deferred):
        their learned weights then carry float32 rounding.
    threads : {1, 2}, optional
        Threads a run may use.  With 2, while plastic crossbars learn, a second thread applies their
        logged potentiation in the background (:mod:`neuroimc.kernels.background`; only in runs with
        at least :attr:`background_work` to learn); the run is the same bit for bit.  ``None``
        (default): ``NEUROIMC_THREADS`` if set, else 2 where this process may use two cores or more.

    Example
    -------
    >>> net = Network(dt=0.1 * ms, seed=1)
    >>> src = net.add(PoissonSource(100, rate=20.0))
    """

    #: steps per compiled chunk: Python (progress bar, monitor hand-off) runs once per chunk
    chunk_steps = 2000
    #: synapse-steps of learning (synapses of the crossbars that log potentiation x steps) below which a run does
    #: not start the background catch-up thread (threads=2): its start, about 0.1 ms, would cost more than the
    #: catch-ups it takes over
    background_work = 1e8
    #: steps after which weight-only crossbars write to their devices even if nobody looks: a synapse takes
    #: at most two writes a step, and their counts are int32 until then (kernels.deferred)
    sync_steps = 2**30

    def __init__(self, dt=0.1 * ms, seed=None, precision="float64", threads=None):
        self.dt = _checks.positive("dt", dt)
        self.precision = _checks.choice("precision", precision, {"float64", "float32"})
        self.threads = (background.default_threads() if threads is None else
                        _checks.integer("threads", threads, low=1, high=2))
        if seed is not None:
            seed = _checks.integer("seed", seed, low=0)
        self._seeds = np.random.SeedSequence(seed)
        self.seed = self._seeds.entropy
        self.populations = []
        self.sources = []
        self.crossbars = []
        self._learning = True
        self._background_ctl = background.control()  # of the last run that started the background thread
        self._spike_monitors = []
        self._state_monitors = []
        self._n_added = 0
        self._step = 0
        self._unsynced = 0  # learning steps since weight-only crossbars last wrote to their devices
        self._packed = None

    # ------------------------------------------------------------------ building
    def add(self, obj):
        """Add a population or source; returns it (``pop = net.add(LIFPopulation(...))``)."""
        if not isinstance(obj, _GROUP_TYPES):
            raise TypeError(
                "net.add takes an LIFPopulation, PoissonSource or SpikeSource, got "
                f"{type(obj).__name__} (crossbars are added with net.connect)"
            )
        owner = getattr(obj, "_network", None)
        if owner is self:
            raise ValueError(f"{obj!r} was already added to this network")
        if owner is not None:
            raise ValueError(f"{obj!r} already belongs to another network")
        obj._network = self
        obj._spikes = np.zeros(1, np.int64)  # spike counter (energy accounting)
        if isinstance(obj, LIFPopulation):
            self.populations.append(obj)
        else:
            self.sources.append(obj)
        if isinstance(obj, PoissonSource):
            # its own stream, keyed by order of addition: reproducible from the seed
            obj._rng = new_stream(np.random.SeedSequence(self.seed, spawn_key=(self._n_added,)))
            obj._skip = np.full(engine.RATE_CLASSES, -1, dtype=np.int64)
        self._n_added += 1
        self._packed = None
        return obj

    def connect(self, pre, post, crossbar, plasticity=None):
        """Connect ``pre`` (population or source) to ``post`` through ``crossbar``.

        Row ``i`` of the crossbar is ``pre``'s neuron ``i``, column ``j`` is
        ``post``'s neuron ``j``.  Any topology is allowed: several crossbars
        between the same groups, recurrent loops, a population onto itself.
        ``plasticity`` (e.g. :class:`~neuroimc.STDP`) makes the crossbar learn
        on chip.  Returns the crossbar.
        """
        if plasticity is not None and not isinstance(plasticity, RULES):
            raise TypeError(f"plasticity must be an STDP or TripletSTDP rule or None, got {type(plasticity).__name__}")
        self._check_member("pre", pre)
        self._check_member("post", post)
        if not isinstance(post, LIFPopulation):
            raise TypeError(f"post must be an LIFPopulation (sources have no inputs), got {type(post).__name__}")
        if not isinstance(crossbar, Crossbar):
            raise TypeError(f"crossbar must be a Crossbar, got {type(crossbar).__name__}")
        if crossbar.pre is not None:
            raise ValueError(f"{crossbar!r} is already connected ({crossbar.pre.name} -> {crossbar.post.name})")
        if crossbar.shape != (pre.n, post.n):
            raise ValueError(
                f"crossbar has shape {crossbar.shape} but pre has {pre.n} neurons and post {post.n}; "
                f"the crossbar must be (pre.n, post.n) = ({pre.n}, {post.n})"
            )
        if not crossbar.fabricated:  # a new chip instance, sampled from the network's seed
            crossbar._fabricate(np.random.SeedSequence(self.seed, spawn_key=(_CROSSBAR_KEY + len(self.crossbars),)))
        crossbar._age = crossbar._t_device - self.t  # its device clock runs on from here
        crossbar.pre, crossbar.post = pre, post
        crossbar.plasticity = plasticity
        if plasticity is not None:  # traces of this projection, per neuron (part of the state)
            crossbar._pre_trace = np.zeros(pre.n)
            crossbar._post_trace = np.zeros(post.n)
            # slow traces only where a triplet term reads them (Diehl & Cook's rule has no a3_minus)
            crossbar._pre_trace2 = np.zeros(pre.n if plasticity.triplet and plasticity.a3_minus else 0)
            crossbar._post_trace2 = np.zeros(post.n if plasticity.triplet and plasticity.a3_plus else 0)
            # write counts of weight-only learning (kernels.deferred): of the negative devices too where
            # a weight can turn negative
            two_sided = crossbar.mapping == "differential" and plasticity.w_min < 0
            crossbar._writes = np.zeros((2 if two_sided else 1, pre.n * post.n), np.int32)
        self.crossbars.append(crossbar)
        self._packed = None
        return crossbar

    def monitor_spikes(self, group):
        """Record the spikes of a population or source; returns a :class:`SpikeMonitor`."""
        self._check_member("group", group)
        mon = SpikeMonitor(group, self.dt)
        self._spike_monitors.append(mon)
        self._packed = None
        return mon

    def monitor_state(self, population, variable, record=True):
        """Record ``variable`` (``"v"`` or ``"I_syn"``) of some neurons every step.

        ``record`` is ``True`` (all neurons) or a sequence of neuron indices.
        Returns a :class:`StateMonitor`.
        """
        self._check_member("population", population)
        if not isinstance(population, LIFPopulation):
            raise TypeError(f"population must be an LIFPopulation, got {type(population).__name__}")
        _checks.choice("variable", variable, _STATE_VARIABLES)
        if record is True:
            idx = np.arange(population.n)
        else:
            try:
                idx = np.asarray(record)
            except ValueError:  # ragged nested sequences
                raise TypeError(f"record must be True or a 1-d sequence of neuron indices, got {record!r}") from None
            if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
                raise TypeError(f"record must be True or a 1-d sequence of neuron indices, got {record!r}")
            if idx.size and (idx.min() < 0 or idx.max() >= population.n):
                raise ValueError(f"record indices must lie in [0, {population.n}), got {record!r}")
        mon = StateMonitor(population, variable, idx.astype(np.int64), self.dt)
        self._state_monitors.append(mon)
        self._packed = None
        return mon

    def monitor_energy(self, circuit="digital_lif"):
        """Account energy and latency from now on; returns an :class:`~neuroimc.energy.EnergyMonitor`.

        ``circuit`` names the neuron/periphery card in ``models/circuits/``.
        """
        return EnergyMonitor(self, circuit)

    def _check_member(self, name, group):
        if not isinstance(group, _GROUP_TYPES):
            raise TypeError(f"{name} must be an LIFPopulation, PoissonSource or SpikeSource, got {type(group).__name__}")
        if getattr(group, "_network", None) is not self:
            raise ValueError(f"{name} {group!r} is not part of this network; call net.add({name}) first")

    @property
    def spike_monitors(self):
        """The spike monitors of this network, in order of creation (a copy of the list)."""
        return list(self._spike_monitors)

    @property
    def state_monitors(self):
        """The state monitors of this network, in order of creation (a copy of the list)."""
        return list(self._state_monitors)

    # ------------------------------------------------------------------ running
    @property
    def t(self):
        """Current simulation time, seconds."""
        return self._step * self.dt

    @property
    def learning(self):
        """Whether plastic crossbars learn and adaptive thresholds adapt (default True).

        ``False`` freezes both (STDP traces, weights and ``theta`` stay as they
        are): the test phase of an unsupervised network.
        """
        return self._learning

    @learning.setter
    def learning(self, value):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"learning must be True or False, got {_checks._show(value)}")
        self._learning = bool(value)

    def run(self, duration, progress=True):
        """Advance the network by ``duration`` seconds (a whole number of steps)."""
        duration = _checks.non_negative("duration", duration)
        if not duration / self.dt < 2**62:  # also catches inf from a finite duration and a tiny dt
            raise ValueError(
                f"duration = {duration} s is {duration / self.dt:.3g} time steps of dt = {self.dt} s; "
                "at most 2**62 steps are allowed"
            )
        if not isinstance(progress, (bool, np.bool_, int, np.integer)):
            raise TypeError(f"progress must be True or False, got {_checks._show(progress)}")
        n_steps = int(round(duration / self.dt))
        if abs(n_steps * self.dt - duration) > 1e-6 * self.dt:
            raise ValueError(f"duration must be a whole number of time steps dt = {self.dt} s, got {duration} s")
        if self._packed is None:
            self._packed = self._pack()
        pk = self._packed
        for xb, consts in pk["plastic_consts"]:  # a crossbar may have rested (wait) or been written since packing
            consts[K_entry.C_AGE] = xb._age
            consts[K_entry.C_LAZY] = (K_entry.WEIGHT_ONLY if xb._learns_weight_only() else
                                      K_entry.DEVICES if xb._defers_potentiation() else K_entry.EAGER)
        # None: every plastic crossbar learns weight-only, and the kernel is compiled without the device path
        eager = None if all(consts[K_entry.C_LAZY] == K_entry.WEIGHT_ONLY for _, consts in pk["plastic_consts"]) \
            else True
        learning = pk["learning"]
        if learning is not None:
            # each run its own control array: a background thread of an earlier run may still be loading its kernel
            learning = learning._replace(ctl=background.control())
            if eager is None:  # nor takes the entries: each array it unboxes costs compile time
                learning = learning._replace(entries=None)
        ev_step = pk["recorded"][0]
        pk["recorded"][2][0] = np.searchsorted(ev_step, self._step, side="left")
        done = 0
        log_open = False  # plastic crossbars keep their potentiation log open from chunk to chunk
        helper = contextlib.nullcontext()
        logged = sum(xb.shape[0] * xb.shape[1] for xb, consts in pk["plastic_consts"]
                     if consts[K_entry.C_LAZY] != K_entry.EAGER)
        if self.threads > 1 and self._learning and logged and logged * n_steps >= self.background_work:
            helper = background.BackgroundCatchUp(eager, learning, pk["synapses"])
            self._background_ctl = learning.ctl
        with tqdm(total=n_steps, unit="step", desc="neuroimc", disable=not progress, leave=False) as bar, helper:
            try:
                while done < n_steps:
                    chunk = min(self.chunk_steps, n_steps - done, self._steps_to_next_refresh())
                    # closed when the run ends or the devices are synced: then Python looks at the weights
                    close = done + chunk >= n_steps or self._unsynced + chunk >= self.sync_steps
                    ran = self._run_chunk(chunk, close, eager, learning)
                    log_open = self._learning and not close
                    if ran < chunk:  # spike buffer was full: make room and go on
                        self._grow_spike_buffer()
                    self._step += ran
                    done += ran
                    bar.update(ran)
                    if self._learning:  # the devices of weight-only crossbars now lag their weights
                        for xb, consts in pk["plastic_consts"]:
                            xb._stale = xb._stale or consts[K_entry.C_LAZY] == K_entry.WEIGHT_ONLY
                        self._unsynced += ran
                        if self._unsynced >= self.sync_steps:
                            for xb, _ in pk["plastic_consts"]:
                                if xb._stale:
                                    xb._sync_devices()
                            self._unsynced = 0
            finally:
                if log_open:  # interrupted (Ctrl-C between chunks): bring the weights up to date all the same
                    self._run_chunk(0, True, eager, learning)
        return self

    def _run_chunk(self, steps, close, eager, learning):
        """Run the compiled loop for ``steps`` steps and hand the recordings over; the steps it ran."""
        pk = self._packed
        st_buf = np.empty((steps, pk["st_node"].size))
        record = pk["record_head"] + (pk["st_var"], pk["st_node"], st_buf)
        pk["spk_count"][0] = 0
        if learning is not None and learning.entries is not None:
            for entry in learning.entries:  # the columns a depression can change, listed per step: each chunk anew
                entry[11][0] = -1
        ran = engine.run_chunk(self._step, steps, pk["neurons"], pk["poisson"], pk["recorded"], pk["synapses"],
                               record, pk["analog"], learning, eager, self._learning, close)
        self._hand_over(st_buf[:ran], ran)
        return ran

    def _steps_to_next_refresh(self):
        """Steps until the first crossbar whose devices age (drift, retention) must be re-read.

        Re-reads the due ones now; between re-reads the read-out is constant
        (the crossbar's ``refresh_interval`` keeps the error below 1e-3).
        """
        steps = np.inf
        for xb in self.crossbars:
            if not xb._time_dependent:
                continue
            if self.t + xb._age >= xb._next_refresh - 1e-3 * self.dt:
                xb._set_time(self.t)
                xb._next_refresh = xb._t_device + xb.refresh_interval()
            steps = min(steps, (xb._next_refresh - xb._t_device) / self.dt)
        return max(1, int(np.ceil(steps - 1e-9))) if np.isfinite(steps) else self.chunk_steps

    # ------------------------------------------------------------------ packing
    def _pack(self):
        """Pack every object into the contiguous arrays the kernel takes."""
        dt = self.dt
        pops = self.populations
        n_neurons = sum(p.n for p in pops)
        n_nodes = n_neurons + sum(s.n for s in self.sources)
        node0 = {}
        off = 0
        for g in pops + self.sources:
            node0[id(g)] = off
            off += g.n

        neurons = self._pack_neurons(pops, n_neurons, dt)
        poisson = self._pack_poisson(node0, dt)

        recs = [s for s in self.sources if isinstance(s, SpikeSource)]
        steps = np.concatenate([s.steps(dt) for s in recs] + [np.zeros(0, np.int64)])
        nodes = np.concatenate([s.indices + node0[id(s)] for s in recs] + [np.zeros(0, np.int64)])
        order = np.argsort(steps, kind="stable")
        recorded = (steps[order], nodes[order], np.zeros(1, np.int64))

        synapses = self._pack_synapses(node0, n_nodes)
        learning, plastic_consts = self._pack_learning(dt)

        watch = np.zeros(n_nodes, dtype=np.bool_)
        for m in self._spike_monitors:
            watch[node0[id(m.group)] : node0[id(m.group)] + m.n] = True
        st_var = np.array([_STATE_VARIABLES[m.variable] for m in self._state_monitors for _ in m.record], np.int64)
        st_node = np.concatenate(
            [m.record + node0[id(m.group)] for m in self._state_monitors] + [np.zeros(0, np.int64)]
        )
        capacity = max(4 * n_nodes, 1 << 16)
        spk_count = np.zeros(1, np.int64)
        return {
            "node0": node0,
            "neurons": neurons,
            "poisson": poisson,
            "recorded": recorded,
            "synapses": synapses,
            "record_head": (watch, np.empty(capacity, np.int64), np.empty(capacity, np.int64), spk_count),
            "spk_count": spk_count,
            "st_var": st_var,
            "st_node": st_node,
            # None when no crossbar has read noise or an ADC: the kernel is compiled without that code
            "analog": True if any(xb._sd.size or xb.adc is not None for xb in self.crossbars) else None,
            "learning": learning,
            "plastic_consts": plastic_consts,
        }

    @staticmethod
    def _pack_neurons(pops, n_neurons, dt):
        def cat(arrays, dtype=np.float64):
            return np.concatenate(list(arrays) + [np.zeros(0, dtype)]).astype(dtype)

        v = cat(p._v for p in pops)
        I = cat(p._I_syn for p in pops)
        last = cat((p._lastspike for p in pops), np.int64)
        theta = cat(p._theta for p in pops)
        props = [p.propagators(dt) for p in pops]
        off = 0
        for p in pops:  # state becomes views: the kernel updates what users see
            p._v, p._I_syn, p._lastspike = v[off : off + p.n], I[off : off + p.n], last[off : off + p.n]
            p._theta = theta[off : off + p.n]
            off += p.n
        return (
            v,
            I,
            last,
            cat(p.v_rest for p in pops),
            cat(p.v_reset for p in pops),
            cat(p.v_thresh for p in pops),
            cat(a[0] for a in props),
            cat(a[1] for a in props),
            cat(a[2] for a in props),
            cat((a[3] for a in props), np.int64),
            theta,
            cat(p.theta_plus for p in pops),
            cat(a[4] for a in props),
        )

    @staticmethod
    def _rate_classes(source, rate, dt):
        """Per-step spike probabilities of a Poisson source, split into octave classes for thinning.

        Class ``c`` holds the inputs with ``p`` in ``(p_max / 2**(c+1), p_max / 2**c]`` (the last
        class everything below), in input order; zero-rate inputs belong to none.  The engine skips
        geometrically through each class at its top probability and keeps a candidate with
        probability ``p / p_top`` (at least 1/2 except in the last class), so it draws fewer than two
        candidates per spike.  Returns (members, class sizes, log(1 - p_top) per class, acceptance per
        member, whether each class thins).
        """
        p = rate * dt
        if p.max() > 1.0:
            raise ValueError(
                f"rate of {source.name} must satisfy rate * dt <= 1 (at most one spike per step); "
                f"got rate {rate.max()} Hz with dt = {dt} s"
            )
        k = engine.RATE_CLASSES
        p_max = float(p.max())
        live = np.flatnonzero(p > 0)
        with np.errstate(divide="ignore"):
            octave = np.floor(-np.log2(p[live] / p_max)).astype(np.int64) if live.size else live
        cls = np.minimum(octave, k - 1)
        order = np.argsort(cls, kind="stable")
        members, cls = live[order], cls[order]
        sizes = np.bincount(cls, minlength=k)
        top = p_max / 2.0 ** np.arange(k)
        accept = p[members] / top[cls]
        with np.errstate(divide="ignore"):  # p = 1 gives log(0) = -inf, handled by the kernel
            log1m_p = np.log1p(-top)
        thin = np.array([bool((accept[cls == c] < 1.0).any()) for c in range(k)], np.bool_)
        return members, sizes, log1m_p, np.minimum(accept, 1.0), thin

    def _pack_poisson(self, node0, dt):
        srcs = [s for s in self.sources if isinstance(s, PoissonSource)]
        k = engine.RATE_CLASSES
        n_cls = k * len(srcs)
        rng = np.array([s._rng for s in srcs], dtype=np.uint64).reshape(len(srcs), 4)
        skip = np.concatenate([s._skip for s in srcs] + [np.zeros(0, np.int64)]).astype(np.int64)
        src_of = np.repeat(np.arange(len(srcs), dtype=np.int64), k)
        base = np.concatenate([[0], np.cumsum([s.n for s in srcs])]).astype(np.int64)
        node = np.zeros(int(base[-1]), np.int64)
        accept = np.zeros(int(base[-1]))
        lo, hi = np.zeros(n_cls, np.int64), np.zeros(n_cls, np.int64)
        log1m_p, thin = np.zeros(n_cls), np.zeros(n_cls, np.bool_)
        packed = (src_of, lo, hi, node, accept, log1m_p, thin, skip, rng)
        for g, s in enumerate(srcs):  # streams continue where they were, as views
            s._rng, s._skip = rng[g], skip[g * k : (g + 1) * k]
            update = self._rate_updater(g, s, node0[id(s)], base[g], packed)
            update(s._rate, keep_gaps=True)
            s._on_rate_change = update
        return packed

    def _rate_updater(self, g, source, first_node, base, packed):
        """New rates for packed source ``g``: rewrite its classes in place, redraw its pending gaps.

        Gaps between Bernoulli successes are memoryless, so drawing the next gap
        afresh under the new probabilities continues the exact process.
        """
        _, lo, hi, node, accept, log1m_p, thin, skip, _ = packed
        k = engine.RATE_CLASSES
        mine = slice(g * k, (g + 1) * k)

        def update(rate, keep_gaps=False):
            members, sizes, l1p, acc, th = self._rate_classes(source, rate, self.dt)
            node[base : base + members.size] = first_node + members
            accept[base : base + members.size] = acc
            ends = base + np.cumsum(sizes)
            lo[mine], hi[mine] = ends - sizes, ends
            log1m_p[mine], thin[mine] = l1p, th
            if not keep_gaps:
                skip[mine] = -1
        return update

    def _pack_synapses(self, node0, n_nodes):
        groups = self.populations + self.sources
        gid = {id(g): k for k, g in enumerate(groups)}
        node_group = np.zeros(n_nodes, np.int64)
        for g in groups:
            node_group[node0[id(g)] : node0[id(g)] + g.n] = gid[id(g)]
        outgoing = [[] for _ in groups]
        for x, xb in enumerate(self.crossbars):
            outgoing[gid[id(xb.pre)]].append(x)
        grp_xb_ptr = np.concatenate([[0], np.cumsum([len(o) for o in outgoing])]).astype(np.int64)
        grp_xb = np.array([x for o in outgoing for x in o], np.int64)
        xbs = self.crossbars

        def flat(attr, dtype=np.float64, absent_is_minus_one=False):
            """Concatenate one array per crossbar, rebind each to its view; return (buffer, offsets)."""
            arrays = [getattr(xb, attr).reshape(-1) for xb in xbs]
            sizes = [a.size for a in arrays]
            offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
            buf = np.concatenate(arrays + [np.zeros(0, dtype)]).astype(dtype)
            for x, xb in enumerate(xbs):
                view = buf[offsets[x] : offsets[x + 1]]
                setattr(xb, attr, view.reshape(getattr(xb, attr).shape))
            if absent_is_minus_one:
                offsets = np.where(np.array(sizes + [1]) == 0, -1, offsets)
            return buf, offsets[:-1].copy()

        w, w0 = flat("_w_eff", np.dtype(self.precision))
        sd, sd0 = flat("_sd", absent_is_minus_one=True)
        sd_ref, sdr0 = flat("_sd_ref", absent_is_minus_one=True)
        e_row, e0 = flat("_e_row")
        reads, _ = flat("_reads", np.int64)
        energy, _ = flat("_read_energy")
        conv, _ = flat("_conversions", np.int64)
        rng = np.array([xb._rng for xb in xbs], np.uint64).reshape(len(xbs), 5)
        for x, xb in enumerate(xbs):
            xb._rng = rng[x]
        lsb = np.zeros(len(xbs))
        half = np.zeros(len(xbs))
        tile_rows = np.ones(len(xbs), np.int64)
        n_tiles = np.zeros(len(xbs), np.int64)
        for x, xb in enumerate(xbs):
            rows = xb.tile[0] if xb.tile else (xb.device.array.tile_rows or xb.shape[0])
            tile_rows[x] = rows
            if xb.adc is not None:
                lsb[x] = xb.adc.lsb(xb.w_max)
                half[x] = 2.0 ** (xb.adc.bits - 1)
                n_tiles[x] = -(-xb.shape[0] // rows)
        touch0 = np.concatenate([[0], np.cumsum(n_tiles)]).astype(np.int64)
        # read noise: per tile (one without an ADC) the column variances of this step's reads, their
        # number and the summed variance of the reference devices (see engine._read_noise)
        nz0 = np.full(len(xbs), -1, np.int64)
        sdu = np.full(len(xbs), -1.0)
        nz_size = 0
        for x, xb in enumerate(xbs):
            if xb._sd.size == 0:
                continue
            nz0[x] = nz_size
            nz_size += max(n_tiles[x], 1) * (xb.shape[1] + 2)
            if _equal_read_noise(xb):  # one number for all devices: their variances need not be read
                sdu[x] = xb._sd.flat[0]
                sd0[x] = -1
        acc0 = np.concatenate([[0], np.cumsum(n_tiles * [xb.shape[1] for xb in xbs])])[:-1].astype(np.int64)
        acc = np.zeros(int(sum(n_tiles * np.array([xb.shape[1] for xb in xbs], np.int64))) if xbs else 0)
        grp_spikes = np.array([g._spikes[0] for g in groups], np.int64)
        for k, g in enumerate(groups):
            g._spikes = grp_spikes[k : k + 1]
        return engine.Synapses(
            node_group=node_group,
            grp_xb_ptr=grp_xb_ptr,
            grp_xb=grp_xb,
            xb_pre0=np.array([node0[id(xb.pre)] for xb in xbs], np.int64),
            xb_post0=np.array([node0[id(xb.post)] for xb in xbs], np.int64),
            xb_npost=np.array([xb.shape[1] for xb in xbs], np.int64),
            xb_w0=w0,
            w=w,
            xb_reads=reads,
            xb_sd0=sd0,
            sd=sd,
            xb_sdr0=sdr0,
            sd_ref=sd_ref,
            xb_nz0=nz0,
            nz=np.zeros(nz_size),
            nz_idx=np.zeros(max([xb.shape[1] for xb in xbs], default=0), np.uint64),
            xb_sdu=sdu,
            xb_e0=e0,
            e_row=e_row,
            xb_energy=energy,
            xb_lsb=lsb,
            xb_half=half,
            xb_tile=tile_rows,
            xb_acc0=acc0,
            acc=acc,
            xb_touch0=touch0,
            touched=np.zeros(int(touch0[-1]), np.bool_),
            xb_conv=conv,
            xb_rng=rng,
            normals=normal_table(),
            grp_spikes=grp_spikes,
        )

    def _pack_learning(self, dt):
        """The plastic crossbars for the kernel (``None`` when there are none), and where their outputs live."""
        groups = self.populations + self.sources
        gid = {id(g): k for k, g in enumerate(groups)}
        plastic = [(x, xb) for x, xb in enumerate(self.crossbars) if xb.plasticity is not None]
        if not plastic:  # None: the kernel is compiled without its learning code
            return None, []
        # traces, logs and write counts of all plastic crossbars in flat tables; each crossbar's are views
        tables = deferred.pack([xb for _, xb in plastic], [x for x, _ in plastic], dt)
        rules, consts = tables[:2]
        entries, consts_of = [], []
        xb_plastic = np.full(len(self.crossbars), -1, np.int64)
        incoming = [[] for _ in groups]
        for p, (x, xb) in enumerate(plastic):
            entries.append(plastic_entry(xb, x, dt, rules[p], consts[p]))
            xb_plastic[x] = p
            consts_of.append((xb, consts[p]))
            incoming[gid[id(xb.post)]].append(x)
        # a tuple, not a numba typed List: taking an entry out of a typed List costs a reference count
        # per array (~0.4 us a spike); a homogeneous tuple is indexed for free (one compiled kernel per
        # number of plastic crossbars)
        ptr = np.concatenate([[0], np.cumsum([len(o) for o in incoming])]).astype(np.int64)
        pin = np.array([x for o in incoming for x in o], np.int64)
        # None when every plastic crossbar takes the ideal path: the kernel then leaves the device path out
        devices = None if all(e[10][K_entry.C_SIMPLE] for e in entries) else True
        learning = engine.Learning(entries=tuple(entries), xb_plastic=xb_plastic, grp_pin_ptr=ptr, grp_pin=pin,
                                   devices=devices, tables=tables, ctl=None)  # each run gets its own
        return learning, consts_of

    def _hand_over(self, st_buf, ran):
        """Give each monitor its part of what the kernel recorded in the last chunk."""
        pk = self._packed
        steps = np.arange(self._step, self._step + ran, dtype=np.int64)
        col = 0
        for m in self._state_monitors:
            m._append(st_buf[:, col : col + m.record.size].copy(), steps)
            col += m.record.size
        c = int(pk["spk_count"][0])
        nodes, when = pk["record_head"][1][:c], pk["record_head"][2][:c]
        for m in self._spike_monitors:
            lo = pk["node0"][id(m.group)]
            mine = (nodes >= lo) & (nodes < lo + m.n)
            m._append(nodes[mine] - lo, when[mine].copy())

    def _grow_spike_buffer(self):
        pk = self._packed
        watch, nodes, _, count = pk["record_head"]
        cap = 2 * nodes.size
        pk["record_head"] = (watch, np.empty(cap, np.int64), np.empty(cap, np.int64), count)

    # ------------------------------------------------------------------ persistence
    def save(self, path):
        """Save the whole state (atomically) so that :func:`neuroimc.load` resumes it exactly.

        See :mod:`neuroimc.state` for the format.  Monitors are not saved.
        """
        from .state import save

        return save(self, path)

    # ------------------------------------------------------------------ reporting
    @property
    def synaptic_events(self):
        """Synaptic events so far: row reads times row length, summed over crossbars."""
        return int(sum(xb.row_reads * xb.shape[1] for xb in self.crossbars))

    @property
    def background_catch_ups(self):
        """What the background thread (``threads=2``) did in the last run that started it: the ``rows`` it caught
        up, the log ``entries`` it applied and its ``sweeps`` over the rows (all 0 until a run starts it).  The
        network's own thread applied the other entries."""
        ctl = self._background_ctl
        return {"rows": int(ctl[background.CTL_ROWS]), "entries": int(ctl[background.CTL_ENTRIES]),
                "sweeps": int(ctl[background.CTL_SWEEPS])}

    def __repr__(self):
        return (
            f"Network(dt={self.dt / ms:g} ms, t={self.t:g} s, {len(self.populations)} populations, "
            f"{len(self.sources)} sources, {len(self.crossbars)} crossbars)"
        )
