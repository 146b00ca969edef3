"""Numba kernels.  Everything that runs per time step lives here."""
