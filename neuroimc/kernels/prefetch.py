"""A software prefetch of one array element, for loops whose addresses the hardware cannot guess.

numba has no prefetch of its own; this emits LLVM's ``llvm.prefetch`` (for a write, kept in all
cache levels).  It is a hint: it changes no value, and an index past the end is harmless.
"""
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def prefetch(typingctx, array, index):
    """Start loading the cache line of ``array[index]``, to be written soon."""
    if not (isinstance(array, types.Array) and isinstance(index, types.Integer)):
        raise TypeError("prefetch takes an array and an integer index")

    def codegen(context, builder, sig, args):
        array_type = sig.args[0]
        arr = context.make_array(array_type)(context, builder, args[0])
        i = context.cast(builder, args[1], sig.args[1], types.intp)
        ptr = builder.gep(arr.data, [i])  # no bounds check: a hint may point anywhere
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                            "llvm.prefetch.p0i8")
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(1), i32(3), i32(1)])
        return context.get_dummy_value()
    return types.none(array, index), codegen


AHEAD = 4  # synapses ahead whose devices a row update prefetches: 2 and 8 were slower (RRAM STDP 4000x1000)


@njit(cache=True, error_model="numpy", inline="always")
def prefetch_synapse(k, partner, g, count, status, limit, w, w0, sd, sd0, both):
    """Prefetch what updating synapse ``k`` (its devices ``k`` and ``partner``) reads and writes; the partner's
    write count, status and endurance only if it may be written (``both``)."""
    prefetch(g, k)
    prefetch(g, partner)
    prefetch(count, k)
    prefetch(status, k)
    if both:
        prefetch(count, partner)
        prefetch(status, partner)
    if limit.size > 1:
        prefetch(limit, k)
        if both:
            prefetch(limit, partner)
    prefetch(w, w0 + k)
    if sd0 >= 0:
        prefetch(sd, sd0 + k)
