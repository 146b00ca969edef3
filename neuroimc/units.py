"""SI scale constants.

Everything inside neuroimc is a plain SI float (seconds, volts, amperes, ohms,
siemens, joules).  Multiplying by a constant converts *into* SI, dividing
converts back out::

    >>> from neuroimc.units import ms, mV
    >>> tau = 20 * ms          # 0.02 (seconds)
    >>> tau / ms               # 20.0
"""

# time
second = 1.0
ms = 1e-3
us = 1e-6
ns = 1e-9
minute = 60.0

# frequency
Hz = 1.0
kHz = 1e3
MHz = 1e6

# voltage
volt = V = 1.0
mV = 1e-3
uV = 1e-6

# current
amp = A = 1.0
mA = 1e-3
uA = 1e-6
nA = 1e-9
pA = 1e-12

# resistance
ohm = 1.0
kohm = 1e3
Mohm = 1e6
Gohm = 1e9

# conductance
siemens = S = 1.0
mS = 1e-3
uS = 1e-6
nS = 1e-9

# capacitance
farad = F = 1.0
pF = 1e-12
fF = 1e-15

# energy and power
joule = J = 1.0
nJ = 1e-9
pJ = 1e-12
fJ = 1e-15
watt = W = 1.0
mW = 1e-3
uW = 1e-6
