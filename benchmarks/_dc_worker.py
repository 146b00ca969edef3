"""One part of the training benchmark in a fresh process: ``python _dc_worker.py SPEC.json``.

``kind`` is ``neuroimc`` (``_dc_neuroimc``) or ``brian2`` (``_dc_brian2``).  A
fresh process per part keeps each simulator's memory peak its own and Brian2's
global device state (cpp_standalone) out of the next part.  The result file is
written only on success (atomically); the caller reads the error from the log.
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
        import _dc_neuroimc as impl
    elif kind == "brian2":
        import _dc_brian2 as impl
    else:
        raise ValueError(f"spec kind must be 'neuroimc' or 'brian2', got {kind!r}")
    result = impl.measure(spec)
    # imported only now: neuroimc pulls in numba, which must not count in a Brian2 worker's memory
    from neuroimc._io import write_json

    write_json(spec["result_path"], result)


if __name__ == "__main__":
    main(sys.argv[1])
