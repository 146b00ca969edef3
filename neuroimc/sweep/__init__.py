"""Parameter sweeps and Monte Carlo over chip instances, on Dask.

A sweep runs one function over a grid of parameters times a set of *chip
seeds*.  Each seed is one manufactured chip: the seed of the network the
function builds, hence of its device-to-device sampling, noise and inputs.
Spread over seeds is spread over chips.

Example::

    from neuroimc.sweep import sweep

    def measure(rate, seed):
        net, spikes = build_network(rate, seed)    # ni.Network(seed=seed) inside
        net.run(0.5, progress=False)
        return {"out_rate": len(spikes) / 0.5}

    if __name__ == "__main__":                      # workers import the main module
        res = sweep(measure, {"rate": [5, 10, 20]}, seeds=32, cache="out/cache")
        res.to_csv("rates.csv")
        res.plot("rate", "out_rate").figure.savefig("rates.png")

Modules: :mod:`.tasks` (what one task is, its key, its checks),
:mod:`.cache` (one file per finished task), :mod:`.runner` (Dask or serial
execution), :mod:`.result` (the tidy table, statistics over seeds, plots),
:mod:`.spec` (sweep files) and :mod:`.command` (``neuroimc sweep``).
"""
from .command import add_sweep_parser, run_sweep_command
from .result import SweepResult
from .runner import sweep
from .spec import load_spec

__all__ = ["SweepResult", "add_sweep_parser", "load_spec", "run_sweep_command", "sweep"]
