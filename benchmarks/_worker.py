"""One measurement in a fresh process: ``python _worker.py SPEC.json``.

The spec says what to measure (``kind``: ``neuroimc``, ``brian2`` or
``bandwidth``) and where to write the result; a fresh process per measurement
keeps the peak-memory figures separate and Brian2's global device state out of
the next run.  The result file is written only on success (atomically); the
caller reads the error from stderr otherwise.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main(spec_path):
    with open(spec_path) as fh:
        spec = json.load(fh)
    kind = spec["kind"]
    if kind == "neuroimc":
        import _neuroimc_nets as impl
    elif kind == "brian2":
        import _brian2_nets as impl
    elif kind == "bandwidth":
        import _membw as impl
    else:
        raise ValueError(f"spec kind must be 'neuroimc', 'brian2' or 'bandwidth', got {kind!r}")
    result = impl.measure(spec)
    # imported only now: neuroimc pulls in numba, which must not count in a Brian2 worker's memory
    from neuroimc._io import write_json

    write_json(spec["result_path"], result)


if __name__ == "__main__":
    main(sys.argv[1])
