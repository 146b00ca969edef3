"""One measurement in a fresh process: ``python _worker.py SPEC.json [vs|dc]``.

The spec says what to measure (``kind``) and where to write the result; the
benchmark (``vs``: ``bench_vs_brian2``, the default; ``dc``: ``bench_stdp_digits``)
says which module measures each kind.  A fresh process per measurement keeps
the peak-memory figures separate and Brian2's global device state
(cpp_standalone) out of the next run.  The result file is written only on
success (atomically); the caller reads the error from the log otherwise.

:func:`launch` is the benchmarks' side: it starts one such process and waits.
"""
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

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


def launch(spec, benchmark, timeout, workdir, progress=False):
    """Measure ``spec`` in a fresh worker process; its result dict, or ``{"error": ...}``.

    The spec goes to a temporary file in ``workdir``, beside the worker's log.  With ``progress``
    the worker's stderr (its progress bar, and a traceback) goes to this terminal, and the spec
    asks for a bar; otherwise stderr goes to the log, whose tail a failure reports.  After
    ``timeout`` seconds the worker's whole process group (make, a standalone binary) is killed.
    """
    fd, spec_path = tempfile.mkstemp(dir=workdir, prefix="spec-", suffix=".json")
    result_path = spec_path[:-5] + "-result.json"
    with os.fdopen(fd, "w") as fh:
        json.dump(dict(spec, result_path=result_path, progress=progress), fh)
    log_path = spec_path[:-5] + ".log"
    t0 = time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, "_worker.py"), spec_path, benchmark], stdout=log,
                                stderr=None if progress else subprocess.STDOUT, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return {"error": f"timed out after {timeout:.0f} s"}
    if rc != 0 or not os.path.exists(result_path):
        with open(log_path, errors="replace") as fh:
            tail = fh.read()[-3000:]
        return {"error": f"worker exited with code {rc}" + (" (traceback above)" if progress else ""),
                "log_tail": tail}
    with open(result_path) as fh:
        result = json.load(fh)
    result["worker_wall_s"] = time.perf_counter() - t0
    return result


if __name__ == "__main__":
    main(*sys.argv[1:])
