"""Peak resident memory of the current process.

``VmHWM`` in ``/proc/self/status`` is the high-water mark of this process's
own address space; it restarts at ``exec``.  ``getrusage``'s ``ru_maxrss`` is
not used first because Linux carries it across ``fork``/``exec``: a worker
started from a large parent would report the parent's size.
"""
import resource


def peak_rss_mb():
    """``{"peak_rss_mb": ..., "peak_rss_source": ...}`` for this process (MiB)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return {"peak_rss_mb": int(line.split()[1]) / 1024.0, "peak_rss_source": "VmHWM"}
    except OSError:
        pass
    return {
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "peak_rss_source": "ru_maxrss (may include the parent's size at fork)",
    }


def parse_vmhwm_kb(text):
    """The ``VmHWM`` value (kB) from the text of a ``/proc/<pid>/status`` file."""
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise ValueError("no VmHWM line in the status text")
