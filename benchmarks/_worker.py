"""One measurement in a fresh process: ``python _worker.py SPEC.json [vs|dc]``.

The spec says what to measure (``kind``) and where to write the result; the
benchmark (``vs``: ``bench_vs_brian2``, the default; ``dc``: ``bench_stdp_digits``)
says which module measures each kind.  A fresh process per measurement keeps
the peak-memory figures separate and Brian2's global device state
(cpp_standalone) out of the next run.  The result file is written only on
success (atomically); the caller reads the error from the log otherwise.
"""
import importlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

MODULES = {
    "vs": {"neuroimc": "_neuroimc_nets", "brian2": "_brian2_nets", "bandwidth": "_membw"},
    "dc": {"neuroimc": "_dc_neuroimc", "brian2": "_dc_brian2"},
}


def main(spec_path, benchmark="vs"):
    with open(spec_path) as fh:
        spec = json.load(fh)
    modules = MODULES[benchmark]
    kind = spec["kind"]
    if kind not in modules:
        raise ValueError(f"spec kind must be one of {sorted(modules)}, got {kind!r}")
    result = importlib.import_module(modules[kind]).measure(spec)
    # imported only now: neuroimc pulls in numba, which must not count in a Brian2 worker's memory
    from neuroimc._io import write_json

    write_json(spec["result_path"], result)


if __name__ == "__main__":
    main(*sys.argv[1:])
