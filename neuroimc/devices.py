"""Memristive device models and the TOML cards that describe them.

A *card* is a TOML file in ``models/devices/`` (shipped inside the package as
``neuroimc.models``).  Each number in a card carries its source in a comment.
Loading is strict: an unknown section or key, a value of the wrong type, or a
value outside its physical range raises ``ValueError`` naming the key, the
value, what is allowed and the file, so a typo never silently becomes a default.

The schema grows with the physics the engine implements; a card may only state
what the simulator honours.
"""
import dataclasses
import importlib.resources
import os
import pathlib
import tomllib
from dataclasses import dataclass

from . import _checks


@dataclass(frozen=True)
class DeviceModel:
    """One memristive device technology.

    Parameters
    ----------
    name : str
        Card name, e.g. ``"ideal"``; the file is ``models/devices/<name>.toml``.
    technology : str
        Short description of the stack (``"HfOx RRAM"``...).
    g_min, g_max : float
        Lowest and highest programmable conductance, siemens.  A synapse is a
        differential pair, so its weight spans ``±(g_max - g_min)``.
    v_read : float
        Default read-pulse amplitude on a crossbar row, volts.  A spike on row
        ``i`` drives ``V_read * G[i, j]`` into column ``j`` (Ohm's law); the
        column sums these currents (Kirchhoff's current law).
    description : str
        Free text: what the device is and where its numbers come from.
    """

    name: str
    technology: str
    g_min: float
    g_max: float
    v_read: float
    description: str = ""

    def __post_init__(self):
        _checks.non_negative("g_min", self.g_min)
        _checks.positive("g_max", self.g_max)
        if self.g_max <= self.g_min:
            raise ValueError(f"g_max must be > g_min ({self.g_min}), got {self.g_max}")
        _checks.positive("v_read", self.v_read)

    @property
    def g_range(self):
        """Programmable window ``g_max - g_min``, siemens."""
        return self.g_max - self.g_min


# card section -> {key: (DeviceModel field, check)}; checks give the allowed range in their message
_SCHEMA = {
    "device": {
        "name": ("name", str),
        "technology": ("technology", str),
        "description": ("description", str),
    },
    "conductance": {
        "g_min": ("g_min", lambda k, v: _checks.non_negative(k, v)),
        "g_max": ("g_max", lambda k, v: _checks.positive(k, v)),
    },
    "read": {
        "v_read": ("v_read", lambda k, v: _checks.positive(k, v)),
    },
}
_REQUIRED = {"name", "technology", "g_min", "g_max", "v_read"}


def cards_directory():
    """The folder that holds the shipped device cards.

    Installed, the cards are the package data of ``neuroimc.models``; in a
    source checkout imported from its root they are ``models/devices``.
    """
    try:
        return importlib.resources.files("neuroimc.models") / "devices"
    except ModuleNotFoundError:
        return pathlib.Path(__file__).resolve().parent.parent / "models" / "devices"


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
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"device card {path}: not valid TOML ({exc})") from None
    fields = {}
    for section, table in doc.items():
        if section not in _SCHEMA:
            raise ValueError(f"device card {path}: unknown section [{section}]; allowed: {sorted(_SCHEMA)}")
        if not isinstance(table, dict):
            raise ValueError(f"device card {path}: [{section}] must be a table")
        for key, value in table.items():
            spec = _SCHEMA[section].get(key)
            if spec is None:
                raise ValueError(
                    f"device card {path}: unknown key {section}.{key}; allowed in [{section}]: "
                    f"{sorted(_SCHEMA[section])}"
                )
            field, check = spec
            try:
                if check is str:
                    if not isinstance(value, str):
                        raise TypeError(f"{key} must be a string, got {value!r}")
                else:
                    value = check(key, value)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"device card {path}: {section}.{exc}") from None
            fields[field] = value
    missing = _REQUIRED - fields.keys()
    if missing:
        raise ValueError(f"device card {path}: missing required keys {sorted(missing)}")
    try:
        return DeviceModel(**fields)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"device card {path}: {exc}") from None


def replace(device, **changes):
    """A copy of ``device`` with some fields changed (validated again)."""
    return dataclasses.replace(load_device(device), **changes)


__all__ = ["DeviceModel", "load_device", "available_devices", "cards_directory", "replace"]
