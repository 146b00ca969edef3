"""Build models/devices/reram_gong2018.toml by fitting the measured Gong et al. 2018 pulse response.

    NEUROIMC_DATA=../shared/data python models/devices/make_reram_gong2018.py

Data: N. Gong et al., "Signal and noise extraction from analog memory elements
for neuromorphic computing", Nat. Commun. 9, 2102 (2018); the 1000 up / 1000
down trace shipped with IBM aihwkit (examples/csv/gong_et_al.csv, MIT).  The
trace is normalised, so the absolute window is an assumption (noted in the card).
"""
import os
import sys

import numpy as np

from neuroimc.devices import fit_pulse_response

HERE = os.path.dirname(os.path.abspath(__file__))


def load(data_dir):
    path = os.path.join(data_dir, "devices", "gong2018_reram_pulse_response", "gong_et_al.csv")
    return np.loadtxt(path, delimiter=",", encoding="utf-8-sig")  # columns: up train, down train


def main():
    data_dir = os.environ.get("NEUROIMC_DATA", os.path.join(HERE, "..", "..", "..", "shared", "data"))
    fit = fit_pulse_response(load(data_dir))
    source = "Gong et al. 2018 (Nat. Commun. 9, 2102) measured trace, aihwkit examples/csv/gong_et_al.csv"
    notes = {
        "conductance.g_min": "S; ASSUMED: the trace is normalised; window of the NeuroSim TaOx/HfOx row (rram_hfox)",
        "conductance.g_max": "S; ASSUMED: as g_min",
        "conductance.n_levels": "continuous: ~1000 pulses across the window",
        "pulse.model": "NeuroSim nonlinear model (Chen et al., IEEE TCAD 2018)",
        "write.pulse_width": "s; ASSUMED: pulse conditions of Gong et al. not checked",
        "write.v_write": "V; ASSUMED",
        "write.energy_per_pulse": "J; DERIVED from the assumed values: V^2 * G * t = 1.5^2 * 5.5e-6 S * 50 ns",
        "read.v_read": "V; ASSUMED",
        "read.t_read": "s; ASSUMED",
        "endurance.cycles_mean": "assumed: HfOx RRAM endurance is quoted 1e6-1e12; not from Gong et al.",
        "endurance.cycles_log_sigma": "assumed",
        "endurance.failure_mode": "assumed: gradual on/off-window degradation of oxide RRAM",
        "variability.g_min_sigma": "aihwkit ReRamESPresetDevice w_min_dtod = 0.3 (preset, not stated as measured)",
        "variability.g_max_sigma": "aihwkit ReRamESPresetDevice w_max_dtod = 0.3 (same caveat)",
    }
    out = fit.write_card(
        os.path.join(HERE, "reram_gong2018.toml"), "reram_gong2018", "HfO2 filamentary ReRAM (IBM), analog",
        g_min=1.0e-6, g_max=1.0e-5, source=source, notes=notes,
        description="Measured Gong et al. 2018 pulse response fitted with the NeuroSim model: nearly linear "
                    "potentiation, strongly saturating depression, large per-reading noise.",
        write={"pulse_width": 50e-9, "v_write": 1.5, "energy_per_pulse": 1.4e-13},
        read={"v_read": 0.2, "t_read": 1e-6},
        endurance={"cycles_mean": 1.0e9, "cycles_log_sigma": 1.0, "failure_mode": "window_closing"},
        variability={"g_min_sigma": 0.3, "g_max_sigma": 0.3},
    )
    print(f"NL up {fit.nl_ltp:.3f}, NL down {fit.nl_ltd:.3f}, c2c {fit.c2c_sigma:.4f}, "
          f"per-reading {fit.reading_sigma:.4f}, mean-curve RMS vs readings {fit.rms:.2%}; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
