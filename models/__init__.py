"""Model cards of neuroimc, shipped inside the package as ``neuroimc.models``.

``devices/*.toml`` describe memristive device technologies, one file per
technology, every number with its source; see :mod:`neuroimc.devices`.
"""
