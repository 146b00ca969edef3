"""Wire resistance (IR drop): the exact nodal solver against closed forms, an
independent dense netlist solver and circuit theorems; the fast model against
its defining limits and the exact solver."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuroimc import wires
from neuroimc.units import uS

V = 0.2  # read voltage, volts


def resistance(high):
    """Wire resistances: ideal (0) or anything from the smallest accepted up to high."""
    return st.one_of(st.just(0.0), st.floats(wires.R_MIN, high))


def random_G(rng, n, m, lo=1 * uS, hi=100 * uS):
    return rng.uniform(lo, hi, (n, m))


# ---------------------------------------------------------------------------
# An independent reference: generic nodal analysis of an explicit resistor list
# (dense, loops), written from the circuit description, not from wires.py.


def netlist(G, r_row, r_col, grounded_rows=()):
    """Resistors (node, node, conductance) of the crossbar; rows in grounded_rows
    have ideal wires at 0 V (their devices go straight to ground)."""
    n, m = G.shape
    edges = []
    for i in range(n):
        for j in range(m):
            top = "gnd" if i in grounded_rows else ("r", i, j)
            edges.append((top, ("c", i, j), G[i, j]))
            if i not in grounded_rows:
                edges.append((("drv", i) if j == 0 else ("r", i, j - 1), ("r", i, j), 1 / r_row))
            edges.append((("c", i, j), "gnd" if i == n - 1 else ("c", i + 1, j), 1 / r_col))
    return edges


def solve_netlist(edges, fixed):
    """Node voltages of a resistor network with some nodes held at fixed voltages."""
    nodes = sorted({e[0] for e in edges} | {e[1] for e in edges}, key=repr)
    index = {p: k for k, p in enumerate(nodes)}
    L = np.zeros((len(nodes), len(nodes)))
    for a, b, g in edges:
        ia, ib = index[a], index[b]
        L[ia, ia] += g
        L[ib, ib] += g
        L[ia, ib] -= g
        L[ib, ia] -= g
    fix = [index[p] for p in fixed]
    free = [k for k in range(len(nodes)) if k not in fix]
    vf = np.array([fixed[p] for p in fixed], dtype=float)
    x = np.linalg.solve(L[np.ix_(free, free)], -L[np.ix_(free, fix)] @ vf)
    volts = dict(zip(fixed, vf))
    volts.update({nodes[k]: x[q] for q, k in enumerate(free)})
    return volts


def netlist_column_currents(G, r_row, r_col, v_rows, grounded_rows=()):
    """Currents through the last column segment into each sense amplifier."""
    n, m = G.shape
    fixed = {("drv", i): v_rows[i] for i in range(n) if i not in grounded_rows}
    fixed["gnd"] = 0.0
    volts = solve_netlist(netlist(G, r_row, r_col, grounded_rows), fixed)
    return np.array([volts[("c", n - 1, j)] / r_col for j in range(m)])


# ---------------------------------------------------------------------------
# Exact solver: closed forms


@pytest.mark.parametrize("r_row, r_col", [(0.0, 0.0), (3.0, 0.0), (0.0, 7.0), (3.0, 7.0), (1e3, 2e3)])
def test_single_cell_is_three_resistors_in_series(r_row, r_col):
    g = 40 * uS
    current = wires.column_currents_exact([[g]], [V], r_row, r_col)
    assert current.shape == (1,)
    assert current[0] == pytest.approx(V / (r_row + 1 / g + r_col), rel=1e-12)


def test_one_row_two_cells():
    g0, g1, r, rc = 30 * uS, 80 * uS, 500.0, 200.0
    R0 = 1 / g0 + rc                      # branch at the first cell: device + its column segment
    R1 = 1 / g1 + rc
    R_par = R0 * (r + R1) / (R0 + r + R1)  # the second branch hangs one row segment further
    i_src = V / (r + R_par)
    v_node0 = V - r * i_src
    expected = [v_node0 / R0, v_node0 / (r + R1)]
    np.testing.assert_allclose(wires.column_currents_exact([[g0, g1]], [V], r, rc), expected, rtol=1e-12)


def test_two_rows_one_column():
    g0, g1, rr, rc = 25 * uS, 70 * uS, 300.0, 400.0
    v0, v1 = 0.2, 0.05
    y0, y1, g = 1 / (rr + 1 / g0), 1 / (rr + 1 / g1), 1 / rc  # each row: driver, segment, device
    # KCL at the two column nodes, eliminated by hand
    c1 = (y1 * v1 + g * y0 * v0 / (y0 + g)) / (y1 + 2 * g - g * g / (y0 + g))
    current = wires.column_currents_exact([[g0], [g1]], [v0, v1], rr, rc)
    assert current[0] == pytest.approx(g * c1, rel=1e-12)


def test_two_by_two_leak_into_grounded_row():
    """Ideal rows: row 1 at 0 V grounds part of the current of row 0 through its device."""
    G = np.array([[30.0, 90.0], [60.0, 10.0]]) * uS
    rc = 800.0
    g = 1 / rc
    src = V / (1 / G[0] + rc + 1 / (G[1] + g))  # device 0, segment, (device 1 || last segment)
    expected = src * g / (G[1] + g)
    np.testing.assert_allclose(wires.column_currents_exact(G, [V, 0.0], 0.0, rc), expected, rtol=1e-12)


@pytest.mark.parametrize("shape", [(2, 2), (3, 4), (5, 2)])
def test_agrees_with_dense_netlist(shape):
    rng = np.random.default_rng(sum(shape))
    G = random_G(rng, *shape)
    v = rng.uniform(-0.2, 0.2, shape[0])
    rr, rc = 150.0, 90.0  # large enough that IR drop changes every current by percents
    expected = netlist_column_currents(G, rr, rc, v)
    assert np.abs(expected / (v @ G) - 1).max() > 1e-2
    np.testing.assert_allclose(wires.column_currents_exact(G, v, rr, rc), expected, rtol=1e-10)


# ---------------------------------------------------------------------------
# Exact solver: limits and theorems


def test_zero_wire_resistance_is_ohm_and_kirchhoff():
    rng = np.random.default_rng(1)
    G = random_G(rng, 6, 9)
    v = rng.uniform(0, 0.2, (4, 6))
    np.testing.assert_allclose(wires.column_currents_exact(G, v, 0.0, 0.0), v @ G, rtol=1e-14)
    # a vanishing resistance converges to the same (the nodes are kept, not eliminated)
    np.testing.assert_allclose(wires.column_currents_exact(G, v, 1e-9, 1e-9), v @ G, rtol=1e-9)


def test_first_order_in_wire_resistance():
    """For small r, v @ G - I = r * d + O(r^2), d from first-order perturbation theory.

    Zeroth order: row wires at v_i, column wires at 0.  First order: the row
    wire drops by r * sum_l G[i,l] v_i (min(l, j) + 1) at cell (i, j) (every
    segment up to j carries the currents of the cells beyond it); the column
    wire rises by r * sum_i G[i,j] v_i (n - max(i, k)) at row k, which lowers
    the read devices' currents and drives leakage into the grounded rows.
    """
    rng = np.random.default_rng(2)
    n, m = 6, 5
    G = random_G(rng, n, m)
    v = np.zeros(n)
    v[[1, 4]] = V
    row_drop = (G[:, None, :] * v[:, None, None] * (np.minimum(np.arange(m)[None, None, :],
                                                               np.arange(m)[None, :, None]) + 1)).sum(axis=2)
    col_rise = (G[:, None, :] * v[:, None, None] * (n - np.maximum(np.arange(n)[:, None, None],
                                                                   np.arange(n)[None, :, None]))).sum(axis=0)
    d = (G * row_drop).sum(axis=0) + (G * col_rise).sum(axis=0)
    for r in (1e-2, 1e-3):
        slope = (v @ G - wires.column_currents_exact(G, v, r, r)) / r
        # relative size of the next order: r * G * (n + m)^2
        np.testing.assert_allclose(slope, d, rtol=r * 100 * uS * (n + m) ** 2)
    assert np.all(d > 0)


def test_kirchhoff_at_every_node_and_at_the_terminals():
    rng = np.random.default_rng(3)
    n, m, rr, rc = 5, 4, 120.0, 80.0
    G = random_G(rng, n, m)
    v = np.array([V, 0.0, V, 0.0, 0.0])
    s = wires.CrossbarCircuit(G, rr, rc).solve(v)
    vr, vc = s.v_row_wire, s.v_col_wire
    scale = np.abs(G).max() * V
    for i in range(n):
        for j in range(m):
            left = v[i] if j == 0 else vr[i, j - 1]
            right_current = (vr[i, j] - vr[i, j + 1]) / rr if j < m - 1 else 0.0
            kcl_row = (left - vr[i, j]) / rr - right_current - G[i, j] * (vr[i, j] - vc[i, j])
            above_current = (vc[i - 1, j] - vc[i, j]) / rc if i > 0 else 0.0
            below = vc[i + 1, j] if i < n - 1 else 0.0
            kcl_col = G[i, j] * (vr[i, j] - vc[i, j]) + above_current - (vc[i, j] - below) / rc
            assert abs(kcl_row) < 1e-12 * scale and abs(kcl_col) < 1e-12 * scale
    driver = (v - vr[:, 0]) / rr
    sense = vc[-1, :] / rc
    np.testing.assert_allclose(driver, s.source_currents, rtol=1e-9, atol=1e-12 * scale)
    np.testing.assert_allclose(sense, s.column_currents, rtol=1e-9, atol=1e-12 * scale)
    assert driver.sum() == pytest.approx(sense.sum(), rel=1e-9)
    assert np.all(driver[v == 0] < 0)  # grounded rows sink the leakage from the raised column wires


def test_power_delivered_equals_power_dissipated():
    """Tellegen: sum_i V_i I_i over the drivers = sum over resistors of g dV^2."""
    rng = np.random.default_rng(4)
    n, m, rr, rc = 6, 7, 60.0, 40.0
    G = random_G(rng, n, m)
    v = np.where(rng.random(n) < 0.5, V, 0.0)
    v[0] = V
    s = wires.CrossbarCircuit(G, rr, rc).solve(v)
    vr, vc = s.v_row_wire, s.v_col_wire
    dissipated = (G * (vr - vc) ** 2).sum()
    dissipated += ((np.diff(vr, axis=1) ** 2).sum() + ((v - vr[:, 0]) ** 2).sum()) / rr
    dissipated += ((np.diff(vc, axis=0) ** 2).sum() + (vc[-1] ** 2).sum()) / rc
    assert (v * s.source_currents).sum() == pytest.approx(dissipated, rel=1e-10)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 5), m=st.integers(1, 5), r_row=resistance(500.0), r_col=resistance(500.0),
       seed=st.integers(0, 2**32 - 1))
def test_superposition_and_maximum_principle(n, m, r_row, r_col, seed):
    rng = np.random.default_rng(seed)
    G = random_G(rng, n, m, lo=0.0)
    v = rng.uniform(-0.3, 0.3, (3, n))
    circuit = wires.CrossbarCircuit(G, r_row, r_col)
    G_eff = circuit.effective_conductance()
    scale = V * 100 * uS * n
    np.testing.assert_allclose(circuit.column_currents(v), v @ G_eff, rtol=1e-9, atol=1e-12 * scale)
    # every node voltage lies between the lowest and highest terminal voltage (0 V included)
    s = circuit.solve(v)
    lo = np.minimum(v.min(axis=1), 0.0)[:, None, None] - 1e-12
    hi = np.maximum(v.max(axis=1), 0.0)[:, None, None] + 1e-12
    for volts in (s.v_row_wire, s.v_col_wire):
        assert np.all(volts >= lo) and np.all(volts <= hi)
    np.testing.assert_allclose(s.column_currents, circuit.column_currents(v), rtol=1e-9, atol=1e-12 * scale)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 5), m=st.integers(1, 5), r_row=st.floats(0.1, 500.0), r_col=st.floats(0.1, 500.0),
       seed=st.integers(0, 2**32 - 1))
def test_reciprocity(n, m, r_row, r_col, seed):
    """Drive row i, sense column j  ==  drive column j, sense row i.

    Driving columns from their sense ends and sensing rows at their driver
    ends is the same circuit as a crossbar rotated by 180 degrees and
    transposed, with the wire resistances exchanged.
    """
    G = random_G(np.random.default_rng(seed), n, m)
    T = wires.effective_conductance_exact(G, r_row, r_col)
    T_rot = wires.effective_conductance_exact(G[::-1, ::-1].T, r_col, r_row)
    np.testing.assert_allclose(T_rot[::-1, ::-1].T, T, rtol=1e-9, atol=1e-15)


def test_batch_and_single_patterns_agree_and_wide_arrays_solve_from_the_output_side():
    rng = np.random.default_rng(5)
    for shape in ((4, 9), (9, 4)):  # fewer rows / fewer columns: either side of the symmetric solve
        G = random_G(rng, *shape)
        circuit = wires.CrossbarCircuit(G, 50.0, 30.0)
        v = rng.uniform(0, 0.2, (3, shape[0]))
        batch = circuit.column_currents(v)
        assert batch.shape == (3, shape[1])
        for q in range(3):
            np.testing.assert_allclose(circuit.column_currents(v[q]), batch[q], rtol=1e-12)
            np.testing.assert_allclose(netlist_column_currents(G, 50.0, 30.0, v[q]), batch[q], rtol=1e-10)
        np.testing.assert_allclose(v @ circuit.effective_conductance(), batch, rtol=1e-10)
        s = circuit.solve(v[0])
        assert s.v_row_wire.shape == shape and s.source_currents.shape == (shape[0],)


def test_sneak_paths_can_raise_a_weak_device_above_its_own_conductance():
    """A 1 uS device among 100 uS ones: leakage returns through an unselected row."""
    G = np.full((8, 8), 100 * uS)
    G[0, 7] = 1 * uS
    T = wires.effective_conductance_exact(G, 20.0, 20.0)
    assert T[0, 7] > G[0, 7]
    assert wires.effective_conductance(G, 20.0, 20.0)[0, 7] <= G[0, 7]


# ---------------------------------------------------------------------------
# Fast model


@pytest.mark.parametrize("r_row, r_col", [(0.0, 40.0), (40.0, 0.0), (0.0, 0.0)])
def test_fast_model_is_exact_when_one_wire_is_ideal(r_row, r_col):
    G = random_G(np.random.default_rng(6), 7, 6)
    np.testing.assert_allclose(wires.effective_conductance(G, r_row, r_col),
                               wires.effective_conductance_exact(G, r_row, r_col), rtol=1e-11)


def test_fast_model_is_the_network_with_ideal_unselected_rows():
    """Its one approximation: the wires of unselected rows carry no resistance."""
    rng = np.random.default_rng(7)
    n, m, rr, rc = 5, 4, 200.0, 300.0
    G = random_G(rng, n, m)
    G_fast = wires.effective_conductance(G, rr, rc)
    for i in range(n):
        unit = np.zeros(n)
        unit[i] = 1.0
        others = tuple(k for k in range(n) if k != i)
        expected = netlist_column_currents(G, rr, rc, unit, grounded_rows=others)
        np.testing.assert_allclose(G_fast[i], expected, rtol=1e-10)
    # and that approximation is visible at this resistance
    assert np.abs(G_fast / wires.effective_conductance_exact(G, rr, rc) - 1).max() > 1e-4


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 6), m=st.integers(1, 6), r_row=resistance(1e3), r_col=resistance(1e3),
       seed=st.integers(0, 2**32 - 1))
def test_fast_model_attenuates(n, m, r_row, r_col, seed):
    G = random_G(np.random.default_rng(seed), n, m, lo=0.0)
    cell_voltage, reach = wires.ir_drop_factors(G, r_row, r_col)
    for f in (cell_voltage, reach):
        assert np.all(f > 0) and np.all(f <= 1 + 1e-12)
    np.testing.assert_allclose(wires.effective_conductance(G, r_row, r_col), G * cell_voltage * reach, rtol=1e-15)


def test_fast_model_error_is_second_order():
    """Exact in r_row -> 0 and in r_col -> 0, so its error scales as r_row * r_col."""
    G = random_G(np.random.default_rng(8), 16, 16)

    def error(r):
        return np.abs(wires.effective_conductance(G, r, r) / wires.effective_conductance_exact(G, r, r) - 1).mean()

    ratio = error(0.05) / error(0.1)
    assert 0.22 < ratio < 0.28  # 1/4 up to the next order
    # ... while the uncorrected read is off to first order
    ideal = np.abs(G / wires.effective_conductance_exact(G, 0.1, 0.1) - 1).mean()
    assert error(0.1) < 1e-2 * ideal


@pytest.mark.parametrize("n", [16, 32])
@pytest.mark.parametrize("r", [1.0, 2.0, 5.0])
def test_fast_model_beats_the_ideal_read_on_realistic_arrays(n, r):
    """10 % of the rows read at once, G uniform in 1..100 uS.

    The model captures every first-order effect, so its residual relative to
    the uncorrected read is of the order of the IR-drop parameter
    eps = r * mean(G) * n^2 / 2 (0.013 ... 0.13 here); the bound allows a
    factor of 2 above eps.
    """
    rng = np.random.default_rng(n)
    G = random_G(rng, n, n)
    T = wires.effective_conductance_exact(G, r, r)
    G_fast = wires.effective_conductance(G, r, r)
    patterns = np.zeros((40, n))
    for q in range(40):
        patterns[q, rng.choice(n, n // 10, replace=False)] = V
    exact = patterns @ T
    fast_error = np.abs(patterns @ G_fast / exact - 1).mean()
    ideal_error = np.abs(patterns @ G / exact - 1).mean()
    eps = r * G.mean() * n * n / 2
    assert fast_error < 2 * eps * ideal_error


def test_fast_model_runs_on_large_arrays():
    """A 256 x 256 array, far beyond what the dense netlist could solve, in O(n m)."""
    G = random_G(np.random.default_rng(9), 256, 256)
    G_fast = wires.effective_conductance(G, 1.0, 1.0)
    assert G_fast.shape == G.shape and np.all(np.isfinite(G_fast))
    # the far corner (top row, last column) loses most: longest row and column paths
    ratio = G_fast / G
    assert ratio[0, -1] < ratio[-1, 0]


# ---------------------------------------------------------------------------
# Tracking changing conductances


def test_tracking_starts_exact_and_follows_small_changes_closely():
    rng = np.random.default_rng(10)
    G = random_G(rng, 24, 24)
    r = 5.0
    model = wires.IRDropModel(G, r, r)
    np.testing.assert_allclose(model.G_eff, wires.effective_conductance_exact(G, r, r), rtol=1e-12)
    assert model.exact_solves == 1 and model.relative_change == 0.0
    G_new = G * (1 + 0.1 * rng.uniform(-1, 1, G.shape))
    tracked = model.update(G_new)
    assert model.exact_solves == 1  # a 5 % mean change stays below the default refresh threshold
    assert model.relative_change == pytest.approx(np.abs(G_new - G).mean() / max(G.mean(), G_new.mean()))
    exact = wires.effective_conductance_exact(G_new, r, r)
    fast_error = np.abs(wires.effective_conductance(G_new, r, r) / exact - 1).mean()
    tracked_error = np.abs(tracked / exact - 1).mean()
    # the tracked error is the change of the sneak-path term (the fast model's
    # error), first order in the conductance change
    assert tracked_error < 2 * model.relative_change * fast_error
    with pytest.raises(ValueError):
        model.G_eff[0, 0] = 0.0


def test_attenuation_scales_each_device_to_its_effective_conductance():
    rng = np.random.default_rng(13)
    G = random_G(rng, 6, 7)
    G[2, 3] = 0.0
    model = wires.IRDropModel(G, 30.0, 20.0)
    a = model.attenuation
    on = G > 0
    np.testing.assert_allclose((a * G)[on], model.G_eff[on], rtol=1e-12)
    cell_voltage, reach = wires.ir_drop_factors(G, 30.0, 20.0)
    assert a[2, 3] == pytest.approx(cell_voltage[2, 3] * reach[2, 3], rel=1e-12)
    assert 0 < a[2, 3] < 1
    G_new = G * 1.02
    model.update(G_new)  # the cached factors follow the change
    np.testing.assert_allclose((model.attenuation * G_new)[on], model.G_eff[on], rtol=1e-12)


def test_tracking_is_exact_where_the_fast_model_is():
    rng = np.random.default_rng(11)
    G = random_G(rng, 6, 5)
    model = wires.IRDropModel(G, 0.0, 30.0, refresh_above=None)
    G_new = random_G(rng, 6, 5)  # a large change, never re-solved
    np.testing.assert_allclose(model.update(G_new), wires.effective_conductance_exact(G_new, 0.0, 30.0), rtol=1e-10)
    assert model.exact_solves == 1


def test_tracking_re_solves_exactly_after_a_large_change():
    rng = np.random.default_rng(12)
    G = random_G(rng, 6, 5)
    model = wires.IRDropModel(G, 40.0, 30.0, refresh_above=0.2)
    G_new = G * 1.5  # mean change 1/3 of the mean conductance
    np.testing.assert_allclose(model.update(G_new), wires.effective_conductance_exact(G_new, 40.0, 30.0), rtol=1e-12)
    assert model.exact_solves == 2 and model.relative_change == 0.0
    model.update(G_new * 1.01)
    assert model.exact_solves == 2
    np.testing.assert_allclose(model.refresh(), wires.effective_conductance_exact(G_new * 1.01, 40.0, 30.0),
                               rtol=1e-12)
    assert model.exact_solves == 3
    assert "exact_solves=3" in repr(model)


# ---------------------------------------------------------------------------
# Argument checks


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: wires.effective_conductance([[-1e-6]], 1.0, 1.0), ValueError, "every element of G must be >= 0"),
        (lambda: wires.effective_conductance([1e-6, 2e-6], 1.0, 1.0), ValueError, "G must be 2-dimensional"),
        (lambda: wires.effective_conductance(np.zeros((0, 3)), 1.0, 1.0), ValueError, "at least one row"),
        (lambda: wires.effective_conductance([[np.nan]], 1.0, 1.0), ValueError, "G must be finite"),
        (lambda: wires.effective_conductance([["a"]], 1.0, 1.0), TypeError, "G must hold real numbers"),
        (lambda: wires.effective_conductance([[1e-6]], -1.0, 1.0), ValueError, "r_row must be >= 0.0, got -1.0"),
        (lambda: wires.effective_conductance([[1e-6]], 1e-300, 1.0), ValueError,
         r"r_row must be 0 \(an ideal wire\) or >= 1e-12 ohm, got 1e-300"),
        (lambda: wires.effective_conductance_exact([[1e-6]], 1.0, "1"), TypeError, "r_col must be a real number"),
        (lambda: wires.CrossbarCircuit([[1e-6]], 1.0, float("inf")), ValueError, "r_col must be finite"),
        (lambda: wires.column_currents_exact(np.ones((3, 2)) * 1e-6, [0.2, 0.0], 1.0, 1.0), ValueError,
         r"v_rows must have shape \(n_rows,\) = \(3,\) or \(k, 3\).*got shape \(2,\)"),
        (lambda: wires.column_currents_exact(np.ones((3, 2)) * 1e-6, np.zeros((2, 2, 3)), 1.0, 1.0), ValueError,
         "v_rows must have shape"),
        (lambda: wires.column_currents_exact([[1e-6]], [np.inf], 1.0, 1.0), ValueError, "v_rows must be finite"),
        (lambda: wires.IRDropModel([[1e-6]], 1.0, 1.0, refresh_above=0.0), ValueError,
         "refresh_above must be > 0.0, got 0.0"),
        (lambda: wires.IRDropModel(np.ones((2, 3)) * 1e-6, 1.0, 1.0).update(np.ones((3, 2)) * 1e-6), ValueError,
         r"G must have shape \(2, 3\), got \(3, 2\)"),
        (lambda: wires.IRDropModel([[1e-6]], 1.0, 1.0).update([[-1e-6]]), ValueError,
         "every element of G must be >= 0"),
    ],
)
def test_bad_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---------------------------------------------------------------------------
# The benchmark script (tiny case): every number it writes comes from a run


def test_benchmark_script_writes_table_json_and_figure(tmp_path):
    import importlib.util
    import json
    import os

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks", "bench_ir_drop.py")
    spec = importlib.util.spec_from_file_location("bench_ir_drop", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out, table, fig = tmp_path / "r.json", tmp_path / "r.md", tmp_path / "r.png"
    bench.main(["--sizes", "10", "--resistances", "0,20", "--patterns", "4", "--figure-case", "10,20",
                "--out", str(out), "--table", str(table), "--figure", str(fig), "--no-progress"])
    result = json.loads(out.read_text())
    ideal_wires, resistive = result["cases"]
    # with ideal wires every method is exact; with resistive ones the ideal read is not
    assert ideal_wires["single_row"]["fast"]["max"] < 1e-12
    assert ideal_wires["rows_10pct"]["ideal"]["max"] < 1e-12
    assert resistive["rows_10pct"]["ideal"]["mean"] > resistive["rows_10pct"]["fast"]["mean"] > 0
    assert resistive["rows_100pct"]["exact_G_eff_superposition_max_rel_dev"] < 1e-10
    assert [t["change_amplitude"] for t in resistive["tracking"]] == list(bench.CHANGES)
    text = table.read_text()
    assert "| 10x10 | 20 |" in text and f"{resistive['single_row']['fast']['mean']:.2%}" in text
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
