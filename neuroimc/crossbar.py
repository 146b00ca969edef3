"""Memristive crossbar: the synapses of one projection.

Row ``i`` of a crossbar is the presynaptic neuron ``i``; column ``j`` feeds the
postsynaptic neuron ``j``.  A presynaptic spike is a read pulse of amplitude
``V_read`` on row ``i``: by Ohm's law each device passes ``V_read * G`` and by
Kirchhoff's current law each column sums them.  The column periphery (a
current integrator, optionally an ADC) scales that charge by ``gain`` into the
jump of the postsynaptic current ``I_syn[j]``.  Two mappings of a signed
weight onto devices:

* ``"differential"`` — a pair per synapse:
  ``I_syn[j] += V_read * (G+[i, j] - G-[i, j]) * gain``;
* ``"reference"`` — one device per synapse and one reference device per row
  at mid-window, whose current the periphery subtracts:
  ``I_syn[j] += V_read * (G[i, j] - G_ref[i]) * gain``.

A crossbar is one *chip instance*: its devices' parameters (window, pulse
nonlinearity, endurance, drift exponent, stuck-at faults) are sampled once from
its seed — given explicitly, or derived from the network's seed when it is
connected.  Every non-ideality of the card then applies: programming pulses
(nonlinear, noisy, quantised, wearing), read noise on every read, drift and
retention with the time since each device was programmed.
"""
import numpy as np

from . import _checks
from .devices import load_device, nl_to_a
from .kernels import device as K
from .kernels.crossbar import program_verify, pulse_devices, readout_all, refresh_readout, write_all_exact
from .kernels import deferred as K_deferred
from .kernels import entry as K_entry
from .kernels import plasticity as K_plastic
from .kernels.random import new_stream, stream_key
from .periphery import ADC

_MODELS = {"exact": K.EXACT, "linear": K.LINEAR, "neurosim": K.NEUROSIM, "soft_bounds": K.SOFT_BOUNDS}
_NOISE = {"none": K.NOISE_NONE, "gaussian": K.NOISE_GAUSSIAN, "additive": K.NOISE_ADDITIVE,
          "pcm_1f": K.NOISE_PCM_1F}
_FAIL = {"stuck_low": 0, "stuck_high": 1, "window_closing": 2}
_INT64_MAX = np.iinfo(np.int64).max


class Crossbar:
    """A crossbar array of memristive devices.

    Parameters
    ----------
    g_plus : array_like, shape (n_pre, n_post)
        Target conductances (siemens) of the positive devices (``"differential"``)
        or of the single devices (``"reference"``), within ``[g_min, g_max]``.
    g_minus : array_like, shape (n_pre, n_post), optional
        Target conductances of the negative devices (``"differential"`` only).
    device : str, path or DeviceModel
        Device technology (a card name in ``models/devices/``).
    v_read : float, optional
        Read-pulse amplitude, volts (default: the card's).
    gain : float
        Dimensionless current gain of the column periphery.
    mapping : {"differential", "reference"}
    seed : int, optional
        Seed of this chip instance (device sampling and noise).  Default: drawn
        from the network's seed when the crossbar is connected.
    adc : ADC, optional
        Digitise column outputs (per tile, per step).
    tile : (int, int), optional
        Physical tile size (rows, columns); default from the card (0 = one tile).
    deploy : {"exact", "verify"}
        How the target conductances are written when the chip is fabricated:
        ``"exact"`` — one ideal write per device (programming noise, levels and
        faults still apply); ``"verify"`` — program-and-verify with the card's
        pulses from the RESET state (tolerance 1 % of the window), as on a chip.
    r_wire : float, optional
        Wire resistance per cell segment, ohms, for rows and columns (default
        from the card).  Reads then see IR drop: each tile's effective
        conductance (``neuroimc.wires``; G+ and G- are separate arrays, a row's
        reference device an extra column of its tile).
    ir_drop : {"fast", "exact"}
        ``"fast"``: the O(rows x cols) ladder model used in runs; ``"exact"``:
        the nodal solve of each tile (validation, small arrays).

    Most users build crossbars with :meth:`from_weights`.
    """

    def __init__(self, g_plus, g_minus=None, device="ideal", v_read=None, gain=1.0, *,
                 mapping="differential", seed=None, adc=None, tile=None, deploy="exact", r_wire=None,
                 ir_drop="fast"):
        self.device = dev = load_device(device)
        self.mapping = _checks.choice("mapping", mapping, {"differential", "reference"})
        self.deploy = _checks.choice("deploy", deploy, {"exact", "verify"})
        self.r_wire = dev.array.r_wire if r_wire is None else _checks.non_negative("r_wire", r_wire)
        self.ir_drop = _checks.choice("ir_drop", ir_drop, {"fast", "exact"})
        self.deployment = None  # ProgramReport of a "verify" deployment
        g_plus, g_minus = self._checked_targets(g_plus, g_minus, dev, self.mapping)
        self.v_read = dev.v_read if v_read is None else _checks.real("v_read", v_read, low=1e-6, high=100.0)
        self.gain = _checks.positive("gain", gain)
        if not np.isfinite(self.v_read * self.gain * dev.g_range):
            raise ValueError(f"gain = {gain} gives a non-finite current jump per device "
                             f"(V_read * gain * (g_max - g_min)); use a smaller gain")
        if adc is not None and not isinstance(adc, ADC):
            raise TypeError(f"adc must be an ADC or None, got {type(adc).__name__}")
        self.adc = adc
        self.tile = self._tile(tile, g_plus.shape)
        n_pre, n_post = g_plus.shape
        self._shape = (n_pre, n_post)
        n = n_pre * n_post
        self._n_devices = 2 * n if self.mapping == "differential" else n + n_pre
        target = np.empty(self._n_devices)
        target[:n] = g_plus.ravel()
        target[n:] = g_minus.ravel() if self.mapping == "differential" else 0.5 * (dev.g_min + dev.g_max)
        self._target = target
        # read-out caches (amperes, joules) the engine reads; the network may rebind them to views
        self._w_eff = np.zeros(self._shape)
        noisy = dev.read.noise_model != "none" and dev.read.noise_sigma > 0
        self._sd = np.zeros(n if noisy else 0)
        self._sd_ref = np.zeros(n_pre if noisy and self.mapping == "reference" else 0)
        self._e_row = np.zeros(n_pre)
        self._reads = np.zeros(1, np.int64)
        self._read_energy = np.zeros(1)
        self._conversions = np.zeros(1, np.int64)
        # the chip's random stream (read noise, Python-side programming), then the key of learning's write noise
        self._rng = np.zeros(5, np.uint64)
        self._age = 0.0  # device time minus network time: how long the chip rested before t = 0
        self._t_device = 0.0
        self._next_refresh = 0.0
        self._ir_factor = np.ones(1)
        self.pre = None
        self.post = None
        self.plasticity = None
        self.seed = None
        self._writes = None  # write counts of weight-only learning not yet in the device state
        self._stale = False  # the devices lag the weights learned weight-only
        self._state = None
        if seed is not None:
            self._fabricate(np.random.SeedSequence(_checks.integer("seed", seed, low=0)))
        elif dev.is_ideal:
            self._fabricate(np.random.SeedSequence(0))  # nothing random: deterministic

    @classmethod
    def from_weights(cls, W, device="ideal", w_max=None, v_read=None, *, mapping="differential", seed=None,
                     adc=None, tile=None, deploy="exact", r_wire=None, ir_drop="fast"):
        """Map a signed current-jump matrix onto device conductances.

        ``W[i, j]`` (amperes) is the jump of ``I_syn[j]`` caused by a spike on
        row ``i``.  ``w_max`` is the jump of one fully programmed device, by
        default ``max|W|``; it is the unit in which learning rules see weights.

        * differential: positive weights on ``G+``, negative on ``G-``, the
          partner at ``g_min``; ``gain = w_max / (V_read (g_max - g_min))``.
        * reference: ``G = G_ref + W/w_max * (g_max - g_min)/2`` around the
          mid-window reference; ``gain = 2 w_max / (V_read (g_max - g_min))``.

        With ideal devices ``weights()`` returns ``W`` to float rounding; with a
        real card each device is written as ``deploy`` says (see :meth:`program`
        for program-and-verify at any later time).
        """
        dev = load_device(device)
        W = _checks.real_array("W", W, ndim=2)
        if 0 in W.shape:
            raise ValueError(f"W must have at least one row and one column, got shape {W.shape}")
        largest = float(np.abs(W).max())
        if w_max is None:
            if largest == 0.0:
                raise ValueError("w_max cannot be inferred from an all-zero W; pass w_max (amperes) explicitly")
            w_max = largest
        w_max = _checks.positive("w_max", w_max)
        if largest > w_max * (1 + 1e-12):
            raise ValueError(f"max|W| = {largest} A exceeds w_max = {w_max} A; raise w_max or scale W")
        v_read = dev.v_read if v_read is None else _checks.real("v_read", v_read, low=1e-6, high=100.0)
        _checks.choice("mapping", mapping, {"differential", "reference"})
        g_plus, g_minus = cls._targets_for(W / w_max, dev, mapping)
        span = 1.0 if mapping == "differential" else 0.5
        gain = w_max / (v_read * dev.g_range * span)
        if not np.isfinite(gain):
            raise ValueError(f"w_max = {w_max} A is too large for the {dev.name!r} device window "
                             f"(the periphery gain would be {gain}); scale W down")
        return cls(g_plus, g_minus, device=dev, v_read=v_read, gain=gain, mapping=mapping, seed=seed,
                   adc=adc, tile=tile, deploy=deploy, r_wire=r_wire, ir_drop=ir_drop)

    @staticmethod
    def _targets_for(frac, dev, mapping):
        frac = np.clip(frac, -1.0, 1.0)
        if mapping == "differential":
            return (dev.g_min + np.maximum(frac, 0.0) * dev.g_range,
                    dev.g_min + np.maximum(-frac, 0.0) * dev.g_range)
        return 0.5 * (dev.g_min + dev.g_max) + 0.5 * frac * dev.g_range, None

    @staticmethod
    def _checked_targets(g_plus, g_minus, dev, mapping, shape=None):
        g_plus = _checks.real_array("g_plus", g_plus, ndim=2, shape=shape)
        if 0 in g_plus.shape:
            raise ValueError(f"g_plus must have at least one row and one column, got shape {g_plus.shape}")
        if mapping == "differential":
            if g_minus is None:
                raise ValueError("g_minus is required for the differential mapping")
            g_minus = _checks.real_array("g_minus", g_minus, shape=g_plus.shape)
        elif g_minus is not None:
            raise ValueError("g_minus must be None for the reference mapping (the row reference is fixed)")
        for name, g in (("g_plus", g_plus), ("g_minus", g_minus)):
            if g is not None and (g.min() < dev.g_min or g.max() > dev.g_max):
                raise ValueError(
                    f"{name} must lie within the {dev.name!r} device window [{dev.g_min}, {dev.g_max}] S, "
                    f"found values in [{g.min()}, {g.max()}]"
                )
        return g_plus, g_minus

    @staticmethod
    def _tile(tile, shape):
        if tile is None:
            return None
        if not (isinstance(tile, tuple) and len(tile) == 2):
            raise TypeError(f"tile must be a (rows, cols) tuple, got {tile!r}")
        rows = _checks.integer("tile rows", tile[0], low=1)
        cols = _checks.integer("tile cols", tile[1], low=1)
        return rows, cols

    # ------------------------------------------------------------------ fabrication
    @property
    def fabricated(self):
        """Whether this chip instance's devices have been sampled and programmed."""
        return self._state is not None

    def _fabricate(self, seed_sequence):
        """Sample every device's parameters for this chip instance, then deploy the targets."""
        dev, n_dev = self.device, self._n_devices
        self.seed = seed_sequence.entropy
        sampling, kernel = seed_sequence.spawn(2)
        rng = np.random.default_rng(sampling)
        var = dev.variability

        def spread(nominal, rel_sigma):
            if rel_sigma == 0.0:
                return np.array([nominal], np.float64)
            return nominal * (1.0 + rel_sigma * rng.standard_normal(n_dev))

        g_lo = np.maximum(spread(dev.g_min, var.g_min_sigma), 0.0)
        g_hi = spread(dev.g_max, var.g_max_sigma)
        if g_lo.size != g_hi.size:
            g_lo, g_hi = np.broadcast_arrays(g_lo, g_hi)
        g_hi = np.maximum(g_hi, g_lo + 0.01 * dev.g_range)  # every window stays >= 1% of nominal
        up = self._pulse_branch(g_lo, g_hi, dev.pulse.nl_ltp, dev.pulse.n_pulses_ltp, var.nl_sigma, rng, True)
        dn = self._pulse_branch(g_lo, g_hi, dev.pulse.nl_ltd, dev.pulse.n_pulses_ltd, var.nl_sigma, rng, False)
        end = dev.endurance
        if end.cycles_mean == 0.0:
            limit = np.array([_INT64_MAX], np.int64)
        else:
            s = end.cycles_log_sigma
            cycles = np.exp(np.log(end.cycles_mean) - 0.5 * s * s + s * rng.standard_normal(n_dev)) if s else \
                np.array([end.cycles_mean])
            limit = np.clip(np.floor(cycles), 1, 2.0**62).astype(np.int64)
        if dev.drift.nu_std > 0:
            nu = np.maximum(rng.normal(dev.drift.nu_mean, dev.drift.nu_std, n_dev), 0.0)
        else:
            nu = np.array([dev.drift.nu_mean])
        # contiguous, writable, fixed dtypes: one compiled specialisation serves every card
        self._params = tuple(np.ascontiguousarray(a, dtype=np.int64 if a is limit else np.float64).copy()
                             for a in (g_lo, g_hi) + up + dn + (limit, nu))

        status = np.zeros(n_dev, np.int8)
        fl = dev.faults
        if fl.stuck_low_rate or fl.stuck_high_rate:
            u = rng.random(n_dev)
            status[u < fl.stuck_low_rate] = K.STUCK_LOW
            status[(u >= fl.stuck_low_rate) & (u < fl.stuck_low_rate + fl.stuck_high_rate)] = K.STUCK_HIGH
        g = np.broadcast_to(g_lo, (n_dev,)).copy()
        g[status == K.STUCK_HIGH] = np.broadcast_to(g_hi, (n_dev,))[status == K.STUCK_HIGH]
        timed = (dev.drift.nu_mean > 0 or dev.drift.nu_std > 0 or dev.retention.tau > 0
                 or dev.read.noise_model == "pcm_1f")
        offset = np.zeros(n_dev if dev.write.program_sigma > 0 or dev.write.deploy_sigma > 0 else 1)
        t_prog = np.zeros(n_dev if timed else 1)
        self._state = (g, offset, t_prog, np.zeros(n_dev, np.int64), status)
        self._scalars = self._scalar_array()
        self._rng = np.append(new_stream(kernel), stream_key(kernel))
        self._deploy(rng)

    def _pulse_branch(self, g_lo, g_hi, nl, n_pulses, nl_sigma, rng, up):
        """Per-device (sat, k, lin) of one pulse direction: ``dG = (sat - G) k + lin`` (mirrored for LTD)."""
        model = self.device.pulse.model
        span = g_hi - g_lo
        zero = np.zeros(1)
        if model in ("exact",):
            return zero, zero, zero
        if model == "linear" or (model == "neurosim" and nl == 0.0 and nl_sigma == 0.0):
            return zero, zero, span / n_pulses
        if model == "soft_bounds":
            return (g_hi if up else g_lo), np.array([1.0 / n_pulses]), zero
        labels = np.clip(nl + nl_sigma * rng.standard_normal(self._n_devices), 0.0, 9.0) if nl_sigma else \
            np.array([nl])
        a = np.array([nl_to_a(x) for x in np.unique(labels)])  # few distinct labels unless spread
        A = np.interp(labels, np.unique(labels), a) * n_pulses if labels.size > 1 else a * n_pulses
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            linear = ~np.isfinite(A) | (A > 1e6)
            B = span / -np.expm1(-n_pulses / A)
            k = np.where(linear, 0.0, -np.expm1(-1.0 / A))
            lin = np.where(linear, span / n_pulses, 0.0)
            sat = np.where(linear, 0.0, (g_lo + B) if up else (g_hi - B))
        return np.atleast_1d(sat), np.atleast_1d(k), np.atleast_1d(lin)

    def _scalar_array(self):
        d = self.device
        s = np.zeros(K.N_SCALARS)
        s[K.S_MODEL] = _MODELS[d.pulse.model]
        s[K.S_LEVELS] = d.conductance.n_levels
        s[K.S_C2C] = d.write.c2c_sigma
        s[K.S_PROG] = d.write.program_sigma
        s[K.S_SET_ONLY] = d.pulse.directional == "set_only"
        s[K.S_FAIL_MODE] = _FAIL[d.endurance.failure_mode]
        s[K.S_NOISE_MODEL] = _NOISE[d.read.noise_model]
        s[K.S_NOISE_SIGMA] = d.read.noise_sigma
        s[K.S_T_READ] = d.read.t_read
        s[K.S_T0] = d.drift.t0
        s[K.S_RET_TAU] = d.retention.tau
        s[K.S_RET_BETA] = d.retention.beta
        s[K.S_G_MAX] = d.g_max
        s[K.S_G_RANGE] = d.g_range
        return s

    def _deploy(self, rng):
        """Write the targets onto the fresh (RESET) devices: ideally once each, or by program-and-verify."""
        if self.deploy == "verify" and self.device.pulse.model != "exact":
            tol = 0.01 * self.device.g_range
            pulses, converged = self._run_program(np.arange(self._n_devices), self._target, tol,
                                                  self._max_pulses(None))
            self._refresh()
            self.deployment = self._report(pulses, converged, self._target_weights())
            return
        g, count = self._state[0], self._state[3]
        if self._simple():  # one exact, counted write each: numpy does it without compiling the device kernels
            count += self._target != g
            np.clip(self._target, self._params[0][0], self._params[1][0], out=g)  # unwritten devices hold theirs
        else:
            todo = np.flatnonzero((self._target != g) & (self._state[4] == K.OK))
            write_all_exact(todo, self._target[todo], self._t_device, self._state, self._params, self._scalars,
                            self._rng)
            sigma = self.device.write.deploy_sigma
            if sigma > 0:  # what the offline program-and-verify leaves on every written device
                self._state[1][todo] += sigma * self.device.g_range * rng.standard_normal(todo.size)
        self._refresh()

    def _target_weights(self):
        n = self._shape[0] * self._shape[1]
        t = self._target
        second = t[n:].reshape(self._shape) if self.mapping == "differential" else t[n:][:, None]
        return self.v_read * self.gain * (t[:n].reshape(self._shape) - second)

    def _report(self, pulses, converged, W):
        err = (self.weights() - W) / self.w_max
        return ProgramReport(pulses=int(pulses.sum()), max_pulses_per_device=int(pulses.max(initial=0)),
                             energy=float(pulses.sum() * self.device.write.energy_per_pulse),
                             converged_fraction=float(converged.mean()) if converged.size else 1.0,
                             rms_weight_error=float(np.sqrt(np.mean(err**2))), pulses_per_device=pulses)

    def _require_fabricated(self, what):
        if self._state is None:
            raise RuntimeError(
                f"{what}: the devices of this {self.device.name!r} crossbar are sampled when it is connected "
                "to a network (from the network's seed); connect it first or pass seed= to the crossbar"
            )

    # ------------------------------------------------------------------ programming
    def _run_program(self, devices, targets, tol, max_pulses):
        pulses = np.zeros(devices.size, np.int64)
        converged = np.zeros(devices.size, np.bool_)
        program_verify(devices.astype(np.int64), targets.astype(np.float64), float(tol), int(max_pulses),
                       self._t_device, self._state, self._params, self._scalars, self._rng, pulses, converged)
        return pulses, converged

    def apply_pulses(self, devices, up, n=1):
        """Apply ``n`` SET (``up=True``) or RESET pulses to each listed device.

        Devices are numbered ``i * n_post + j`` for the positive (or single)
        device of synapse ``(i, j)``, ``n_pre * n_post + i * n_post + j`` for its
        negative partner, ``n_pre * n_post + i`` for the reference of row ``i``.
        """
        self._require_fabricated("apply_pulses")
        devices = np.asarray(devices)
        if devices.ndim != 1 or (devices.size and not np.issubdtype(devices.dtype, np.integer)):
            raise TypeError(f"devices must be a 1-d array of device indices, got {devices!r}")
        if devices.size and (devices.min() < 0 or devices.max() >= self._n_devices):
            raise ValueError(f"devices must lie in [0, {self._n_devices}), got {devices.min()}..{devices.max()}")
        n = _checks.integer("n", n, low=0)
        for _ in range(n):
            pulse_devices(devices.astype(np.int64), bool(up), self._t_device, self._state, self._params,
                          self._scalars, self._rng)
        self._refresh()

    def _max_pulses(self, max_pulses):
        if max_pulses is None:  # sweep the window twice, plus a few pulses to recover from overshoots
            return 2 * max(self.device.pulse.n_pulses_ltp, self.device.pulse.n_pulses_ltd) + 8
        return _checks.integer("max_pulses", max_pulses, low=1)

    def program(self, W, tolerance=0.01, max_pulses=None):
        """Program-and-verify the weights ``W`` (amperes) onto the devices.

        Each device is read (with read noise) and pulsed towards its target
        conductance until it reads within ``tolerance * (g_max - g_min)`` of it
        or ``max_pulses`` pulses were spent (default: twice the pulses that sweep
        the window, plus 8).  Every pulse wears the device and
        costs the card's write energy.  Returns a :class:`ProgramReport`.
        """
        self._require_fabricated("program")
        W = _checks.real_array("W", W, shape=self._shape)
        tol = _checks.real("tolerance", tolerance, low=0.0, low_open=True)
        max_pulses = self._max_pulses(max_pulses)
        if np.abs(W).max() > self.w_max * (1 + 1e-12):
            raise ValueError(f"max|W| = {np.abs(W).max()} A exceeds this crossbar's w_max = {self.w_max} A")
        gp, gm = self._targets_for(W / self.w_max, self.device, self.mapping)
        n = gp.size
        self._target[:n] = gp.ravel()
        if gm is not None:
            self._target[n:] = gm.ravel()
        devices = np.arange(self._n_devices)
        pulses, converged = self._run_program(devices, self._target, tol * self.device.g_range, max_pulses)
        self._refresh()
        return self._report(pulses, converged, W)

    def refresh_pairs(self, threshold=0.9, tolerance=0.01, max_pulses=None):
        """Refresh differential pairs one of whose devices is near saturation.

        Unidirectional devices (PCM: SET is gradual, RESET abrupt) only ever
        climb; a pair whose device has climbed past ``threshold`` of its window
        can no longer move its weight in one direction.  Such a pair is read,
        both devices are RESET, and the weight it held is re-programmed onto one
        device with program-and-verify.  Every pulse counts against endurance
        and costs write energy.  Returns the number of pairs refreshed.
        """
        self._require_fabricated("refresh_pairs")
        if self.mapping != "differential":
            raise ValueError("refresh_pairs needs the differential mapping")
        thr = _checks.real("threshold", threshold, low=0.0, high=1.0, low_open=True)
        n = self._shape[0] * self._shape[1]
        g = self._state[0]
        lo = np.broadcast_to(self._params[0], (self._n_devices,))
        hi = np.broadcast_to(self._params[1], (self._n_devices,))
        level = (g - lo) / (hi - lo)
        ok = self._state[4] == K.OK
        pairs = np.flatnonzero((np.maximum(level[:n], level[n:]) >= thr) & ok[:n] & ok[n:])
        if pairs.size == 0:
            return 0
        w = (g[pairs] - g[n + pairs]) - (lo[pairs] - lo[n + pairs])
        max_pulses = self._max_pulses(max_pulses)
        devices = np.concatenate([pairs, n + pairs]).astype(np.int64)
        pulse_devices(devices, False, self._t_device, self._state, self._params, self._scalars, self._rng)
        targets = np.concatenate([lo[pairs] + np.maximum(w, 0.0), lo[n + pairs] + np.maximum(-w, 0.0)])
        self._run_program(devices, targets, tolerance * self.device.g_range, max_pulses)
        self._refresh()
        return int(pairs.size)

    @property
    def _state(self):
        """Device state ``(g, offset, t_prog, count, status)`` (see :mod:`kernels.device`), up to date: weights
        learned weight-only (:mod:`kernels.deferred`) are written to the devices when it is next looked at."""
        if self._stale:
            self._sync_devices()
        return self._device_state

    @_state.setter
    def _state(self, value):
        self._device_state = value
        self._stale = False
        if self._writes is not None:
            self._writes[...] = 0

    def _learns_weight_only(self):
        """Whether the kernels may learn on the weights alone (:mod:`kernels.deferred`): devices as
        :meth:`_simple` requires, and every pair canonical, as an ideal write leaves it (one device of a
        differential pair at ``g_min``; the negative one always there where weights cannot go negative)."""
        if self._stale:  # only weight-only learning wrote since the last check: still canonical
            return True
        if not self._simple():
            return False
        if self.mapping == "reference":
            return True
        n = self._shape[0] * self._shape[1]
        g, lo = self._device_state[0], self._params[0][0]
        if self._writes.shape[0] == 1:
            return bool(np.all(g[n:] == lo))
        return bool(np.all(np.minimum(g[:n], g[n:]) == lo))

    def _defers_potentiation(self):
        """Whether the kernels may log this crossbar's potentiation and replay it row by row on the devices
        (:mod:`kernels.deferred`): not for ideal devices (they learn weight-only or on the scalar-only
        path), nor for ageing ones, whose read-out is refreshed between chunks while the log is open."""
        return not self._simple() and not self._time_dependent

    def _sync_devices(self):
        """Write the weights learned weight-only to the devices: conductances of the pairs that changed,
        and their write counts."""
        self._stale = False
        g, count = self._device_state[0], self._device_state[3]
        writes = self._writes
        n = writes.shape[1]
        changed = np.flatnonzero(writes.any(axis=0))
        if changed.size:
            lo, hi = self._params[0][0], self._params[1][0]
            d = self._w_eff.reshape(-1)[changed].astype(np.float64) / (self.v_read * self.gain)  # G+ - G-
            if self.mapping == "differential":
                g[changed] = np.minimum(lo + np.maximum(d, 0.0), hi)
                g[n + changed] = np.minimum(lo + np.maximum(-d, 0.0), hi)
            else:
                g[changed] = np.clip(g[n + changed // self._shape[1]] + d, lo, hi)
        count[:n] += writes[0]
        if writes.shape[0] == 2:
            count[n:] += writes[1]
        writes[...] = 0

    def _simple(self):
        """Whether the devices are ideal in every respect the kernels check: an ideal card, one shared window,
        no offsets, ageing, faults, read noise or IR drop.

        Writes are then exact (the target, one counted write) and reads return the conductance itself:
        deployment and read-out run in numpy, and learning goes weight-only (:meth:`_learns_weight_only`)
        or, for pairs that are not canonical, takes the kernel's scalar-only path.
        """
        state = self._device_state  # what is checked here, weight-only learning does not change
        return (self.device.is_ideal and self._params[0].size == 1 and state[1].size == 1 and state[2].size == 1
                and self._ir_factor.size == 1 and not state[4].any() and self._sd.size == 0)

    # ------------------------------------------------------------------ read-out
    def _refresh(self):
        """Recompute the read-out caches (mean current jumps, noise, row energy) at the device time."""
        if self._state is None:
            return
        n_pre, n_post = self._shape
        dev = self.device
        if self._simple():  # what refresh_readout computes for ideal devices (g >= g_min >= 0), without compiling it
            n = n_pre * n_post
            g = self._state[0]
            gp = g[:n].reshape(self._shape)
            gm = g[n:].reshape(self._shape) if self.mapping == "differential" else g[n:, None]
            w = self._w_eff
            if w.dtype == np.float64:  # in place: no temporaries the size of the array
                np.subtract(gp, gm, out=w)
                w *= self.v_read * self.gain
            else:  # the difference in double precision, rounded once
                w[...] = self.v_read * self.gain * (gp - gm)
            row_g = gp.sum(axis=1) + (gm.sum(axis=1) if self.mapping == "differential" else g[n:])
            self._e_row[...] = self.v_read**2 * dev.read.t_read * row_g
            return
        if self.r_wire > 0:
            factor = self._ir_attenuation()
            if self._ir_factor.size == factor.size:
                self._ir_factor[...] = factor  # in place: the engine may hold this array
            else:
                self._ir_factor = factor
        refresh_readout(n_pre, n_post, self.mapping == "reference", self._t_device, self._state, self._params,
                        self._scalars, self._ir_factor, self.v_read * self.gain, self.v_read**2 * dev.read.t_read,
                        self._w_eff.reshape(-1), self._sd, self._sd_ref, self._e_row)

    def _ir_attenuation(self):
        """Per-device factor ``G_eff / G`` of IR drop, tile by tile, at the current read-out."""
        from . import wires

        solve = wires.effective_conductance if self.ir_drop == "fast" else wires.effective_conductance_exact
        first, second = self.read_conductances()
        n_pre, n_post = self._shape
        rows, cols = self.tile or (self.device.array.tile_rows or n_pre, self.device.array.tile_cols or n_post)
        factor = np.ones(self._n_devices)
        f1 = factor[: n_pre * n_post].reshape(self._shape)
        f2 = factor[n_pre * n_post :]
        for r0 in range(0, n_pre, rows):
            for c0 in range(0, n_post, cols):
                blk = (slice(r0, r0 + rows), slice(c0, c0 + cols))
                if self.mapping == "differential":
                    for g, f in ((first, f1), (second, f2.reshape(self._shape))):
                        G = np.maximum(g[blk], 1e-30)
                        f[blk] = solve(G, self.r_wire, self.r_wire) / G
                else:  # the row's reference device sits in an extra column of every column tile
                    G = np.maximum(np.column_stack([first[blk], second[blk[0]]]), 1e-30)
                    a = solve(G, self.r_wire, self.r_wire) / G
                    f1[blk] = a[:, :-1]
                    f2[blk[0]] = a[:, -1]  # last column tile's value; tiles share the row reference
        return factor

    def _set_time(self, t_network):
        """Advance the device clock to network time ``t_network`` (refreshing what ages)."""
        self._t_device = t_network + self._age
        if self._time_dependent:
            self._refresh()

    @property
    def _time_dependent(self):
        return self._device_state is not None and self._device_state[2].size > 1

    def refresh_interval(self, tolerance=1e-3):
        """Device time after which the mean read-out has changed by ``tolerance`` (relative).

        Drift and retention change conductances slowly (in log time); the
        engine re-reads them on this schedule instead of every step.  ``inf`` if
        nothing ages.
        """
        if not self._time_dependent:
            return np.inf
        dev = self.device
        t_prog = self._state[2]
        age = max(self._t_device - float(t_prog.max()), dev.read.t_read * 4)
        rate = 0.0
        nu = self._params[9]
        if nu.max() > 0:
            age = max(age, dev.drift.t0)
            rate = max(rate, float(nu.max()))
        if dev.retention.tau > 0:
            rate = max(rate, dev.retention.beta * (age / dev.retention.tau) ** dev.retention.beta)
        if dev.read.noise_model == "pcm_1f":
            # noise std ~ sqrt(ln(age / 2 t_read)): allow 10x the tolerance on a spread
            rate = max(rate, 0.05 / max(np.log(age / (2 * dev.read.t_read)), 1.0))
        return max(tolerance * age / rate, 1e-3) if rate > 0 else np.inf

    def wait(self, duration):
        """Let the chip rest for ``duration`` seconds (devices drift and relax; no spikes)."""
        self._require_fabricated("wait")
        self._age += _checks.non_negative("duration", duration)
        self._t_device += duration
        self._refresh()

    def weights(self):
        """Mean effective current jump per spike (amperes, ``(n_pre, n_post)``) at the device's current age.

        Includes programming noise, quantisation, faults, wear, drift,
        retention and IR drop; excludes the read noise of individual reads.
        """
        self._require_fabricated("weights")
        return self._w_eff.astype(np.float64)

    def conductances(self):
        """Programmed conductances (siemens): ``(G+, G-)`` or ``(G, G_ref)`` for the reference mapping."""
        self._require_fabricated("conductances")
        g = self._state[0] + (self._state[1] if self._state[1].size > 1 else 0.0)
        g.flags.writeable = False  # a copy: writing to it would change nothing, so forbid it
        n = self._shape[0] * self._shape[1]
        return g[:n].reshape(self._shape), g[n:].reshape(self._shape) if self.mapping == "differential" else g[n:]

    def read_conductances(self):
        """Mean read-out conductances (siemens) now: programmed state after drift and retention.

        Same layout as :meth:`conductances`; read noise and IR drop excluded.
        """
        self._require_fabricated("read_conductances")
        g = np.empty(self._n_devices)
        readout_all(self._t_device, self._state, self._params, self._scalars, g)
        n = self._shape[0] * self._shape[1]
        return g[:n].reshape(self._shape), g[n:].reshape(self._shape) if self.mapping == "differential" else g[n:]

    @property
    def g_plus(self):
        """Programmed conductances of the positive (or single) devices, siemens (read-only)."""
        return self.conductances()[0]

    @property
    def g_minus(self):
        """Programmed conductances of the negative devices, siemens (read-only; differential mapping)."""
        if self.mapping != "differential":
            raise AttributeError("g_minus exists only for the differential mapping; see conductances()")
        return self.conductances()[1]

    def set_conductances(self, g_plus, g_minus=None):
        """Set the internal device state directly (siemens), bypassing programming physics.

        Meant for tests and for loading conductances measured elsewhere; a
        physical write is :meth:`program`.
        """
        self._require_fabricated("set_conductances")
        g_plus, g_minus = self._checked_targets(g_plus, g_minus, self.device, self.mapping, self._shape)
        n = g_plus.size
        self._state[0][:n] = g_plus.ravel()
        if g_minus is not None:
            self._state[0][n:] = g_minus.ravel()
        self._refresh()

    # ------------------------------------------------------------------ synaptic scaling
    def programmed_weights(self):
        """Normalised weights the devices are programmed to, ``(n_pre, n_post)``: what a learning rule sees.

        ``(G+ - G-) / span`` of each synapse (programming offsets included, no drift,
        read noise or IR drop), in units of one fully programmed device.
        """
        self._require_fabricated("programmed_weights")
        n_pre, n_post = self._shape
        n = n_pre * n_post
        g, offset = self._state[0], self._state[1]
        read = g + offset if offset.size > 1 else g
        second = read[n:].reshape(self._shape) if self.mapping == "differential" else read[n:, None]
        return (read[:n].reshape(self._shape) - second) / self._span

    @property
    def _span(self):
        """Conductance of one unit of normalised weight: the window, or half of it against a mid-window reference."""
        return self.device.g_range * (1.0 if self.mapping == "differential" else 0.5)

    def _column_sums(self):
        """Column sums of :meth:`programmed_weights`, without building the matrix."""
        n_pre, n_post = self._shape
        n = n_pre * n_post
        g, offset = self._state[0], self._state[1]
        sums = g[:n].reshape(self._shape).sum(axis=0)
        if offset.size > 1:
            sums += offset[:n].reshape(self._shape).sum(axis=0)
        if self.mapping == "differential":
            sums -= g[n:].reshape(self._shape).sum(axis=0)
            if offset.size > 1:
                sums -= offset[n:].reshape(self._shape).sum(axis=0)
        else:
            ref = g[n:] + (offset[n:] if offset.size > 1 else 0.0)
            sums -= ref.sum()
        return sums / self._span

    def normalize_columns(self, total, rtol=1e-9):
        """Synaptic scaling (Diehl & Cook 2015): scale each column's weights so they sum to ``total``.

        Every weight of column ``j`` is multiplied by ``total / sum_i w_ij`` (normalised
        weights, see :meth:`programmed_weights`) and written to the devices like a
        learning update: exact on ideal devices, otherwise as programming pulses
        (the plasticity rule's ``pulses`` mode) that wear the devices and cost
        write energy.  Columns already within ``rtol`` of ``total``, and columns
        whose sum is not positive, are left alone.  Needs a crossbar that learns
        (connected with a plasticity rule).  Returns the factors applied.
        """
        total = _checks.positive("total", total)
        rtol = _checks.non_negative("rtol", rtol)
        if self.plasticity is None:
            raise ValueError("normalize_columns needs a learning crossbar: connect it with plasticity=... first")
        net = self.pre._network
        factors = np.ones(self._shape[1])
        # weight-only crossbars scale their weights and leave the devices to catch up (kernels.deferred)
        weight_only = self._learns_weight_only()
        unit = self.v_read * self.gain * self._span  # amperes of jump per unit of normalised weight
        sums = self._w_eff.sum(axis=0, dtype=np.float64) / unit if weight_only else self._column_sums()
        scalable = sums > 0.0
        factors[scalable] = total / sums[scalable]
        factors[np.abs(factors - 1.0) <= rtol] = 1.0
        dev = self.device
        if not dev.is_ideal and self.plasticity.pulses == "deterministic":
            # a column whose largest change rounds to no pulse is not touched: nothing would be written
            per_window = max(dev.pulse.n_pulses_ltp, dev.pulse.n_pulses_ltd)
            largest = np.abs(self.programmed_weights()).max(axis=0)
            factors[largest * np.abs(factors - 1.0) * per_window < 0.5] = 1.0
        if weight_only and np.any(factors != 1.0):
            rule = self.plasticity
            K_deferred.scale_columns(self._w_eff.reshape(self._shape), self._writes, factors, rule.w_min * unit,
                                     rule.w_max * unit, self.mapping == "reference", self._e_row,
                                     self.v_read * self.device.read.t_read / self.gain)
            self._stale = True
        elif np.any(factors != 1.0):
            cached = getattr(self, "_scaling", None)
            if cached is None or cached[0] is not net or cached[1] != net.dt:
                from .network import plastic_entry

                cached = self._scaling = (net, net.dt, plastic_entry(self, 0, net.dt))
            entry = cached[2]
            entry[10][K_entry.C_AGE] = self._age
            K_plastic.scale_columns(entry, factors, net._step, self._w_eff.reshape(-1), self._sd.reshape(-1),
                                    self._e_row, self._rng)
        return factors

    # ------------------------------------------------------------------ wear and faults
    def pulse_counts(self, side=None):
        """Programming pulses received so far.

        ``side=None``: per synapse, summed over its devices (the pair), shape
        ``(n_pre, n_post)``; ``"plus"``/``"minus"``: one device of the pair;
        ``"reference"``: the row references (reference mapping).
        """
        self._require_fabricated("pulse_counts")
        return self._per_synapse(self._state[3], side)

    def failed(self):
        """Synapses with a worn-out device (endurance failure), bool ``(n_pre, n_post)``."""
        self._require_fabricated("failed")
        return self._per_synapse(self._state[4] >= K.WORN_LOW, None).astype(bool)

    def faults(self):
        """Synapses with a fabrication stuck-at device, bool ``(n_pre, n_post)``."""
        self._require_fabricated("faults")
        stuck = (self._state[4] == K.STUCK_LOW) | (self._state[4] == K.STUCK_HIGH)
        return self._per_synapse(stuck, None).astype(bool)

    def status(self):
        """Per-device status codes (``neuroimc.kernels.device`` OK/STUCK_*/WORN_*), flat over devices."""
        self._require_fabricated("status")
        return self._state[4].copy()

    def device_parameters(self):
        """This chip instance's sampled per-device parameters, flat over devices.

        ``g_min``, ``g_max`` (siemens), ``endurance`` (pulses survived) and
        ``nu`` (drift exponent); device numbering as in :meth:`apply_pulses`.
        """
        self._require_fabricated("device_parameters")
        p = self._params
        return {name: np.broadcast_to(p[k], (self._n_devices,)).copy()
                for name, k in (("g_min", 0), ("g_max", 1), ("endurance", 8), ("nu", 9))}

    def _per_synapse(self, per_device, side):
        n_pre, n_post = self._shape
        n = n_pre * n_post
        first = per_device[:n].reshape(self._shape).astype(np.int64)
        if self.mapping == "differential":
            second = per_device[n:].reshape(self._shape).astype(np.int64)
            pick = {None: first + second, "plus": first, "minus": second}
        else:
            pick = {None: first, "plus": first, "reference": per_device[n:].astype(np.int64)}
        if side not in pick:
            raise ValueError(f"side must be one of {sorted(k for k in pick if k)} or None, got {side!r}")
        return pick[side]

    # ------------------------------------------------------------------ sizes and counters
    @property
    def shape(self):
        """``(n_pre, n_post)``: rows are presynaptic, columns postsynaptic."""
        return self._shape

    @property
    def n_devices(self):
        return self._n_devices

    @property
    def w_max(self):
        """Current jump of one fully programmed device, amperes."""
        span = 1.0 if self.mapping == "differential" else 0.5
        return self.v_read * self.gain * self.device.g_range * span

    @property
    def row_reads(self):
        """Read pulses applied so far (one per presynaptic spike): the propagation work."""
        return int(self._reads[0])

    @property
    def write_pulses(self):
        """Programming pulses applied so far, all devices."""
        return 0 if self._state is None else int(self._state[3].sum())

    def __repr__(self):
        n_pre, n_post = self._shape
        return (f"Crossbar({n_pre}x{n_post}, device={self.device.name!r}, mapping={self.mapping!r}, "
                f"w_max={self.w_max:.3g} A)")


class ProgramReport:
    """Outcome of :meth:`Crossbar.program`: pulses, energy and accuracy of program-and-verify."""

    def __init__(self, pulses, max_pulses_per_device, energy, converged_fraction, rms_weight_error,
                 pulses_per_device):
        self.pulses = pulses
        self.max_pulses_per_device = max_pulses_per_device
        self.energy = energy
        self.converged_fraction = converged_fraction
        self.rms_weight_error = rms_weight_error
        self.pulses_per_device = pulses_per_device

    def __repr__(self):
        return (f"ProgramReport(pulses={self.pulses}, energy={self.energy:.3g} J, "
                f"converged={self.converged_fraction:.1%}, rms_weight_error={self.rms_weight_error:.3g} w_max)")
