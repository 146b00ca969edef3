"""Memristive crossbar: the synapses of one projection.

Row ``i`` of a crossbar is the presynaptic neuron ``i``; column ``j`` feeds the
postsynaptic neuron ``j``.  Every synapse is a differential pair of devices with
conductances ``G+[i, j]`` and ``G-[i, j]``.  A presynaptic spike is a read pulse
of amplitude ``V_read`` on row ``i``; by Ohm's law each device passes
``V_read * G`` and by Kirchhoff's current law each column sums them, so the
pair contributes ``V_read * (G+ - G-)``.  The column periphery (a current
integrator) scales that charge by ``gain`` into the current jump of the
postsynaptic synaptic current ``I_syn[j]``::

    I_syn[j] += V_read * (G+[i, j] - G-[i, j]) * gain          (amperes)
"""
import numpy as np

from . import _checks
from .devices import load_device


class Crossbar:
    """A crossbar array of differential device pairs.

    Parameters
    ----------
    g_plus, g_minus : array_like, shape (n_pre, n_post)
        Conductances of the positive and negative device of each pair, siemens,
        within the device window ``[g_min, g_max]``.
    device : str, path or DeviceModel
        Device technology (a card name in ``models/devices/``).
    v_read : float, optional
        Read-pulse amplitude, volts (default: the card's).
    gain : float
        Dimensionless current gain of the column periphery.

    Most users build crossbars with :meth:`from_weights`.
    """

    def __init__(self, g_plus, g_minus, device="ideal", v_read=None, gain=1.0):
        self.device = load_device(device)
        g_plus = _checks.real_array("g_plus", g_plus, ndim=2)
        g_minus = _checks.real_array("g_minus", g_minus, shape=g_plus.shape)
        lo, hi = self.device.g_min, self.device.g_max
        for name, g in (("g_plus", g_plus), ("g_minus", g_minus)):
            if g.size and (g.min() < lo or g.max() > hi):
                raise ValueError(
                    f"{name} must lie within the {self.device.name!r} device window [{lo}, {hi}] S, "
                    f"found values in [{g.min()}, {g.max()}]"
                )
        if 0 in g_plus.shape:
            raise ValueError(f"g_plus must have at least one row and one column, got shape {g_plus.shape}")
        self.v_read = self.device.v_read if v_read is None else _checks.positive("v_read", v_read)
        self.gain = _checks.positive("gain", gain)
        self._w_eff = np.empty_like(g_plus)
        self._set(g_plus, g_minus)
        self._reads = np.zeros(1, dtype=np.int64)
        self.pre = None
        self.post = None

    @classmethod
    def from_weights(cls, W, device="ideal", w_max=None, v_read=None):
        """Map a signed current-jump matrix onto device conductances.

        ``W[i, j]`` (amperes) is the jump of ``I_syn[j]`` caused by a spike on
        row ``i``.  ``w_max`` is the jump of one fully programmed device
        (``G = g_max`` against ``g_min``), by default ``max|W|``; it is the unit
        in which learning rules see weights.  Positive weights are programmed
        on ``G+``, negative on ``G-``, the partner device stays at ``g_min``,
        and the periphery gain is ``w_max / (V_read * (g_max - g_min))``.  With
        ideal devices ``weights()`` returns ``W`` to float rounding.
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
        v_read = dev.v_read if v_read is None else _checks.positive("v_read", v_read)
        frac = np.clip(W / w_max, -1.0, 1.0)
        g_plus = dev.g_min + np.maximum(frac, 0.0) * dev.g_range
        g_minus = dev.g_min + np.maximum(-frac, 0.0) * dev.g_range
        gain = w_max / (v_read * dev.g_range)
        return cls(g_plus, g_minus, device=dev, v_read=v_read, gain=gain)

    def _set(self, g_plus, g_minus):
        self._g_plus = g_plus
        self._g_minus = g_minus
        # Effective current jump per read (amperes), the array the propagation
        # kernel reads.  It is derived from the conductances and written in
        # place, because the network may have bound it to its own buffer.
        self._w_eff[...] = self.weights()

    def set_conductances(self, g_plus, g_minus):
        """Replace the conductances (siemens, same shape, within the device window)."""
        checked = Crossbar(g_plus, g_minus, device=self.device, v_read=self.v_read, gain=self.gain)
        if checked.shape != self.shape:
            raise ValueError(f"g_plus must have shape {self.shape}, got {checked.shape}")
        self._set(checked._g_plus, checked._g_minus)

    @property
    def g_plus(self):
        """Conductances of the positive devices, siemens (read-only view)."""
        return _read_only(self._g_plus)

    @property
    def g_minus(self):
        """Conductances of the negative devices, siemens (read-only view)."""
        return _read_only(self._g_minus)

    @property
    def shape(self):
        """``(n_pre, n_post)``: rows are presynaptic, columns postsynaptic."""
        return self._g_plus.shape

    @property
    def w_max(self):
        """Current jump of one fully programmed device, amperes."""
        return self.v_read * self.gain * self.device.g_range

    def weights(self):
        """Effective current jump per spike, amperes, shape ``(n_pre, n_post)``."""
        return self.v_read * self.gain * (self._g_plus - self._g_minus)

    @property
    def row_reads(self):
        """Number of row read pulses applied so far (one per presynaptic spike).

        This is the propagation work of the event-driven engine: each read
        touches one row of ``n_post`` devices.
        """
        return int(self._reads[0])

    def __repr__(self):
        n_pre, n_post = self.shape
        return f"Crossbar({n_pre}x{n_post}, device={self.device.name!r}, w_max={self.w_max:.3g} A)"


def _read_only(a):
    view = a.view()
    view.flags.writeable = False
    return view
