"""Interoperability with Brian2: twins, reference runs, comparisons, deployment.

Brian2 (https://brian2.readthedocs.io) is neuroimc's reference simulator.  This
subpackage is the only place that imports it:

* :func:`to_brian2` builds the Brian2 twin of a neuroimc network (same LIF
  equations, same inputs, crossbars as ``Synapses`` holding the weights,
  plastic crossbars as ``Synapses`` with the same STDP rule);
* :func:`reference_run` runs a network and its twin from the same state and
  returns both results; :func:`compare` reports how far they agree;
* :func:`from_brian2` deploys a Brian2 network (its trained synapses, and
  pair-STDP synapses as learning crossbars) onto memristive crossbars and
  returns a neuroimc network;
* :func:`run_suite` is the validation suite behind ``neuroimc validate``.

Import it explicitly (``from neuroimc import brian``); ``import neuroimc``
alone never loads Brian2.
"""
try:
    import brian2  # noqa: F401  (fail here, with a useful message, not deep inside)
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "neuroimc.brian needs Brian2; install it with  pip install 'brian2>=2.7'  "
        f"(original error: {exc})"
    ) from exc

from .build import LIF_EQUATIONS, to_brian2
from .compare import Comparison, PopulationComparison, WeightComparison, compare
from .deploy import Brian2MappingError, from_brian2, target_weights
from .results import PopulationRecord, ReferenceRun, RunResult, WeightRecord
from .run import reference_run
from .validate import run_suite

__all__ = [
    "Brian2MappingError",
    "Comparison",
    "LIF_EQUATIONS",
    "PopulationComparison",
    "PopulationRecord",
    "ReferenceRun",
    "RunResult",
    "WeightComparison",
    "WeightRecord",
    "compare",
    "from_brian2",
    "reference_run",
    "run_suite",
    "target_weights",
    "to_brian2",
]
