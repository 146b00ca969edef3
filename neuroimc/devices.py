"""Memristive device models and the TOML cards that describe them.

A *card* is a TOML file in ``models/devices/`` (shipped inside the package as
``neuroimc.models``), one per technology; every number carries its source in a
comment.  Each card section is a small frozen parameter class below (the
``DeviceModel`` holds one of each), whose fields document unit, meaning and
allowed range.  Loading is strict: an unknown section or key, a value of the
wrong type or outside its physical range raises ``ValueError`` naming the key,
the value, what is allowed and the file, so a typo never silently becomes a
default.  A section a card leaves out keeps the ideal behaviour.
"""
import dataclasses
import functools
import importlib.resources
import os
import pathlib
from dataclasses import dataclass, field

import numpy as np

from . import _cards, _checks


_real, _int, _choice = _cards.real, _cards.integer, _cards.choice


@dataclass(frozen=True)
class Conductance:
    """Programmable conductance window.

    ``g_min``/``g_max`` (siemens) bound every device of the technology (before
    device-to-device spread).  ``n_levels`` > 0 quantises a device's state to
    that many equally spaced levels of its own window (2 for a binary MTJ);
    0 means continuous (analog).
    """

    g_min: float = field(default=0.0, metadata=_real(low=0.0))
    g_max: float = field(default=100e-6, metadata=_real(low=0.0, low_open=True))
    n_levels: int = field(default=0, metadata=_int(low=0))


@dataclass(frozen=True)
class PulseResponse:
    """How one identical programming pulse changes the conductance.

    ``model``:

    * ``"exact"`` — ideal programming: a requested change is applied exactly
      (continuous, the Brian2-equivalent reference); a write counts one pulse.
    * ``"linear"`` — every pulse moves ``(g_max - g_min) / n_pulses``.
    * ``"neurosim"`` — NeuroSim's nonlinear model (Chen et al., IEEE TCAD 37,
      3067, 2018): potentiation follows ``G(P) = B (1 - exp(-P/A)) + g_min``
      with ``B = (g_max - g_min) / (1 - exp(-P_max/A))`` and ``A`` set by the
      nonlinearity label ``nl_ltp`` (``A = a(NL) P_max``); depression mirrors it
      from ``g_max`` with ``nl_ltd``.  Per pulse this is a step towards an
      asymptote beyond the window: ``dG = (G_sat - G) (1 - exp(-1/A))``.
    * ``"soft_bounds"`` — ``dG = (g_max - G) / n_pulses`` up and
      ``(G - g_min) / n_pulses`` down (aihwkit's SoftBoundsDevice).

    ``n_pulses_ltp``/``n_pulses_ltd`` are the pulses that sweep the full window
    (NeuroSim's maxNumLevelLTP/LTD).  ``directional = "set_only"`` describes PCM:
    only SET is gradual; RESET is abrupt (back to ``g_min``), so a synapse is
    depressed by potentiating its partner device.
    """

    model: str = field(default="exact", metadata=_choice("exact", "linear", "neurosim", "soft_bounds"))
    n_pulses_ltp: int = field(default=100, metadata=_int(low=1))
    n_pulses_ltd: int = field(default=100, metadata=_int(low=1))
    nl_ltp: float = field(default=0.0, metadata=_real(low=0.0, high=9.0))
    nl_ltd: float = field(default=0.0, metadata=_real(low=0.0, high=9.0))
    directional: str = field(default="bidirectional", metadata=_choice("bidirectional", "set_only"))


@dataclass(frozen=True)
class Write:
    """Programming pulses and their cycle-to-cycle (c2c) variability.

    Each pulse adds Gaussian noise of standard deviation
    ``c2c_sigma * (g_max - g_min)`` to the deterministic step (NeuroSim's
    sigmaCtoC); it accumulates in the device state.  ``program_sigma`` is
    programming noise that does not accumulate: every write leaves the read-out
    conductance off the internal state by ``N(0, program_sigma * (g_max - g_min))``
    until the next write (aihwkit's write noise; IBM's PCM programming noise).
    ``deploy_sigma`` is the error an offline program-and-verify leaves when
    weights are deployed in one step (``Crossbar(deploy="exact")``), e.g. IBM's
    PCM programming-noise model; it is not applied to individual pulses.
    ``energy_per_pulse`` (joules) is charged for every pulse.
    """

    pulse_width: float = field(default=10e-9, metadata=_real(low=0.0, low_open=True))
    v_write: float = field(default=1.0, metadata=_real(low=0.0, low_open=True))
    energy_per_pulse: float = field(default=0.0, metadata=_real(low=0.0))
    c2c_sigma: float = field(default=0.0, metadata=_real(low=0.0, high=1.0))
    program_sigma: float = field(default=0.0, metadata=_real(low=0.0, high=1.0))
    deploy_sigma: float = field(default=0.0, metadata=_real(low=0.0, high=1.0))


@dataclass(frozen=True)
class Read:
    """Read pulses and read noise.

    A read pulse of ``v_read`` volts lasting ``t_read`` seconds.  ``noise_model``:

    * ``"none"``;
    * ``"gaussian"`` — every read sees ``G (1 + noise_sigma * N(0, 1))``;
    * ``"additive"`` — every read sees ``G + noise_sigma * (g_max - g_min) * N(0, 1)``
      (a constant floor, as aihwkit's short-term weight noise);
    * ``"pcm_1f"`` — IBM's PCM 1/f read noise (Joshi et al., Nat. Commun. 11,
      2473, 2020; aihwkit ``PCMLikeNoiseModel``): standard deviation
      ``G * Q_s * sqrt(ln((t + t_read) / (2 t_read)))`` with
      ``Q_s = min(noise_sigma / max((G/g_max)**0.65, 1e-3), 0.2)``, ``t`` the
      time since programming.
    """

    v_read: float = field(default=0.2, metadata=_real(low=0.0, low_open=True))
    t_read: float = field(default=10e-9, metadata=_real(low=0.0, low_open=True))
    noise_model: str = field(default="none", metadata=_choice("none", "gaussian", "additive", "pcm_1f"))
    noise_sigma: float = field(default=0.0, metadata=_real(low=0.0, high=1.0))


@dataclass(frozen=True)
class Drift:
    """Power-law conductance drift after programming (PCM structural relaxation).

    ``G(t) = G_prog * ((t - t_prog) / t0) ** -nu`` for ``t - t_prog > t0``, with
    each device's ``nu`` drawn once from ``N(nu_mean, nu_std)`` (clipped at 0).
    """

    nu_mean: float = field(default=0.0, metadata=_real(low=0.0, high=1.0))
    nu_std: float = field(default=0.0, metadata=_real(low=0.0, high=1.0))
    t0: float = field(default=1.0, metadata=_real(low=0.0, low_open=True))


@dataclass(frozen=True)
class Retention:
    """Retention loss: the programmed state relaxes towards ``g_min``.

    ``G(t) = g_min + (G - g_min) * exp(-((t - t_prog) / tau) ** beta)`` (a
    stretched exponential); ``tau = 0`` disables it.
    """

    tau: float = field(default=0.0, metadata=_real(low=0.0))
    beta: float = field(default=1.0, metadata=_real(low=0.0, low_open=True, high=1.0))


@dataclass(frozen=True)
class Endurance:
    """Wear-out.

    Each device draws its endurance (pulses it survives) once from a lognormal
    distribution with mean ``cycles_mean`` and log-standard-deviation
    ``cycles_log_sigma``; ``cycles_mean = 0`` means unlimited.  The pulse that
    takes a device past its own limit fails it for good, in ``failure_mode``:
    ``"stuck_low"`` (``g_min``), ``"stuck_high"`` (``g_max``) or
    ``"window_closing"`` (high and low states merge at mid-window).
    """

    cycles_mean: float = field(default=0.0, metadata=_real(low=0.0))
    cycles_log_sigma: float = field(default=0.0, metadata=_real(low=0.0, high=10.0))
    failure_mode: str = field(default="stuck_low", metadata=_choice("stuck_low", "stuck_high", "window_closing"))


@dataclass(frozen=True)
class Faults:
    """Fabrication stuck-at faults: probability per device of being stuck at ``g_min`` / ``g_max``."""

    stuck_low_rate: float = field(default=0.0, metadata=_real(low=0.0, high=1.0))
    stuck_high_rate: float = field(default=0.0, metadata=_real(low=0.0, high=1.0))


@dataclass(frozen=True)
class Variability:
    """Device-to-device (d2d) spreads, drawn once per chip instance.

    ``g_min_sigma``/``g_max_sigma`` are relative standard deviations of each
    device's window bounds; ``nl_sigma`` the standard deviation of its
    nonlinearity labels (absolute, clipped to [0, 9]).
    """

    g_min_sigma: float = field(default=0.0, metadata=_real(low=0.0, high=1.0))
    g_max_sigma: float = field(default=0.0, metadata=_real(low=0.0, high=1.0))
    nl_sigma: float = field(default=0.0, metadata=_real(low=0.0, high=9.0))


@dataclass(frozen=True)
class ArrayGeometry:
    """Physical array: tile size and wire resistance per cell segment (ohms)."""

    tile_rows: int = field(default=0, metadata=_int(low=0))
    tile_cols: int = field(default=0, metadata=_int(low=0))
    r_wire: float = field(default=0.0, metadata=_real(low=0.0))


_SECTIONS = {
    "conductance": Conductance,
    "pulse": PulseResponse,
    "write": Write,
    "read": Read,
    "drift": Drift,
    "retention": Retention,
    "endurance": Endurance,
    "faults": Faults,
    "variability": Variability,
    "array": ArrayGeometry,
}


@dataclass(frozen=True)
class DeviceModel:
    """One memristive device technology: a name and one parameter class per card section.

    ``DeviceModel(name="x", technology="...", conductance=Conductance(...), ...)``;
    sections left out are ideal.  The most used numbers are also properties:
    ``g_min``, ``g_max``, ``g_range``, ``v_read``.
    """

    name: str
    technology: str = ""
    description: str = ""
    conductance: Conductance = field(default_factory=Conductance)
    pulse: PulseResponse = field(default_factory=PulseResponse)
    write: Write = field(default_factory=Write)
    read: Read = field(default_factory=Read)
    drift: Drift = field(default_factory=Drift)
    retention: Retention = field(default_factory=Retention)
    endurance: Endurance = field(default_factory=Endurance)
    faults: Faults = field(default_factory=Faults)
    variability: Variability = field(default_factory=Variability)
    array: ArrayGeometry = field(default_factory=ArrayGeometry)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        for section, cls in _SECTIONS.items():
            value = getattr(self, section)
            if not isinstance(value, cls):
                raise TypeError(f"{section} must be a {cls.__name__}, got {type(value).__name__}")
            _cards.check_fields(value, section)
        if self.g_max <= self.g_min:
            raise ValueError(f"conductance.g_max must be > g_min ({self.g_min}), got {self.g_max}")

    @property
    def g_min(self):
        return self.conductance.g_min

    @property
    def g_max(self):
        return self.conductance.g_max

    @property
    def g_range(self):
        """Programmable window ``g_max - g_min``, siemens."""
        return self.conductance.g_max - self.conductance.g_min

    @property
    def v_read(self):
        return self.read.v_read

    @functools.cached_property  # a frozen card never changes; building the comparison card is slow (0.2 ms)
    def is_ideal(self):
        """True when nothing is non-ideal: exact writes, no noise, drift, retention loss, wear or faults."""
        ideal = DeviceModel(self.name, conductance=Conductance(self.g_min, self.g_max),
                            read=Read(v_read=self.read.v_read, t_read=self.read.t_read),
                            write=dataclasses.replace(self.write, c2c_sigma=0.0, program_sigma=0.0, deploy_sigma=0.0),
                            array=dataclasses.replace(self.array, r_wire=0.0))
        return (self.conductance == ideal.conductance and self.pulse == ideal.pulse and self.write == ideal.write
                and self.read == ideal.read and self.drift.nu_mean == 0 and self.drift.nu_std == 0
                and self.retention.tau == 0 and self.endurance.cycles_mean == 0
                and self.faults == ideal.faults and self.variability == ideal.variability
                and self.array == ideal.array)


def nl_to_a(nl):
    """NeuroSim's normalised curvature ``A / P_max`` for a nonlinearity label ``NL``.

    NeuroSim tabulates ``a(NL)`` (``getParamA`` in MLP_NeuroSim V3.0
    ``formula.cpp``); the table is the solution of
    ``NL = 10.1015 * max_u [f_a(u) - u]`` with
    ``f_a(u) = (1 - exp(-u/a)) / (1 - exp(-1/a))``: NL/10 is, up to 1/0.99, the
    largest deviation of the normalised update curve from a straight line.  We
    solve that relation (the label is monotonic in ``a``: tabulated once on a
    fine log grid and inverted by interpolation) instead of copying the table;
    ``tests/test_device_physics.py`` checks it against published entries.
    ``NL = 0`` gives ``inf`` (linear).
    """
    nl = _checks.real("nl", nl, low=0.0, high=9.0)
    if nl == 0.0:
        return np.inf
    log_a, labels = _nl_table()
    return float(np.exp(np.interp(nl, labels, log_a)))


@functools.lru_cache(maxsize=1)
def _nl_table():
    log_a = np.linspace(np.log(5e-3), np.log(5e3), 4001)
    a = np.exp(log_a)[:, None]
    u = np.linspace(0.0, 1.0, 1001)[None, :]
    labels = 10.1015 * np.max(np.expm1(-u / a) / np.expm1(-1.0 / a) - u, axis=1)
    return log_a[::-1], labels[::-1]  # increasing labels for np.interp


def cards_directory(kind="devices"):
    """The folder that holds the shipped cards of a kind (``"devices"`` or ``"circuits"``).

    Installed, the cards are the package data of ``neuroimc.models``; in a
    source checkout imported from its root they are ``models/devices``.
    """
    try:
        return importlib.resources.files("neuroimc.models") / kind
    except ModuleNotFoundError:
        return pathlib.Path(__file__).resolve().parent.parent / "models" / kind


def available_devices():
    """Names of the shipped device cards, sorted."""
    return sorted(p.name[:-5] for p in cards_directory().iterdir() if p.name.endswith(".toml"))


def load_device(device):
    """Return a :class:`DeviceModel` for a card name, a card path, or a DeviceModel.

    >>> load_device("ideal").g_max
    0.0001
    """
    if isinstance(device, DeviceModel):
        return device
    if isinstance(device, os.PathLike) or (isinstance(device, str) and device.endswith(".toml")):
        path = os.fspath(device)
        if not os.path.isfile(path):
            raise ValueError(f"device card file {path!r} does not exist")
        with open(path, "rb") as fh:
            return _from_card(fh.read(), path)
    if not isinstance(device, str):
        raise TypeError(
            f"device must be a card name, a path to a .toml card or a DeviceModel, got {type(device).__name__}"
        )
    names = available_devices()
    if device not in names:
        raise ValueError(f"device {device!r} is not a known card; available: {names}")
    card = cards_directory() / f"{device}.toml"
    return _from_card(card.read_bytes(), str(card))


def _from_card(raw, path):
    head, sections, doc = _cards.parse(raw, path, "device", ("name", "technology", "description"),
                                       ("name", "technology"), _SECTIONS)
    if "conductance" not in sections or not {"g_min", "g_max"} <= doc["conductance"].keys():
        raise ValueError(f"card {path}: missing required keys conductance.g_min and conductance.g_max")
    try:
        return DeviceModel(name=head["name"], technology=head["technology"],
                           description=head.get("description", ""), **sections)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"card {path}: {exc}") from None


def replace(device, **sections):
    """A copy of ``device`` with whole sections or section fields changed.

    ``replace("rram_hfox", read={"noise_sigma": 0.0}, endurance=Endurance())``
    """
    device = load_device(device)
    changes = {}
    for key, value in sections.items():
        if isinstance(value, dict):
            if key not in _SECTIONS:
                raise ValueError(f"{key} is not a card section; sections: {sorted(_SECTIONS)}")
            value = dataclasses.replace(getattr(device, key), **value)
        changes[key] = value
    return dataclasses.replace(device, **changes)


from .fitting import fit_pulse_response  # noqa: E402  (fitting needs nl_to_a above)

__all__ = ["fit_pulse_response", "DeviceModel", "Conductance", "PulseResponse", "Write", "Read", "Drift", "Retention", "Endurance",
           "Faults", "Variability", "ArrayGeometry", "load_device", "available_devices", "cards_directory",
           "replace", "nl_to_a"]
