"""The fused, event-driven time-step loop.

One call of :func:`run_chunk` advances the whole network by many steps without
returning to Python.  All populations share one set of neuron arrays and all
crossbars one weight buffer (the network packs them); node ids number neurons
first (``0..N-1``) and then source inputs.

Each step follows Brian2's schedule, so that a network of ideal devices gives
the same spikes as its Brian2 twin:

1. ``start``      state monitors sample ``v`` / ``I_syn``;
2. ``groups``     exact LIF update (``v`` held while refractory, ``I_syn`` and
                  ``theta`` decay);
3. ``thresholds`` neurons with ``v > v_thresh + theta`` that are not refractory spike,
                  then Poisson and recorded sources emit;
4. ``synapses``   every spiking node reads its row on each outgoing crossbar and
                  the row's current jumps are added to the target columns —
                  work proportional to spiking rows x columns, never rows x columns;
5. ``resets``     ``v = v_reset`` (and ``theta += theta_plus``) for neurons that spiked;
and spikes of monitored nodes are appended to the spike buffer.
"""
from collections import namedtuple

import numpy as np
from numba import njit

from . import background, deferred
from .entry import C_LAZY, DEVICES, EAGER, WEIGHT_ONLY
from .plasticity import on_post, on_pre
from .random import geometric_failures, next_u64, normal, splitmix_fill, uniform

RATE_CLASSES = 8  # octave classes of input rates per Poisson source (see Network._rate_classes)
V_VAR = 0  # codes of recordable state variables
I_VAR = 1
_MASK16 = np.uint64(0xFFFF)

#: Every crossbar's arrays, as :meth:`Network._pack <neuroimc.network.Network._pack>` lays them out: per-node
#: and per-group lookups, flat buffers of all crossbars (weights ``w``, read-noise deviations ``sd``, read
#: energies per row ``e_row``, ...) and, per crossbar ``x``, its offsets into them (``xb_*[x]``).  Kernels
#: take the arrays by name.
Synapses = namedtuple("Synapses", [
    "node_group", "grp_xb_ptr", "grp_xb", "xb_pre0", "xb_post0", "xb_npost", "xb_w0", "w", "xb_reads", "xb_sd0",
    "sd", "xb_sdr0", "sd_ref", "xb_nz0", "nz", "nz_idx", "xb_sdu", "xb_e0", "e_row", "xb_energy", "xb_lsb",
    "xb_half", "xb_tile", "xb_acc0", "acc", "xb_touch0", "touched", "xb_conv", "xb_rng", "normals", "grp_spikes"])
#: What plastic crossbars add (``None`` without any): their entries (:mod:`kernels.entry`; ``None`` when all
#: learn weight-only), each crossbar's plastic index, the crossbars into each group, the device flag (``None``
#: when every entry takes the ideal path), the tables of :mod:`kernels.deferred` and the control array of
#: :mod:`kernels.background`.
Learning = namedtuple("Learning", ["entries", "xb_plastic", "grp_pin_ptr", "grp_pin", "devices", "tables", "ctl"])


@njit(cache=True, error_model="numpy", inline="always")
def _read_row(x, i, xb_post0, xb_npost, xb_w0, w, xb_reads, xb_sd0, sd, xb_sdr0, sd_ref, xb_nz0, nz, xb_e0, e_row,
              xb_energy, xb_lsb, xb_tile, xb_acc0, acc, xb_touch0, touched, I):
    """Read pulse on row ``i`` of crossbar ``x``: add its mean column currents to their targets.

    Ideal: one row of current jumps into the neurons; with an ADC into the tile's column
    accumulators, converted once per step.  With read noise the row's variances go to the
    tile's noise accumulators, drawn once per column by :func:`_read_noise`.  Counts the read
    and its energy.
    """
    n_post = xb_npost[x]
    row = xb_w0[x] + i * n_post
    xb_reads[x] += 1
    xb_energy[x] += e_row[xb_e0[x] + i]
    # slices, not offset indices: numba checks a computed index for wrap-around on every access,
    # which keeps the loop from vectorising (8x slower)
    w_row = w[row:row + n_post]
    tile = 0
    if xb_lsb[x] <= 0.0:
        post0 = xb_post0[x]
        target = I[post0:post0 + n_post]
    else:
        tile = i // xb_tile[x]
        base = xb_acc0[x] + tile * n_post
        target = acc[base:base + n_post]
        touched[xb_touch0[x] + tile] = True
    for j in range(n_post):
        target[j] += w_row[j]
    if xb_nz0[x] < 0:
        return
    base = xb_nz0[x] + tile * (n_post + 2)
    nz[base + n_post] += 1.0  # reads of the tile in this step
    if xb_sdr0[x] >= 0:  # the row's reference device: one read, shared by all columns
        s = sd_ref[xb_sdr0[x] + i]
        nz[base + n_post + 1] += s * s
    if xb_sd0[x] >= 0:  # devices of unequal noise: their variances, column by column
        srow = xb_sd0[x] + i * n_post
        sd_row = sd[srow:srow + n_post]
        var = nz[base:base + n_post]
        for j in range(n_post):
            var[j] += sd_row[j] * sd_row[j]


@njit(cache=True, error_model="numpy")
def _read_noise(synapses, I):
    """The read noise of this step's reads, one deviate per column and tile.

    Devices read in the same step add independent Gaussian currents to a column, so
    their sum is one Gaussian of the summed variance: drawn once per column, not once
    per device read (the same distribution, 2-8x fewer draws).  A row's reference
    device adds one deviate shared by all columns; summed over rows it stays one.
    """
    sy = synapses
    xb_post0, xb_npost, xb_nz0, nz, nz_idx, xb_sdu = sy.xb_post0, sy.xb_npost, sy.xb_nz0, sy.nz, sy.nz_idx, sy.xb_sdu
    xb_lsb, acc, xb_acc0, xb_touch0, xb_rng, normals = sy.xb_lsb, sy.acc, sy.xb_acc0, sy.xb_touch0, sy.xb_rng, sy.normals
    for x in range(xb_nz0.size):
        if xb_nz0[x] < 0:
            continue
        n_post = xb_npost[x]
        n_tiles = xb_touch0[x + 1] - xb_touch0[x] if xb_lsb[x] > 0.0 else 1
        rng = xb_rng[x]
        for t in range(n_tiles):
            base = xb_nz0[x] + t * (n_post + 2)
            n_reads = nz[base + n_post]
            if n_reads == 0.0:
                continue
            nz[base + n_post] = 0.0
            ref = 0.0
            if nz[base + n_post + 1] > 0.0:
                ref = np.sqrt(nz[base + n_post + 1]) * normal(rng)
                nz[base + n_post + 1] = 0.0
            if xb_lsb[x] > 0.0:
                a0 = xb_acc0[x] + t * n_post
                target = acc[a0:a0 + n_post]
            else:
                target = I[xb_post0[x]:xb_post0[x] + n_post]
            var = nz[base:base + n_post]
            # 16-bit indices into the table of normal quantiles, filled by a vectorised generator; the
            # table lookups stay scalar (a gather keeps the loop from vectorising)
            deviates = nz_idx[:n_post]
            splitmix_fill(next_u64(rng), deviates, _MASK16)
            if xb_sdu[x] >= 0.0:  # devices of equal noise: a variance of n_reads * sd**2 in every column
                s = xb_sdu[x] * np.sqrt(n_reads)
                for j in range(n_post):
                    target[j] += s * normals[deviates[j]] - ref
            else:
                for j in range(n_post):
                    target[j] += np.sqrt(var[j]) * normals[deviates[j]] - ref
                    var[j] = 0.0


@njit(cache=True, error_model="numpy")
def _convert(synapses, I):
    """End of the synaptic phase: each ADC converts the column sums of every tile read this step."""
    sy = synapses
    xb_post0, xb_npost, xb_lsb, xb_half, acc = sy.xb_post0, sy.xb_npost, sy.xb_lsb, sy.xb_half, sy.acc
    xb_acc0, touched, xb_touch0, xb_conv = sy.xb_acc0, sy.touched, sy.xb_touch0, sy.xb_conv
    for x in range(xb_lsb.size):
        lsb = xb_lsb[x]
        if lsb <= 0.0:
            continue
        n_post = xb_npost[x]
        n_tiles = xb_touch0[x + 1] - xb_touch0[x]  # CSR offsets: K + 1 entries
        half = xb_half[x]
        I_post = I[xb_post0[x]:xb_post0[x] + n_post]
        for t in range(n_tiles):
            if not touched[xb_touch0[x] + t]:
                continue
            touched[xb_touch0[x] + t] = False
            base = xb_acc0[x] + t * n_post
            sums = acc[base:base + n_post]  # a slice, so that the loop vectorises
            for j in range(n_post):
                q = np.floor(sums[j] / lsb + 0.5)
                q = min(max(q, -half), half - 1)
                I_post[j] += q * lsb
                sums[j] = 0.0
            xb_conv[x] += n_post


# nogil: the background thread loads or compiles its kernel while the run goes on (kernels.background)
@njit(cache=True, error_model="numpy", nogil=True)
def run_chunk(step0, n_steps, neurons, poisson, recorded, synapses, record, analog, learning, eager, learn, close):
    """Advance ``n_steps`` steps from global step ``step0``; return the steps done.

    ``learn`` False freezes plasticity and threshold adaptation; ``close`` brings every weight up to
    date at the end (the logs of :mod:`kernels.deferred` stay open otherwise).  ``learning`` is ``None`` for a
    network without plastic crossbars, ``eager`` for one whose plastic crossbars all learn
    weight-only (:mod:`kernels.deferred`), ``analog`` for one whose crossbars have neither read
    noise nor an ADC: numba then prunes the branches they guard before typing, and that code (most
    of the compile time) is not compiled.

    Returns early (fewer steps) only when the spike buffer could not hold one
    more step of spikes; the caller drains it and calls again.
    """
    v, I, lastspike, v_rest, v_reset, v_thresh, a_vv, a_vi, a_ii, ref_steps, theta, theta_plus, a_theta = neurons
    pc_src, pc_lo, pc_hi, pc_node, pc_accept, pc_log1mp, pc_thin, pc_skip, pg_rng = poisson
    ev_step, ev_node, ev_ptr = recorded
    spike_watch, spk_node, spk_step, spk_count, st_var, st_node, st_buf = record
    # unpacked once per chunk (engine.Synapses): unpacking a tuple of arrays costs reference counting on each use
    (node_group, grp_xb_ptr, grp_xb, xb_pre0, xb_post0, xb_npost, xb_w0, w, xb_reads, xb_sd0, sd, xb_sdr0, sd_ref,
     xb_nz0, nz, nz_idx, xb_sdu, xb_e0, e_row, xb_energy, xb_lsb, xb_half, xb_tile, xb_acc0, acc, xb_touch0, touched,
     xb_conv, xb_rng, normals, grp_spikes) = synapses
    any_plastic = False
    helped = False
    if learning is not None:
        entries, xb_plastic, grp_pin_ptr, grp_pin, devices, tables, ctl = learning  # engine.Learning
        rules, consts, lz_f, lz_n, lz_c, lz_off = tables
        any_plastic = learn
    adapting = False
    for k in range(theta.size):
        adapting = adapting or theta_plus[k] != 0.0 or a_theta[k] != 1.0
    adapting = adapting and learn
    any_adc = False
    any_noise = False
    for x in range(xb_lsb.size):
        any_adc = any_adc or xb_lsb[x] > 0.0
        any_noise = any_noise or xb_nz0[x] >= 0

    n_neurons = v.size
    n_nodes = node_group.size
    spikes = np.empty(n_nodes, np.int64)
    fired = np.zeros(n_neurons, np.bool_)
    if learning is not None:
        if any_plastic:
            deferred.start(step0, consts, lz_off, lz_f, lz_n, w, xb_w0, e_row, xb_e0)
            background.announce(ctl)
    done = n_steps
    for s in range(n_steps):
        if spk_count[0] + n_nodes > spk_node.size:
            done = s
            break
        t = step0 + s
        if learning is not None:
            # a background thread catches rows up (kernels.background) from the step after its loop starts (it may
            # still be loading it when the run begins); from then on rows of logging crossbars are locked in use
            if any_plastic and not helped and background.joined(ctl):
                helped = True

        # 1. start: state monitors
        for r in range(st_node.size):
            k = st_node[r]
            st_buf[s, r] = v[k] if st_var[r] == V_VAR else I[k]

        # 2.+3. groups (plasticity traces decay too) and thresholds (independent per neuron, so fused)
        if learning is not None:
            if any_plastic:
                deferred.decay_traces(rules, lz_off, lz_f)
        if adapting:
            for k in range(n_neurons):
                theta[k] *= a_theta[k]
        # branch-free, so that it vectorises; the few neurons that fire are collected after
        n_fired = 0
        for k in range(n_neurons):
            i_k = I[k]
            free = t - lastspike[k] >= ref_steps[k]
            vk = v_rest[k] + (v[k] - v_rest[k]) * a_vv[k] + a_vi[k] * i_k
            vk = vk if free else v[k]
            v[k] = vk
            up = free and vk > v_thresh[k] + theta[k]
            fired[k] = up
            n_fired += up
            I[k] = i_k * a_ii[k]
        ns = 0
        if n_fired:
            for k in range(n_neurons):
                if fired[k]:
                    spikes[ns] = k
                    ns += 1
                    lastspike[k] = t

        # 3. thresholds of Poisson sources: geometric skips over (step, input) within each rate class,
        #    then the step's input spikes in input order (the order Brian2 processes them in)
        first = ns
        for c in range(pc_lo.size):
            base = pc_lo[c]
            n = pc_hi[c] - base
            if n == 0:
                continue
            rng = pg_rng[pc_src[c]]
            pos = pc_skip[c]
            if pos < 0:  # first use: gap to the first spike
                pos = geometric_failures(rng, pc_log1mp[c])
            while pos < n:
                if not pc_thin[c] or uniform(rng) < pc_accept[base + pos]:
                    spikes[ns] = pc_node[base + pos]
                    ns += 1
                pos += 1 + geometric_failures(rng, pc_log1mp[c])
            pc_skip[c] = pos - n
        for a in range(first + 1, ns):  # insertion sort: a handful of spikes per step
            x = spikes[a]
            b = a - 1
            while b >= first and spikes[b] > x:
                spikes[b + 1] = spikes[b]
                b -= 1
            spikes[b + 1] = x

        # 3. thresholds of recorded sources
        p = ev_ptr[0]
        while p < ev_step.size and ev_step[p] == t:
            spikes[ns] = ev_node[p]
            ns += 1
            p += 1
        ev_ptr[0] = p

        # 4. synapses, Brian2's order: every "pre" pathway (row reads, then STDP along the row) before
        #    any "post" pathway (STDP down the columns of the neurons that spiked)
        for q in range(ns):
            node = spikes[q]
            g = node_group[node]
            grp_spikes[g] += 1
            for e in range(grp_xb_ptr[g], grp_xb_ptr[g + 1]):
                x = grp_xb[e]
                locked = False
                if learning is not None:  # a row catches up with logged potentiation before it is read
                    if any_plastic and xb_plastic[x] >= 0:
                        pl = xb_plastic[x]
                        if helped and consts[pl, C_LAZY] != EAGER:  # held until its depression is done
                            background.lock_row(pl, node - xb_pre0[x], lz_off, lz_n)
                            locked = True
                        if consts[pl, C_LAZY] == WEIGHT_ONLY:
                            deferred.catch_up_row(pl, node - xb_pre0[x], w, xb_w0[x], e_row, xb_e0[x], rules, consts,
                                                  lz_off, lz_f, lz_n, lz_c)
                        elif eager is not None and consts[pl, C_LAZY] == DEVICES:
                            last = deferred.log_len(pl, lz_off, lz_n)
                            # thread 0: the engine's scratch (np.int64: a literal would compile a copy of its own)
                            deferred.catch_up_devices(entries[pl], pl, node - xb_pre0[x], last, np.int64(0), w, xb_w0[x],
                                                      sd, xb_sd0[x], e_row, xb_e0[x], xb_rng[x], rules, lz_off, lz_f,
                                                      lz_n)
                _read_row(x, node - xb_pre0[x], xb_post0, xb_npost, xb_w0, w, xb_reads, xb_sd0, sd, xb_sdr0, sd_ref,
                          xb_nz0, nz, xb_e0, e_row, xb_energy, xb_lsb, xb_tile, xb_acc0, acc, xb_touch0, touched, I)
                if learning is not None:
                    if any_plastic and xb_plastic[x] >= 0:
                        pl = xb_plastic[x]
                        if eager is not None and consts[pl, C_LAZY] != WEIGHT_ONLY:  # pruned when eager is None
                            if consts[pl, C_LAZY] == DEVICES and deferred.defers_depression(pl, lz_off):
                                if deferred.depression_full(pl, t, lz_off, lz_n):
                                    if helped:
                                        background.pause(ctl)
                                    deferred.next_depression_half(entries[pl], pl, w, xb_w0[x], sd, xb_sd0[x], e_row,
                                                                  xb_e0[x], xb_rng[x], rules, lz_off, lz_f, lz_n)
                                    if helped:
                                        background.resume(ctl)
                                deferred.depress_later(entries[pl], pl, node - xb_pre0[x], t, rules, lz_off, lz_f,
                                                       lz_n)
                            else:
                                on_pre(entries[pl], node - xb_pre0[x], t, w, xb_w0[x], sd, xb_sd0[x], e_row,
                                       xb_e0[x], xb_rng[x], devices)
                                if consts[pl, C_LAZY] == DEVICES:
                                    deferred.rebase(pl, node - xb_pre0[x], t, lz_off, lz_f, lz_n)
                        else:
                            deferred.pre_spike(pl, node - xb_pre0[x], t, w, xb_w0[x], e_row, xb_e0[x], rules, consts,
                                               lz_off, lz_f, lz_n, lz_c)
                        if locked:
                            background.unlock_row(pl, node - xb_pre0[x], lz_off, lz_n)
        if analog is not None:
            if any_noise:
                _read_noise(synapses, I)
            if any_adc:
                _convert(synapses, I)
        if learning is not None:
            if any_plastic:
                for q in range(ns):
                    node = spikes[q]
                    if node >= n_neurons:
                        continue
                    g = node_group[node]
                    for e in range(grp_pin_ptr[g], grp_pin_ptr[g + 1]):
                        x = grp_pin[e]
                        pl = xb_plastic[x]
                        if eager is not None and consts[pl, C_LAZY] == EAGER:
                            on_post(entries[pl], node - xb_post0[x], t, w, xb_w0[x], sd, xb_sd0[x], e_row, xb_e0[x],
                                    xb_rng[x], devices)
                        else:
                            if deferred.log_full(pl, lz_off, lz_n):  # emptied with no row in use
                                if helped:
                                    background.pause(ctl)
                                if eager is not None and consts[pl, C_LAZY] == DEVICES:
                                    deferred.flush_devices(entries[pl], pl, w, xb_w0[x], sd, xb_sd0[x], e_row,
                                                           xb_e0[x], xb_rng[x], rules, lz_off, lz_f, lz_n)
                                else:
                                    deferred.flush(pl, w, xb_w0[x], e_row, xb_e0[x], rules, consts, lz_off, lz_f,
                                                   lz_n, lz_c)
                                if helped:
                                    background.resume(ctl)
                            deferred.post_spike(pl, node - xb_post0[x], t, rules, lz_off, lz_f, lz_n)
                if helped:
                    background.await_sweep(ctl)

        # 5. resets, then spike monitors
        c = spk_count[0]
        for q in range(ns):
            node = spikes[q]
            if node < n_neurons:
                v[node] = v_reset[node]
                if adapting:
                    theta[node] += theta_plus[node]
            if spike_watch[node]:
                spk_node[c] = node
                spk_step[c] = t
                c += 1
        spk_count[0] = c
    if learning is not None:
        if any_plastic:
            if helped:
                background.pause(ctl)
            deferred.finish(close, xb_w0, w, e_row, xb_e0, rules, consts, lz_off, lz_f, lz_n, lz_c)
            if eager is not None:
                deferred.finish_devices(close, entries, xb_w0, w, sd, xb_sd0, e_row, xb_e0, xb_rng, rules, consts,
                                        lz_off, lz_f, lz_n)
    return done
