"""Crossbar periphery: the column ADC.

For designs with digital neurons every column current is digitised.  In one
time step the rows that spiked are read together, so each tile's column sums
their currents and one conversion per column per active tile quantises it.
"""
from dataclasses import dataclass

from . import _checks


@dataclass(frozen=True)
class ADC:
    """A signed, uniform column ADC.

    Parameters
    ----------
    bits : int
        Resolution: ``2**bits`` codes over ``[-full_scale, full_scale)``.
    full_scale : float, optional
        Largest convertible value, in amperes of synaptic current jump (the
        column current times the periphery gain).  Default: eight fully
        programmed devices (``8 * w_max``) — a few coincident spikes per step.
        Values beyond it clip.
    """

    bits: int = 8
    full_scale: float | None = None

    def __post_init__(self):
        _checks.integer("bits", self.bits, low=1, high=24)
        if self.full_scale is not None:
            _checks.positive("full_scale", self.full_scale)

    def lsb(self, w_max):
        """Value of one code step, amperes."""
        fs = 8.0 * w_max if self.full_scale is None else self.full_scale
        return fs / 2 ** (self.bits - 1)
