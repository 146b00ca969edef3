"""Saving and restoring a whole network: ``net.save(path)`` and ``neuroimc.load(path)``.

Format (version 2; version 1 files, from before adaptive thresholds and
triplet rules, still load): one ``.npz`` archive (a zip whose members carry CRC-32
checksums, loaded without pickle).  Member ``manifest.json`` describes the
network — format name and version, neuroimc and numpy versions, time step,
seed, current step, every population, source and crossbar with its
parameters (device card and plasticity rule included) — and names the arrays
holding its state: membrane and synaptic state, last spikes, Poisson random
streams, device conductances and programming offsets, sampled per-device
parameters, pulse counts and failure map, plasticity traces, read-out caches
and counters.  Monitors are not state: attach new ones after loading.

A save writes a temporary file beside the target and renames it over the
target, so a crash or kill leaves the previous file intact.  A truncated or
corrupted file raises ``ValueError`` naming the file.  Loading and running on
gives the same spikes and state, bit for bit, as never having stopped.
"""
import dataclasses
import json
import os
import zipfile

import numpy as np

from . import __version__
from ._io import atomic_open
from .crossbar import Crossbar
from .devices import _SECTIONS, DeviceModel
from .inputs import PoissonSource, SpikeSource
from .kernels.random import stream_key
from .learning import RULES
from .neurons import LIFPopulation
from .periphery import ADC

FORMAT = "neuroimc-network-state"
VERSION = 2
_READABLE = (1, 2)
_LIF_PARAMS = ("tau_m", "v_rest", "v_reset", "v_thresh", "t_ref", "tau_syn", "r_m")
_ADAPTATION = ("theta_plus", "tau_theta")
_RULES = {rule.__name__: rule for rule in RULES}
_XB_STATE = ("g", "offset", "t_prog", "count", "status")


def save(net, path):
    """Write the whole state of ``net`` to ``path`` (atomically; see the module docstring)."""
    arrays, man = {}, {"format": FORMAT, "version": VERSION, "neuroimc": __version__, "numpy": np.__version__,
                       "dt": net.dt, "seed": str(net.seed), "step": net._step, "n_added": net._n_added,
                       "chunk_steps": net.chunk_steps, "learning": net.learning,
                       "precision": net.precision, "populations": [], "sources": [], "crossbars": []}

    def put(key, value):
        arrays[key] = np.ascontiguousarray(value)
        return key

    for k, p in enumerate(net.populations):
        man["populations"].append({
            "name": p.name, "n": p.n, "spikes": int(p._spikes[0]),
            **{a: put(f"pop{k}/{a}", getattr(p, a)) for a in _LIF_PARAMS + _ADAPTATION},
            "v": put(f"pop{k}/v", p._v), "I_syn": put(f"pop{k}/I_syn", p._I_syn), "theta": put(f"pop{k}/theta", p._theta),
            "lastspike": put(f"pop{k}/lastspike", p._lastspike)})
    for k, s in enumerate(net.sources):
        entry = {"name": s.name, "n": s.n, "spikes": int(s._spikes[0])}
        if isinstance(s, PoissonSource):
            entry.update(kind="poisson", rate=put(f"src{k}/rate", s._rate), rng=put(f"src{k}/rng", s._rng),
                         skip=s._skip.tolist())
        else:
            entry.update(kind="recorded", indices=put(f"src{k}/indices", s.indices),
                         times=put(f"src{k}/times", s.times))
        man["sources"].append(entry)
    groups = net.populations + net.sources
    where = {id(g): k for k, g in enumerate(groups)}
    for k, xb in enumerate(net.crossbars):
        pre = f"xb{k}/"
        entry = {
            "pre": where[id(xb.pre)], "post": where[id(xb.post)], "device": dataclasses.asdict(xb.device),
            "mapping": xb.mapping, "v_read": xb.v_read, "gain": xb.gain, "seed": str(xb.seed),
            "adc": dataclasses.asdict(xb.adc) if xb.adc else None, "tile": list(xb.tile) if xb.tile else None,
            "deploy": xb.deploy, "r_wire": xb.r_wire, "ir_drop": xb.ir_drop, "age": xb._age,
            "t_device": xb._t_device, "next_refresh": xb._next_refresh,
            "plasticity": dataclasses.asdict(xb.plasticity) if xb.plasticity else None,
            "rule": type(xb.plasticity).__name__ if xb.plasticity else None,
            "state": [put(pre + f"state/{n}", a) for n, a in zip(_XB_STATE, xb._state)],
            "params": [put(pre + f"params/{i}", a) for i, a in enumerate(xb._params)],
        }
        for attr in ("_scalars", "_target", "_rng", "_w_eff", "_sd", "_sd_ref", "_e_row", "_ir_factor", "_reads",
                     "_read_energy", "_conversions"):
            entry[attr] = put(pre + attr, getattr(xb, attr))
        if xb.plasticity:
            entry["_pre_trace"] = put(pre + "pre_trace", xb._pre_trace)
            entry["_post_trace"] = put(pre + "post_trace", xb._post_trace)
            entry["_pre_trace2"] = put(pre + "pre_trace2", xb._pre_trace2)
            entry["_post_trace2"] = put(pre + "post_trace2", xb._post_trace2)
        man["crossbars"].append(entry)
    arrays["manifest.json"] = np.frombuffer(json.dumps(man).encode(), dtype=np.uint8)

    with atomic_open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def load(path):
    """Rebuild a :class:`~neuroimc.Network` from a file written by ``net.save``."""
    from .network import Network

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"state file {path!r} does not exist")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}  # reading every member checks every CRC
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise ValueError(f"state file {path!r} is truncated or corrupted ({type(exc).__name__}: {exc})") from None
    try:
        man = json.loads(arrays.pop("manifest.json").tobytes().decode())
    except (KeyError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"state file {path!r} has no readable manifest ({exc})") from None
    if man.get("format") != FORMAT:
        raise ValueError(f"{path!r} is not a neuroimc network state (format {man.get('format')!r})")
    if man.get("version") not in _READABLE:
        raise ValueError(f"state file {path!r} has format version {man.get('version')}; this neuroimc "
                         f"({__version__}) reads version {VERSION}")
    try:
        return _rebuild(man, arrays, Network)
    except KeyError as exc:
        raise ValueError(f"state file {path!r} is missing array {exc}") from None


def _rebuild(man, a, Network):
    net = Network(dt=man["dt"], seed=int(man["seed"]), precision=man.get("precision", "float64"))
    net.chunk_steps = man["chunk_steps"]
    net.learning = man.get("learning", True)
    for p in man["populations"]:
        adaptation = {k: a[p[k]] for k in _ADAPTATION if k in p}
        pop = LIFPopulation(p["n"], **{k: a[p[k]] for k in _LIF_PARAMS}, name=p["name"], **adaptation)
        net.add(pop)
        pop._v[...], pop._I_syn[...], pop._lastspike[...] = a[p["v"]], a[p["I_syn"]], a[p["lastspike"]]
        if "theta" in p:
            pop._theta[...] = a[p["theta"]]
        pop._spikes[0] = p["spikes"]
    for s in man["sources"]:
        if s["kind"] == "poisson":
            src = net.add(PoissonSource(s["n"], rate=a[s["rate"]], name=s["name"]))
            src._rng[...] = a[s["rng"]]
            src._skip[...] = s["skip"]
        else:
            src = net.add(SpikeSource(s["n"], indices=a[s["indices"]], times=a[s["times"]], name=s["name"]))
        src._spikes[0] = s["spikes"]
    groups = net.populations + net.sources
    for c in man["crossbars"]:
        xb = _crossbar(c, a)
        rule = _RULES[c.get("rule") or "STDP"](**c["plasticity"]) if c["plasticity"] else None
        net.connect(groups[c["pre"]], groups[c["post"]], xb, plasticity=rule)
        xb._age = c["age"]  # connect re-anchors the device clock; restore it
        if c["plasticity"]:
            for attr in ("_pre_trace", "_post_trace", "_pre_trace2", "_post_trace2"):
                if attr in c:
                    getattr(xb, attr)[...] = a[c[attr]]
    net._step = man["step"]
    net._n_added = man["n_added"]
    return net


def _crossbar(c, a):
    """A crossbar as it was: no new sampling, no new programming."""
    d = c["device"]
    device = DeviceModel(name=d["name"], technology=d["technology"], description=d["description"],
                         **{s: cls(**d[s]) for s, cls in _SECTIONS.items()})
    xb = Crossbar.__new__(Crossbar)
    xb.device, xb.mapping, xb.deploy = device, c["mapping"], c["deploy"]
    xb.v_read, xb.gain, xb.r_wire, xb.ir_drop = c["v_read"], c["gain"], c["r_wire"], c["ir_drop"]
    xb.adc = ADC(**c["adc"]) if c["adc"] else None
    xb.tile = tuple(c["tile"]) if c["tile"] else None
    xb.seed = int(c["seed"]) if c["seed"] != "None" else None
    xb.deployment = None
    xb._writes, xb._stale = None, False  # saved in sync: nothing learned weight-only is pending
    xb._state = tuple(a[k].copy() for k in c["state"])
    xb._params = tuple(a[k].copy() for k in c["params"])
    for attr in ("_scalars", "_target", "_rng", "_sd", "_sd_ref", "_e_row", "_ir_factor", "_reads", "_read_energy",
                 "_conversions"):
        setattr(xb, attr, a[c[attr]].copy())
    if xb._rng.size == 4:  # saved before learning had its own key: derive one from the stream
        xb._rng = np.append(xb._rng, stream_key(np.random.SeedSequence([int(v) for v in xb._rng])))
    xb._w_eff = a[c["_w_eff"]].copy()
    xb._shape = xb._w_eff.shape
    xb._n_devices = xb._state[0].size
    xb._t_device, xb._next_refresh = c["t_device"], c["next_refresh"]
    xb.pre = xb.post = xb.plasticity = None
    return xb
