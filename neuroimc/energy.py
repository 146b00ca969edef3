"""Energy and latency of a run on the hardware.

Counts what the engine did (row reads and the conductance they read, ADC
conversions, programming pulses, neuron updates, spikes) and prices each event
with the device card and a circuit card (``models/circuits/*.toml``):

* **synapse reads** — a read pulse on row ``i`` dissipates
  ``V_read**2 * t_read * sum_j G[i, j]`` in the row's devices (both devices of
  every pair and the row reference), accumulated per read by the kernel;
* **row drivers** — charging the row wire: ``n_cols * c_wire_per_cell * V_read**2``;
* **columns** — one integrator/sense event per column per read
  (``column_energy``), or, with an ADC, one conversion per column per active
  tile per step at ``adc_fom * 2**bits``;
* **writes** — ``energy_per_pulse`` of the device card for every programming pulse;
* **neurons** — ``energy_per_update`` per neuron per step, ``energy_per_spike``
  per spike (neuron circuit card).

Latency is the busy time of each crossbar (its reads, conversions and pulses
done one after another) and of the neuron updates; crossbars and neuron cores
work in parallel, so the run's hardware latency is the longest of them.
"""
from dataclasses import dataclass, field

from . import _cards
from .devices import cards_directory


@dataclass(frozen=True)
class NeuronCircuit:
    """Energy (J) per neuron update and per spike, time (s) per update."""

    energy_per_update: float = field(default=0.0, metadata=_cards.real(low=0.0))
    t_update: float = field(default=0.0, metadata=_cards.real(low=0.0))
    energy_per_spike: float = field(default=0.0, metadata=_cards.real(low=0.0))


@dataclass(frozen=True)
class Periphery:
    """Crossbar read path: wire capacitance per cell (F), column and ADC energies (J), times (s)."""

    c_wire_per_cell: float = field(default=0.0, metadata=_cards.real(low=0.0))
    column_energy: float = field(default=0.0, metadata=_cards.real(low=0.0))
    t_row: float = field(default=0.0, metadata=_cards.real(low=0.0))
    adc_fom: float = field(default=0.0, metadata=_cards.real(low=0.0))
    t_adc: float = field(default=0.0, metadata=_cards.real(low=0.0))


@dataclass(frozen=True)
class CircuitModel:
    """Neuron circuit and periphery of a design (a circuit card)."""

    name: str
    description: str = ""
    neuron: NeuronCircuit = field(default_factory=NeuronCircuit)
    periphery: Periphery = field(default_factory=Periphery)


def load_circuit(circuit="digital_lif"):
    """A :class:`CircuitModel` from a card name in ``models/circuits/``, a path, or itself."""
    if isinstance(circuit, CircuitModel):
        return circuit
    if not isinstance(circuit, str):
        raise TypeError(f"circuit must be a card name or a CircuitModel, got {type(circuit).__name__}")
    folder = cards_directory("circuits")
    if circuit.endswith(".toml"):
        path = circuit
        with open(path, "rb") as fh:
            raw = fh.read()
    else:
        names = sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))
        if circuit not in names:
            raise ValueError(f"circuit {circuit!r} is not a known card; available: {names}")
        path = str(folder / f"{circuit}.toml")
        raw = (folder / f"{circuit}.toml").read_bytes()
    head, sections, _ = _cards.parse(raw, path, "circuit", ("name", "description"), ("name",),
                                     {"neuron": NeuronCircuit, "periphery": Periphery})
    return CircuitModel(name=head["name"], description=head.get("description", ""), **sections)


class EnergyMonitor:
    """Accumulates energy from the moment it is created (``net.monitor_energy()``)."""

    def __init__(self, network, circuit="digital_lif"):
        self.network = network
        self.circuit = load_circuit(circuit)
        self._start = self._counters()

    def _counters(self):
        net = self.network
        xb = {id(x): (x.row_reads, float(x._read_energy[0]), int(x._conversions[0]), x.write_pulses)
              for x in net.crossbars}
        spikes = {id(p): int(p._spikes[0]) for p in net.populations}
        return {"step": net._step, "xb": xb, "spikes": spikes}

    def report(self):
        """An :class:`EnergyReport` of everything since the monitor was created."""
        net, c = self.network, self.circuit
        now, start = self._counters(), self._start
        steps = now["step"] - start["step"]
        cat = dict.fromkeys(("synapse_reads", "row_drivers", "columns", "adc", "writes", "neuron_updates",
                             "spikes"), 0.0)
        busy = {}
        events = 0
        for x in net.crossbars:
            reads0, e0, conv0, pulses0 = start["xb"].get(id(x), (0, 0.0, 0, 0))
            reads1, e1, conv1, pulses1 = now["xb"][id(x)]
            reads, conv, pulses = reads1 - reads0, conv1 - conv0, pulses1 - pulses0
            n_cols = x.shape[1]
            events += reads * n_cols
            cat["synapse_reads"] += e1 - e0
            cat["row_drivers"] += reads * n_cols * c.periphery.c_wire_per_cell * x.v_read**2
            if x.adc is None:
                cat["columns"] += reads * n_cols * c.periphery.column_energy
            else:
                cat["adc"] += conv * c.periphery.adc_fom * 2**x.adc.bits
            cat["writes"] += pulses * x.device.write.energy_per_pulse
            busy[x] = (reads * (x.device.read.t_read + c.periphery.t_row)
                       + conv / n_cols * c.periphery.t_adc + pulses * x.device.write.pulse_width)
        for p in net.populations:
            cat["neuron_updates"] += p.n * steps * c.neuron.energy_per_update
            cat["spikes"] += (now["spikes"][id(p)] - start["spikes"].get(id(p), 0)) * c.neuron.energy_per_spike
            busy[p] = p.n * steps * c.neuron.t_update
        return EnergyReport(cat, events, steps * net.dt, busy)


class EnergyReport:
    """Joules by category, synaptic events, and hardware latency of a stretch of simulation.

    Attributes
    ----------
    breakdown : dict
        Joules per category (synapse_reads, row_drivers, columns, adc, writes,
        neuron_updates, spikes).
    total : float
        Joules.
    synaptic_events : int
        Devices read (row reads times row length).
    sops_per_joule : float
        Synaptic operations per joule.
    latency : float
        Hardware busy time of the slowest crossbar or neuron core, seconds.
    simulated_time : float
        Network time covered, seconds.
    """

    def __init__(self, breakdown, synaptic_events, simulated_time, busy):
        self.breakdown = breakdown
        self.total = float(sum(breakdown.values()))
        self.synaptic_events = int(synaptic_events)
        self.sops_per_joule = self.synaptic_events / self.total if self.total > 0 else float("inf")
        self.busy = busy
        self.latency = max(busy.values(), default=0.0)
        self.simulated_time = simulated_time

    def to_dict(self):
        return {"total_J": self.total, "breakdown_J": dict(self.breakdown), "synaptic_events": self.synaptic_events,
                "sops_per_joule": self.sops_per_joule, "latency_s": self.latency,
                "simulated_time_s": self.simulated_time}

    def __repr__(self):
        parts = ", ".join(f"{k} {v:.3g} J" for k, v in self.breakdown.items() if v)
        return f"EnergyReport(total {self.total:.3g} J: {parts}; latency {self.latency:.3g} s)"
