"""Strict loading of TOML model cards (device and circuit cards share it).

A card has a ``[<kind>]`` header table (name, technology or description) and
sections, each mapped to a frozen parameter class whose fields carry a
``check`` in their metadata.  Unknown sections or keys and values out of range
raise ``ValueError`` naming the key, the allowed values and the file.
"""
import dataclasses
import tomllib

from . import _checks


def real(low=None, high=None, low_open=False, high_open=False):
    """Field metadata: a finite real within the bounds."""
    return {"check": lambda name, v: _checks.real(name, v, low=low, high=high, low_open=low_open,
                                                  high_open=high_open)}


def integer(low=None, high=None):
    """Field metadata: an integer within the bounds."""
    return {"check": lambda name, v: _checks.integer(name, v, low=low, high=high)}


def choice(*allowed):
    """Field metadata: one of the allowed strings."""
    return {"check": lambda name, v: _checks.choice(name, v, set(allowed))}


def parse(raw, path, header, header_keys, required_header, sections):
    """Return ``(header_table, {section: instance})`` from the bytes of a card."""
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"card {path}: not valid TOML ({exc})") from None
    allowed = [header] + list(sections)
    for section in doc:
        if section not in allowed:
            raise ValueError(f"card {path}: unknown section [{section}]; allowed: {allowed}")
    head = doc.pop(header, None)
    if not isinstance(head, dict):
        raise ValueError(f"card {path}: missing [{header}] table with {sorted(required_header)}")
    unknown = set(head) - set(header_keys)
    if unknown:
        raise ValueError(f"card {path}: unknown key {header}.{sorted(unknown)[0]}; "
                         f"allowed in [{header}]: {sorted(header_keys)}")
    missing = set(required_header) - set(head)
    if missing:
        raise ValueError(f"card {path}: missing required keys {sorted(missing)} in [{header}]")
    for key, value in head.items():
        if not isinstance(value, str):
            raise ValueError(f"card {path}: {header}.{key} must be a string, got {value!r}")
    parsed = {}
    for section, table in doc.items():
        cls = sections[section]
        if not isinstance(table, dict):
            raise ValueError(f"card {path}: [{section}] must be a table")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for key, value in table.items():
            if key not in fields:
                raise ValueError(f"card {path}: unknown key {section}.{key}; allowed in [{section}]: {sorted(fields)}")
            try:
                fields[key].metadata["check"](f"{section}.{key}", value)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"card {path}: {exc}") from None
        parsed[section] = cls(**table)
    return head, parsed, doc


def check_fields(instance, prefix):
    """Run every field's check on a parameter-class instance (for objects built in Python)."""
    for f in dataclasses.fields(instance):
        f.metadata["check"](f"{prefix}.{f.name}", getattr(instance, f.name))
