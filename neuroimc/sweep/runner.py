"""Running a sweep: the tasks of a grid times a set of chip seeds, on Dask or in-process.

Each task calls ``function(**params, seed=seed)``, which builds a network
seeded from ``seed`` (so that its device sampling, noise and inputs — the chip
instance — are reproducible), runs it and returns a dict of metrics.  Tasks run
on a Dask distributed cluster: by default a :class:`~distributed.LocalCluster`
of worker *processes* (one thread each: the numba engine holds the GIL between
chunks, and a network's background catch-up thread runs only where the workers
leave a core over: ``NEUROIMC_THREADS``) that the sweep creates and closes; a
scheduler address or an existing ``Client`` runs them on a real cluster.
``scheduler="serial"`` runs them one after another in this process, for
debugging (breakpoints, no pickling).

Results are collected as they complete (``as_completed``), so the progress
bar moves and each task's cache file is written the moment it finishes: an
interrupted sweep (Ctrl-C, a killed job) loses only the tasks that were
running, and a restart with the same cache folder runs only what is missing.

Scripts that start a local cluster must guard their entry point with
``if __name__ == "__main__":``: worker processes are spawned and import the
main module.
"""
import logging
import numbers
import time
import traceback

from tqdm.auto import tqdm

from ..kernels.background import usable_cores
from .cache import TaskCache
from .result import SweepResult
from .tasks import execute, execute_pickled, failure, make_tasks

#: workers of the default local cluster (one process per core of a small machine)
DEFAULT_WORKERS = 2


def sweep(function, grid=None, seeds=1, *, cache=None, scheduler=None, workers=DEFAULT_WORKERS, name=None,
          retry_failed=True, progress=True):
    """Run ``function`` over a parameter grid and a set of chip seeds; return a :class:`SweepResult`.

    Parameters
    ----------
    function : callable
        ``function(**params, seed=seed) -> dict`` of metrics (numbers,
        strings, booleans, None, lists / dicts / numpy arrays of them).  It
        must seed everything random from ``seed`` (``Network(seed=seed)``,
        ``np.random.default_rng(seed)``) so that a rerun gives the same row.
        With a cluster it must be picklable (module-level functions are;
        cloudpickle also ships functions defined in ``__main__``).
    grid : dict or list of dict, optional
        ``{"rate": [5, 10, 20], "w": [1e-12, 2e-12]}`` runs every combination
        (in this order); a list of dicts runs exactly those points.  Default:
        one point without parameters.
    seeds : int or sequence of int
        Chip instances: a count ``n`` means seeds ``0..n-1``.
    cache : str or path, optional
        Folder for one result file per task.  A rerun with the same folder
        reads finished tasks instead of running them.  Default: no cache.
    scheduler : None, "local", "serial", str, Client or cluster
        ``None``/``"local"``: a LocalCluster of ``workers`` processes, closed
        at the end; ``"serial"``: in this process; an address
        (``"tcp://host:8786"``), a ``distributed.Client`` (left open) or a
        cluster object (anything with ``scheduler_address``).
    workers : int
        Worker processes of the default local cluster.
    name : str, optional
        Name of the experiment in the cache keys; default the function's
        qualified name.  Change it (or the cache folder) after changing what
        the function computes.
    retry_failed : bool
        Run again tasks whose cached record is a failure (default); ``False``
        keeps the cached failure.
    progress : bool
        Show a progress bar over tasks.

    A task that raises is recorded as failed (``result.failed``) and the
    others go on; ``KeyboardInterrupt`` stops the sweep after cancelling the
    remaining tasks, keeping every finished task in the cache.
    """
    if not callable(function):
        raise TypeError(f"function must be callable, got {type(function).__name__}")
    name = _function_name(function) if name is None else name
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string, got {name!r}")
    workers = _workers(workers)
    _check_scheduler(scheduler)
    if not isinstance(progress, (bool, int)):
        raise TypeError(f"progress must be True or False, got {progress!r}")
    tasks = make_tasks(name, {} if grid is None else grid, seeds)
    params = list(tasks[0].params)
    store = None if cache is None else TaskCache(cache)

    t0 = time.perf_counter()
    done = {}  # task index -> (record, cached)
    if store is not None:
        for task in tasks:
            record = store.load(name, task)
            if record is not None and (record["status"] == "ok" or not retry_failed):
                done[task.index] = (record, True)
    todo = [t for t in tasks if t.index not in done]

    with tqdm(total=len(tasks), initial=len(done), unit="task", desc="sweep", disable=not progress) as bar:
        n_failed = sum(r["status"] == "failed" for r, _ in done.values())

        def finished(task, record):
            nonlocal n_failed
            if store is not None:
                store.store(name, task, record)
            done[task.index] = (record, False)
            n_failed += record["status"] == "failed"
            bar.update(1)
            if n_failed:
                bar.set_postfix(failed=n_failed)

        if todo:
            if isinstance(scheduler, str) and scheduler == "serial":
                for task in todo:
                    finished(task, execute(function, task.params, task.seed))
            else:
                _run_on_dask(function, todo, finished, scheduler, workers)

    rows = [_row(t, *done[t.index]) for t in tasks]
    return SweepResult(rows, params, name, wall_s=time.perf_counter() - t0)


def _function_name(function):
    qualname = getattr(function, "__qualname__", None)
    if qualname is None:
        raise TypeError(
            f"function {function!r} has no qualified name (a functools.partial or callable object?); "
            "pass name=... to key its cache"
        )
    return f"{getattr(function, '__module__', None) or '?'}.{qualname}"


def _check_scheduler(scheduler):
    # duck-typed so that checking needs no Dask import: a Client has submit, a cluster scheduler_address
    if not (scheduler is None or isinstance(scheduler, str) or hasattr(scheduler, "scheduler_address")
            or hasattr(scheduler, "submit")):
        raise TypeError(
            "scheduler must be None, 'local', 'serial', a scheduler address, a distributed.Client or a cluster; "
            f"got {type(scheduler).__name__}"
        )


def _workers(workers):
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    return int(workers)


def _row(task, record, cached):
    row = {**task.params, "seed": task.seed, "status": record["status"]}
    if record["status"] == "ok":
        row.update(record["metrics"])
    row["wall_s"] = record.get("wall_s")
    row["cached"] = cached
    if record["status"] == "failed":
        row.update(error_type=record["error_type"], error=record["error"], traceback=record["traceback"])
    return row


def _run_on_dask(function, todo, finished, scheduler, workers):
    """Submit ``todo`` to a Dask cluster and hand each record to ``finished`` as it completes."""
    try:
        from distributed import as_completed
    except ImportError:  # pragma: no cover - dask is a requirement, this only guards odd installs
        raise ImportError(
            "sweeps on a cluster need Dask distributed: pip install 'dask[distributed]' "
            "(or run with scheduler='serial')"
        ) from None
    payload = _pickled(function)
    client, owned = _connect(scheduler, workers)
    futures = {}
    try:
        for task in todo:
            fut = client.submit(execute_pickled, payload, task.params, task.seed, pure=False,
                                key=f"neuroimc-sweep-{task.key[:12]}-{time.monotonic_ns()}")
            futures[fut] = task
        for fut in as_completed(list(futures)):
            task = futures.pop(fut)
            try:
                record = fut.result()
            except Exception as exc:  # the worker died or the task could not be shipped
                record = failure(exc, None, "".join(traceback.format_exception(exc)))
            fut.release()
            finished(task, record)
    finally:
        if futures:  # interrupted: do not leave work running on a shared cluster
            client.cancel(list(futures))
        for obj in owned:
            obj.close()


def _pickled(function):
    """``function`` as cloudpickle bytes (by value for ``__main__`` and sweep-file modules).

    Fails before a cluster is started, with a message that says what to do.
    """
    import cloudpickle

    try:
        return cloudpickle.dumps(function)
    except Exception as exc:
        raise TypeError(
            f"function {_function_name(function) if hasattr(function, '__qualname__') else function!r} cannot be "
            f"sent to Dask workers ({type(exc).__name__}: {exc}); define it at module level without unpicklable "
            "state (locks, open files), or run with scheduler='serial'"
        ) from None


def _connect(scheduler, workers):
    """A Client for ``scheduler`` and the objects this sweep opened (to close)."""
    from distributed import Client, LocalCluster

    if scheduler is None or (isinstance(scheduler, str) and scheduler == "local"):
        # the workers share the cores: a network's background catch-up thread only where one is left over
        threads = max(1, min(2, usable_cores() // workers))
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR, env={"NEUROIMC_THREADS": str(threads)})
        client = Client(cluster)
        return client, [client, cluster]
    if isinstance(scheduler, Client):
        return scheduler, []
    client = Client(scheduler)  # an address or a cluster object
    return client, [client]
