"""A plastic crossbar as the kernels see it: one tuple per crossbar, the same type whatever the card::

    (x, rule, pre, post, pre2, post2, state, params, scalars, ir_factor, consts, columns, lanes)

``x`` is the crossbar's index in the synapse tables, ``rule`` its row of
:func:`neuroimc.learning.STDP.table`, ``pre``/``post`` the fast traces per neuron and
``pre2``/``post2`` the slow ones (empty for pair rules), ``state``/``params``/``scalars`` its
device arrays (see :mod:`kernels.device`) and ``consts`` the float64 array indexed by the ``C_*``
constants below, ``columns`` (int64, ``n_post + 2``) the columns that a pre spike of step
``columns[0]`` can change, ``columns[1]`` of them from ``columns[2]`` on (see
:func:`kernels.plasticity._learn_line`), and ``lanes`` the two threads' scratch of :mod:`kernels.lanes`.
``rule``, ``consts`` and the traces are views of the flat tables of :mod:`kernels.deferred`.  Tuples are
unpacked once per row or column update, never per synapse.
"""

C_SCALE = 0  # V_read * gain: siemens -> amperes of current jump
C_E_SCALE = 1  # V_read**2 * t_read: siemens -> joules per read
C_SPAN = 2  # conductance of one unit of normalised weight
C_AGE = 3  # device time minus network time
C_P_LTP = 4  # pulses that sweep the window up / down
C_P_LTD = 5
C_REFERENCE = 6
C_N_PRE = 7
C_N_POST = 8
C_DT = 9
C_SIMPLE = 10  # 1: ideal devices, take the scalar-only path
C_LAZY = 11  # how potentiation is done, set by each run: EAGER, WEIGHT_ONLY or DEVICES (kernels.deferred)
N_CONSTS = 12

# values of C_LAZY
EAGER = 0.0  # column walks at each post spike
WEIGHT_ONLY = 1.0  # ideal devices in canonical pairs: weights only, potentiation logged
DEVICES = 2.0  # devices written, potentiation logged and replayed row by row
