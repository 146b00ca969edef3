"""neuroimc: spiking neural networks on memristive in-memory-computing hardware.

LIF populations exchange spikes through crossbars of memristive devices; a
spike is a read pulse on a crossbar row whose column currents charge the
target neurons.  The time-step loop runs compiled (numba) and event-driven.
"""
__version__ = "0.1.0"  # first: modules imported below read it

from . import datasets, encoding, energy, plot, readout, units
from .crossbar import Crossbar
from .devices import DeviceModel, available_devices, load_device
from .periphery import ADC
from .inputs import PoissonSource, SpikeSource
from .learning import STDP, TripletSTDP
from .monitors import SpikeMonitor, StateMonitor
from .network import Network
from .neurons import LIFPopulation
from .state import load

__all__ = [
    "ADC",
    "datasets",
    "encoding",
    "energy",
    "plot",
    "readout",
    "units",
    "Crossbar",
    "DeviceModel",
    "LIFPopulation",
    "Network",
    "PoissonSource",
    "STDP",
    "SpikeMonitor",
    "SpikeSource",
    "StateMonitor",
    "TripletSTDP",
    "available_devices",
    "load",
    "load_device",
]
