"""Wire resistance of a crossbar: IR drop along rows and columns during a read.

The circuit
-----------
A crossbar of ``n_rows x n_cols`` devices with conductances ``G[i, j]``
(siemens).  Row ``i`` is a metal wire driven at its left end by a voltage
source ``v_rows[i]`` (``V_read`` for a row whose presynaptic neuron spiked in
this step, ``0`` otherwise: the driver of an unselected row holds it at 0 V,
it does not leave it floating).  Column ``j`` is a metal wire held at virtual
ground (0 V) at its bottom end by the sensing periphery (a transimpedance
amplifier or current integrator), which measures the column current ``I[j]``.

Each cell ``(i, j)`` has two circuit nodes: a node on the row wire and a node
on the column wire, joined by the device.  Neighbouring nodes along a wire are
joined by one wire segment of ``r_row`` (row) or ``r_col`` (column) ohms, and
one more segment joins each wire to its terminal::

    driver i --r_row-- (i,0) --r_row-- (i,1) -- ... --r_row-- (i,n_cols-1)     row wire i
                         |               |                        |
                      G[i,0]          G[i,1]                G[i,n_cols-1]      devices
                         |               |                        |
                       (i,0)c          (i,1)c                  ...             column-wire nodes
                         |r_col          |r_col
                        ...             ...
    (n_rows-1, j)c --r_col-- sense amplifier j (0 V)

so the cell ``(i, j)`` is ``j + 1`` row segments from its driver and
``n_rows - i`` column segments from its sense amplifier.  Row 0 is the row
farthest from the sense amplifiers; column ``n_cols - 1`` is the column
farthest from the drivers.  With ``r_row = r_col = 0`` the read is ideal:
``I = v_rows @ G`` (Ohm's law per device, Kirchhoff's current law per column).

Superposition
-------------
The network is linear (resistors and voltage sources) and every terminal is
held at a fixed voltage, so the column currents are a linear function of the
row voltages::

    I[j] = sum_i v_rows[i] * G_eff[i, j]

where ``G_eff[i, j]`` is the current into sense amplifier ``j`` per volt on
row ``i`` while every other row is held at 0 V.  ``G_eff`` (siemens, same
shape as ``G``) therefore replaces ``G`` in the event-driven row read *exactly*,
for any number of rows read in the same step: reading row ``i`` adds
``V_read * G_eff[i, :]`` to the columns, just as the ideal read adds
``V_read * G[i, :]``.  ``G_eff[i, j]`` can exceed ``G[i, j]`` for a weak device
next to strong ones: current that leaks from another column into the
(imperfectly grounded) wire of an unselected row can reach column ``j``
through that row's devices (a sneak path).

This module computes ``G_eff`` in two ways:

* :func:`effective_conductance_exact` / :class:`CrossbarCircuit`: nodal
  analysis of the whole network (``2 n_rows n_cols`` unknowns), one sparse LU
  factorisation and ``min(n_rows, n_cols)`` triangular solves.  Exact.
* :func:`effective_conductance`: a fast model, ``O(n_rows n_cols)``, built from
  independent tridiagonal ladder solves along each row and each column (see
  :func:`ir_drop_factors`).  It is the exact ``G_eff`` of the network in which
  the wires of the *unselected* rows are ideal, so its only error is the
  current that the wire resistance of unselected rows returns into the
  columns (sneak paths).

:class:`IRDropModel` combines them for a simulation whose conductances change
(programming, learning): an exact solve at a reference state, then the fast
model's *change* added to it after every conductance change.  The sneak-path
term that the fast model misses changes little when the conductances change
a little, so the tracked matrix stays close to exact at the fast model's cost.

Argument checks raise ``ValueError``/``TypeError`` naming the parameter, its
value and what is allowed.
"""
from dataclasses import dataclass

import numpy as np

from . import _checks

__all__ = [
    "CircuitSolution",
    "CrossbarCircuit",
    "IRDropModel",
    "column_currents_exact",
    "effective_conductance",
    "effective_conductance_exact",
    "ir_drop_factors",
]

# Right-hand sides solved per LU back-substitution call when building G_eff:
# bounds the dense work array to 2 * n_rows * n_cols * _RHS_BLOCK floats.
_RHS_BLOCK = 64

# Smallest nonzero wire resistance accepted, ohms.  Below it the IR drop of any
# realistic array is under double-precision rounding, while 1/r approaches
# overflow; an ideal wire is r = 0, which eliminates the wire's nodes.
R_MIN = 1e-12


def _check_crossbar(G, r_row, r_col):
    G = _checks.real_array("G", G, ndim=2, low=0.0)
    if 0 in G.shape:
        raise ValueError(f"G must have at least one row and one column, got shape {G.shape}")
    r_row = _checks.non_negative("r_row", r_row)
    r_col = _checks.non_negative("r_col", r_col)
    for name, r in (("r_row", r_row), ("r_col", r_col)):
        if 0.0 < r < R_MIN:
            raise ValueError(f"{name} must be 0 (an ideal wire) or >= {R_MIN} ohm, got {r}")
    return G, r_row, r_col


def _check_inputs(v_rows, n_rows):
    """Return ``v_rows`` as a 2-D float array ``(k, n_rows)`` and whether it was 1-D."""
    v = _checks.real_array("v_rows", v_rows)
    if v.ndim == 1 and v.shape[0] == n_rows:
        return v[None, :], True
    if v.ndim == 2 and v.shape[1] == n_rows:
        return v, False
    raise ValueError(
        f"v_rows must have shape (n_rows,) = ({n_rows},) or (k, {n_rows}) for k read patterns, got shape {v.shape}"
    )


@dataclass(frozen=True)
class CircuitSolution:
    """Node voltages and terminal currents of one or more reads.

    For ``k`` read patterns the arrays carry a leading axis of length ``k``;
    for a single pattern (``v_rows`` 1-D) they do not.

    Attributes
    ----------
    v_row_wire : ndarray, shape ([k,] n_rows, n_cols)
        Voltage of the row-wire node of each cell, volts.
    v_col_wire : ndarray, shape ([k,] n_rows, n_cols)
        Voltage of the column-wire node of each cell, volts.
    column_currents : ndarray, shape ([k,] n_cols)
        Current into each sense amplifier, amperes (positive into the periphery).
    source_currents : ndarray, shape ([k,] n_rows)
        Current delivered by each row driver, amperes (negative for a grounded
        row that sinks leakage from the columns).
    G : ndarray, shape (n_rows, n_cols)
        The device conductances the solution belongs to, siemens.
    """

    v_row_wire: np.ndarray
    v_col_wire: np.ndarray
    column_currents: np.ndarray
    source_currents: np.ndarray
    G: np.ndarray

    @property
    def device_currents(self):
        """Current through each device from row wire to column wire, amperes."""
        return self.G * (self.v_row_wire - self.v_col_wire)


class CrossbarCircuit:
    """Exact nodal model of a crossbar read with resistive wires.

    The node-voltage equations (Kirchhoff's current law at every row-wire and
    column-wire node) form a symmetric positive-definite sparse system
    ``A x = B v_rows``; ``A`` depends only on ``G`` and the wire resistances,
    so it is factorised once (sparse LU, SuperLU) when the circuit is built and
    reused for every read pattern.  A wire resistance of exactly 0 makes that
    wire an equipotential: its nodes are eliminated instead of given an
    infinite conductance.

    Parameters
    ----------
    G : array_like, shape (n_rows, n_cols)
        Device conductances, siemens, ``>= 0``.
    r_row, r_col : float
        Resistance of one row-wire / column-wire segment between neighbouring
        cells (and between the end cell and its terminal), ohms, ``>= 0``.

    Notes
    -----
    Column and source currents are summed from the device currents
    ``G * (v_row_wire - v_col_wire)`` rather than read from the terminal wire
    segments: the two agree by Kirchhoff's law, but the device form keeps its
    relative accuracy when the wire resistance is tiny (a terminal segment
    current would be a large conductance times a tiny, poorly resolved
    voltage).
    """

    def __init__(self, G, r_row, r_col):
        G, r_row, r_col = _check_crossbar(G, r_row, r_col)
        self.G = G
        self.r_row = r_row
        self.r_col = r_col
        self._assemble()

    @property
    def shape(self):
        """``(n_rows, n_cols)``."""
        return self.G.shape

    def _assemble(self):
        import scipy.sparse as sp
        from scipy.sparse.linalg import splu

        G = self.G
        n, m = G.shape
        cells = np.arange(n * m).reshape(n, m)
        row_free, col_free = self.r_row > 0, self.r_col > 0
        # Unknown node numbers; None for a wire that is an equipotential
        # (row wire at its driver's voltage, column wire at 0 V).
        self._row_node = cells if row_free else None
        self._col_node = (cells + (n * m if row_free else 0)) if col_free else None
        size = n * m * (int(row_free) + int(col_free))
        a_i, a_j, a_v = [], [], []  # A
        b_i, b_j, b_v = [], [], []  # B: node <- input row
        c_i, c_j, c_v = [], [], []  # C: output column <- node
        D = np.zeros((m, n))        # output column <- input row, directly

        def conductance(p, q, g):
            """Stamp a conductance g between unknown nodes p and q (arrays)."""
            p, q = p.ravel(), q.ravel()
            g = np.broadcast_to(g, p.shape) if np.ndim(g) == 0 else np.ravel(g)
            a_i.extend((p, q, p, q))
            a_j.extend((p, q, q, p))
            a_v.extend((g, g, -g, -g))

        def to_fixed(p, g):
            """Stamp a conductance g from unknown nodes p to a fixed-voltage node."""
            p = p.ravel()
            a_i.append(p)
            a_j.append(p)
            a_v.append(np.broadcast_to(g, p.shape) if np.ndim(g) == 0 else np.ravel(g))

        rows_of_cells = np.repeat(np.arange(n), m)
        cols_of_cells = np.tile(np.arange(m), n)
        # devices, and the output map I[j] = sum_i G[i, j] (Vr[i, j] - Vc[i, j])
        if row_free and col_free:
            conductance(self._row_node, self._col_node, G)
        elif row_free:
            to_fixed(self._row_node, G)  # column wire is ground
        elif col_free:
            to_fixed(self._col_node, G)  # row wire is at its driver's voltage
            b_i.append(self._col_node.ravel())
            b_j.append(rows_of_cells)
            b_v.append(G.ravel())
        if row_free:
            c_i.append(cols_of_cells)
            c_j.append(self._row_node.ravel())
            c_v.append(G.ravel())
        else:
            D += G.T
        if col_free:
            c_i.append(cols_of_cells)
            c_j.append(self._col_node.ravel())
            c_v.append(-G.ravel())
        # row wires: segments between neighbours, first segment to the driver
        if row_free:
            g = 1.0 / self.r_row
            conductance(self._row_node[:, :-1], self._row_node[:, 1:], g)
            to_fixed(self._row_node[:, 0], g)
            b_i.append(self._row_node[:, 0])
            b_j.append(np.arange(n))
            b_v.append(np.full(n, g))
        # column wires: segments between neighbours, last segment to the sense amplifier
        if col_free:
            g = 1.0 / self.r_col
            conductance(self._col_node[:-1, :], self._col_node[1:, :], g)
            to_fixed(self._col_node[-1, :], g)

        self._D = D
        if size == 0:
            self._lu = None
            return

        def build(i, j, v, shape):
            return sp.coo_matrix((np.concatenate(v), (np.concatenate(i), np.concatenate(j))), shape=shape).tocsc()

        A = build(a_i, a_j, a_v, (size, size))
        self._B = build(b_i, b_j, b_v, (size, n))
        self._C = build(c_i, c_j, c_v, (m, size))
        # A is a conductance (Laplacian-like) matrix: symmetric, so a symmetric
        # fill-reducing ordering keeps the factors small.
        self._lu = splu(A, permc_spec="MMD_AT_PLUS_A")

    def solve(self, v_rows):
        """Node voltages and currents for one read pattern or a batch of them.

        Parameters
        ----------
        v_rows : array_like, shape (n_rows,) or (k, n_rows)
            Driver voltage of each row, volts (0 for unselected rows).

        Returns
        -------
        CircuitSolution
        """
        n, m = self.shape
        v, single = _check_inputs(v_rows, n)
        k = v.shape[0]
        if self._lu is not None:
            x = self._lu.solve(np.asarray(self._B @ v.T))  # (size, k)
        if self._row_node is not None:
            vr = x[self._row_node.ravel()].T.reshape(k, n, m)
        else:
            vr = np.repeat(v[:, :, None], m, axis=2)
        if self._col_node is not None:
            vc = x[self._col_node.ravel()].T.reshape(k, n, m)
        else:
            vc = np.zeros((k, n, m))
        device = self.G * (vr - vc)
        sol = CircuitSolution(vr, vc, device.sum(axis=1), device.sum(axis=2), self.G)
        if single:
            sol = CircuitSolution(vr[0], vc[0], sol.column_currents[0], sol.source_currents[0], self.G)
        return sol

    def column_currents(self, v_rows):
        """Currents into the sense amplifiers, amperes, shape ``([k,] n_cols)``."""
        n, _ = self.shape
        v, single = _check_inputs(v_rows, n)
        out = v @ self._D.T
        if self._lu is not None:
            out = out + np.asarray(self._C @ self._lu.solve(np.asarray(self._B @ v.T))).T
        return out[0] if single else out

    def effective_conductance(self, progress=False):
        """Exact ``G_eff`` (siemens, ``(n_rows, n_cols)``): column current per volt on each row.

        Row ``i`` of ``G_eff`` is the response to 1 V on row ``i`` with all
        other rows grounded, so ``v_rows @ G_eff`` equals
        :meth:`column_currents` for every pattern (superposition).  Costs
        ``min(n_rows, n_cols)`` solves with the stored factorisation: the
        matrix ``A`` is symmetric, so ``G_eff = (C A^-1 B)^T`` can be formed
        from either side.

        Parameters
        ----------
        progress : bool
            Show a tqdm bar over blocks of right-hand sides.
        """
        n, m = self.shape
        T = self._D.T.copy()
        if self._lu is None:
            return T
        from_rows = n <= m
        # from_rows: solve A X = B (one column per input row), T^T = C X;
        # else:      solve A Y = C^T (one column per output), T = B^T Y.
        rhs, lhs = (self._B, self._C) if from_rows else (self._C.T.tocsc(), self._B.T.tocsr())
        count = rhs.shape[1]
        blocks = range(0, count, _RHS_BLOCK)
        if progress:
            from tqdm.auto import tqdm

            blocks = tqdm(blocks, desc="G_eff (exact)", unit="block", leave=False)
        for s in blocks:
            e = min(s + _RHS_BLOCK, count)
            part = np.asarray(lhs @ self._lu.solve(rhs[:, s:e].toarray()))
            if from_rows:
                T[s:e, :] += part.T
            else:
                T[:, s:e] += part
        return T


def column_currents_exact(G, v_rows, r_row, r_col):
    """Exact column currents of a read with resistive wires, amperes.

    Solves the nodal equations of the whole crossbar (see the module
    docstring for the circuit).  To read many patterns from the same
    conductances, build a :class:`CrossbarCircuit` once instead.

    Parameters
    ----------
    G : array_like, shape (n_rows, n_cols)
        Device conductances, siemens.
    v_rows : array_like, shape (n_rows,) or (k, n_rows)
        Row driver voltages, volts (0 for unselected rows).
    r_row, r_col : float
        Wire resistance per cell along rows / columns, ohms.

    Returns
    -------
    ndarray, shape (n_cols,) or (k, n_cols)
    """
    return CrossbarCircuit(G, r_row, r_col).column_currents(v_rows)


def effective_conductance_exact(G, r_row, r_col, progress=False):
    """Exact effective conductance matrix ``G_eff`` of a crossbar with resistive wires.

    ``G_eff[i, j]`` is the current into sense amplifier ``j`` per volt on row
    ``i`` with every other row held at 0 V; by superposition
    ``I = v_rows @ G_eff`` exactly for every read pattern.  Cost: one sparse
    LU of ``2 n_rows n_cols`` unknowns plus ``min(n_rows, n_cols)`` solves
    (measured in ``benchmarks/bench_ir_drop.py``).
    """
    return CrossbarCircuit(G, r_row, r_col).effective_conductance(progress=progress)


def _ladder_solve(diag, g, rhs):
    """Solve tridiagonal systems with diagonal ``diag`` and off-diagonals ``-g``.

    ``diag`` and ``rhs`` have shape ``(L, batch)``: one ladder per column of
    the arrays, solved along axis 0 (Thomas algorithm, stable here because
    every ladder matrix is diagonally dominant).
    """
    L = diag.shape[0]
    c = np.empty_like(diag)
    d = np.empty_like(diag)
    c[0] = -g / diag[0]
    d[0] = rhs[0] / diag[0]
    for k in range(1, L):
        den = diag[k] + g * c[k - 1]
        c[k] = -g / den
        d[k] = (rhs[k] + g * d[k - 1]) / den
    x = np.empty_like(diag)
    x[-1] = d[-1]
    for k in range(L - 2, -1, -1):
        x[k] = d[k] - c[k] * x[k + 1]
    return x


def _ladder_inverse_diagonal(diag, g):
    """Diagonal of the inverse of the ladder matrices of :func:`_ladder_solve`.

    Entry ``k`` is the driving-point resistance of node ``k``: with ``l_k``
    and ``r_k`` the Schur complements of the ladder eliminated from its two
    ends up to node ``k``, ``(M^-1)_kk = 1 / (l_k + r_k - diag_k)``.
    """
    L = diag.shape[0]
    left = np.empty_like(diag)
    right = np.empty_like(diag)
    left[0] = diag[0]
    for k in range(1, L):
        left[k] = diag[k] - g * g / left[k - 1]
    right[-1] = diag[-1]
    for k in range(L - 2, -1, -1):
        right[k] = diag[k] - g * g / right[k + 1]
    return 1.0 / (left + right - diag)


def ir_drop_factors(G, r_row, r_col):
    """Attenuation factors of the fast IR-drop model: ``G_eff = G * cell_voltage * reach``.

    The model reads one row ``i`` at a time (superposition makes that
    sufficient) and treats the wires of the unselected rows as ideal, i.e.
    every unselected device is a conductance from its column wire to ground.
    Everything else is kept exactly, and the network then splits into
    independent ladders solved in ``O(n_rows n_cols)``:

    * **Column ladder** ``j``: the column wire (segments ``r_col``, sense
      amplifier at the bottom) with every device ``G[k, j]`` to ground.  The
      device of the read row injects its short-circuit current
      ``G[i, j] * V_cell`` at node ``i`` (Norton form: the same device is one of
      the conductances to ground).  ``reach[i, j]`` is the fraction of that
      current which arrives at the sense amplifier, from one tridiagonal solve
      per column (the ladder matrix is symmetric, so the row of its inverse
      for the sense node gives every ``i`` at once).
    * **Row ladder** ``i``: the row wire (segments ``r_row``, driver at the
      left) loaded at each cell by its device in series with the rest of the
      column network seen from that cell (the column's driving-point
      resistance, from the diagonal of the inverse column ladder).
      ``cell_voltage[i, j]`` is the row-wire voltage at cell ``(i, j)`` per volt
      on the driver, from one tridiagonal solve per row.

    With ``r_col = 0`` (``reach = 1``) or ``r_row = 0`` (``cell_voltage = 1``)
    the model is exact; otherwise it is the exact ``G_eff`` of the crossbar
    whose unselected row wires are ideal, and it misses only the current
    that leaks from the columns into unselected rows and returns through their
    resistive wires into other columns.  Both factors lie in ``(0, 1]``, so
    ``0 <= G_eff <= G``.

    Parameters
    ----------
    G : array_like, shape (n_rows, n_cols)
        Device conductances, siemens.
    r_row, r_col : float
        Wire resistance per cell along rows / columns, ohms.

    Returns
    -------
    cell_voltage, reach : ndarray, shape (n_rows, n_cols)
        Dimensionless.
    """
    G, r_row, r_col = _check_crossbar(G, r_row, r_col)
    n, m = G.shape
    if r_col > 0:
        g = 1.0 / r_col
        # node i of a column: its device, the segment below (to node i+1 or
        # the sense amplifier) and, except at the top, the segment above
        diag = G + g
        diag[1:] += g
        sense = np.zeros_like(G)
        sense[-1] = 1.0
        reach = g * _ladder_solve(diag, g, sense)
        # the read device sees the column network in series: its load on the
        # row wire is G in series with the column's driving-point resistance
        # without that device, i.e. G * (1 - G * z) with z the driving-point
        # resistance with it
        load = G * (1.0 - G * _ladder_inverse_diagonal(diag, g))
    else:
        reach = np.ones_like(G)
        load = G
    if r_row > 0:
        g = 1.0 / r_row
        # node j of a row: its load, the segment towards the driver and,
        # except at the far end, the segment to node j+1
        diag = (load + g).T.copy()
        diag[:-1] += g
        drive = np.zeros_like(diag)
        drive[0] = g
        cell_voltage = _ladder_solve(diag, g, drive).T
    else:
        cell_voltage = np.ones_like(G)
    return cell_voltage, reach


def effective_conductance(G, r_row, r_col):
    """Fast effective conductance matrix ``G_eff`` (siemens) for reads with resistive wires.

    Use it in place of ``G`` in the row read: a spike on row ``i`` adds
    ``V_read * G_eff[i, :]`` to the column currents, and several rows read in
    the same step add up (the circuit is linear).  Recompute it when the
    conductances change: cost ``O(n_rows n_cols)`` (six sweeps along the wires,
    vectorised with numpy: about 0.6 ms at 64x64 and 1.4 ms at 128x128).  See :func:`ir_drop_factors`
    for the model and its one approximation, and
    :func:`effective_conductance_exact` for the exact matrix.
    """
    G, r_row, r_col = _check_crossbar(G, r_row, r_col)
    cell_voltage, reach = ir_drop_factors(G, r_row, r_col)
    return G * cell_voltage * reach


class IRDropModel:
    """Effective conductance of a crossbar whose conductances change, kept near-exact cheaply.

    At construction (and at every :meth:`refresh`) ``G_eff`` is solved exactly
    (:func:`effective_conductance_exact`) at the reference conductances
    ``G_ref``.  After a change to ``G``, :meth:`update` sets::

        G_eff(G) = G_eff_exact(G_ref) + fast(G) - fast(G_ref)

    with ``fast`` = :func:`effective_conductance`, at the fast model's cost
    ``O(n_rows n_cols)``.  The correction is exact wherever the fast model is
    (``r_row = 0`` or ``r_col = 0``) and its error is the change of the
    sneak-path term between ``G_ref`` and ``G``, which is small when the
    change is small.  When the mean absolute change since the reference
    exceeds ``refresh_above`` times the mean reference conductance,
    :meth:`update` re-solves exactly instead (the error grows with that
    change; see ``docs/ir_drop.md`` for measurements).

    Parameters
    ----------
    G : array_like, shape (n_rows, n_cols)
        Initial device conductances, siemens.
    r_row, r_col : float
        Wire resistance per cell along rows / columns, ohms.
    refresh_above : float or None
        Relative mean conductance change that triggers an exact re-solve in
        :meth:`update`; ``None`` never re-solves automatically.

    Attributes
    ----------
    exact_solves : int
        Number of exact solves so far (the expensive operation).
    """

    def __init__(self, G, r_row, r_col, refresh_above=0.1):
        G, r_row, r_col = _check_crossbar(G, r_row, r_col)
        if refresh_above is not None:
            refresh_above = _checks.positive("refresh_above", refresh_above)
        self.r_row = r_row
        self.r_col = r_col
        self.refresh_above = refresh_above
        self.exact_solves = 0
        self._G = G.copy()
        self._set_reference()

    def _set_reference(self):
        self._G_ref = self._G.copy()
        self._exact_ref = effective_conductance_exact(self._G_ref, self.r_row, self.r_col)
        self._fast_ref = effective_conductance(self._G_ref, self.r_row, self.r_col)
        self._G_eff = self._exact_ref.copy()
        self._attenuation = None
        self.exact_solves += 1

    @property
    def shape(self):
        """``(n_rows, n_cols)``."""
        return self._G.shape

    @property
    def G_eff(self):
        """Current effective conductance matrix, siemens (read-only view)."""
        view = self._G_eff.view()
        view.flags.writeable = False
        return view

    @property
    def attenuation(self):
        """``G_eff / G`` per device (dimensionless), for engines that scale each device's read current.

        Where ``G == 0`` the device has no current of its own to scale (its
        ``G_eff`` is sneak current only); there the fast model's attenuation
        ``cell_voltage * reach`` is given, the factor such a device would see.
        A multiplicative factor cannot carry the sneak current of a zero
        device; :attr:`G_eff` does.  Computed on first access after a change
        (``O(n_rows n_cols)``), then cached.
        """
        if self._attenuation is None:
            cell_voltage, reach = ir_drop_factors(self._G, self.r_row, self.r_col)
            out = cell_voltage * reach
            on = self._G > 0
            out[on] = self._G_eff[on] / self._G[on]
            out.flags.writeable = False
            self._attenuation = out
        return self._attenuation

    @property
    def relative_change(self):
        """Mean ``|G - G_ref|`` over the mean reference conductance (0 if both are all zero)."""
        scale = max(self._G_ref.mean(), self._G.mean())
        return float(np.abs(self._G - self._G_ref).mean() / scale) if scale > 0 else 0.0

    def update(self, G):
        """Track new conductances (siemens, same shape); returns :attr:`G_eff`."""
        G = _checks.real_array("G", G, shape=self.shape, low=0.0)
        self._G = G.copy()
        if self.refresh_above is not None and self.relative_change > self.refresh_above:
            self._set_reference()
        else:
            self._G_eff = self._exact_ref + (effective_conductance(G, self.r_row, self.r_col) - self._fast_ref)
            self._attenuation = None
        return self.G_eff

    def refresh(self):
        """Solve exactly at the current conductances and make them the reference; returns :attr:`G_eff`."""
        self._set_reference()
        return self.G_eff

    def __repr__(self):
        n, m = self.shape
        return (f"IRDropModel({n}x{m}, r_row={self.r_row:g} ohm, r_col={self.r_col:g} ohm, "
                f"relative_change={self.relative_change:.3g}, exact_solves={self.exact_solves})")
