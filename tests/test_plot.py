import numpy as np

import neuroimc as ni
from neuroimc.units import Hz, Mohm, mV, ms, pA


def test_raster_and_trace_render_headless(tmp_path):
    net = ni.Network(seed=0)
    src = net.add(ni.PoissonSource(100, rate=40 * Hz))
    pop = net.add(ni.LIFPopulation(20, tau_m=20 * ms, v_rest=-65 * mV, v_reset=-65 * mV, v_thresh=-50 * mV,
                                   t_ref=2 * ms, tau_syn=5 * ms, r_m=100 * Mohm))
    net.connect(src, pop, ni.Crossbar.from_weights(np.full((100, 20), 40 * pA)))
    spikes = net.monitor_spikes(pop)
    v = net.monitor_state(pop, "v", record=[0, 5])
    net.run(200 * ms, progress=False)
    ax = ni.plot.raster(spikes)
    assert len(ax.collections[0].get_offsets()) == len(spikes) > 0
    ax.figure.savefig(tmp_path / "raster.png")
    ax = ni.plot.trace(v)
    assert len(ax.lines) == 2
    np.testing.assert_allclose(ax.lines[1].get_ydata(), v.values[:, 1] / mV)
    ax.figure.savefig(tmp_path / "trace.png")
    for name in ("raster.png", "trace.png"):
        assert (tmp_path / name).stat().st_size > 5000
