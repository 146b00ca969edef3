"""Atomic operations on int64 array elements, for the two threads of :mod:`kernels.background`.

numba has no atomics of its own; these emit LLVM's.  A plain load or store may be reordered,
merged or hoisted out of a loop by the compiler; these may not, and they order the plain
accesses around them as their names say (acquire: later accesses stay after; release:
earlier ones stay before; seq_cst: both, and all seq_cst operations take one global order).
"""
import platform
import sys

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


def _pointer(context, builder, sig, args):
    array_type, index_type = sig.args[0], sig.args[1]
    array = context.make_array(array_type)(context, builder, args[0])
    index = context.cast(builder, args[1], index_type, types.intp)
    return cgutils.get_item_pointer(context, builder, array_type, array, [index], wraparound=False)


def _check(array, index):
    if not (isinstance(array, types.Array) and array.dtype == types.int64 and isinstance(index, types.Integer)):
        raise TypeError("atomics take an int64 array and an integer index")


def _load(ordering):
    @intrinsic
    def load(typingctx, array, index):
        _check(array, index)

        def codegen(context, builder, sig, args):
            return builder.load_atomic(_pointer(context, builder, sig, args), ordering, 8)
        return types.int64(array, index), codegen
    return load


load_acquire = _load("acquire")  # array[index], read before any later access
load_seq_cst = _load("seq_cst")  # array[index], in the global order of seq_cst operations


def _store(ordering):
    @intrinsic
    def store(typingctx, array, index, value):
        _check(array, index)

        def codegen(context, builder, sig, args):
            v = context.cast(builder, args[2], sig.args[2], types.int64)
            builder.store_atomic(v, _pointer(context, builder, sig, args), ordering, 8)
            return context.get_dummy_value()
        return types.none(array, index, value), codegen
    return store


store_release = _store("release")  # array[index] = value, after every earlier access
store_seq_cst = _store("seq_cst")  # array[index] = value, in the global order of seq_cst operations


@intrinsic
def compare_exchange(typingctx, array, index, expected, value):
    """If ``array[index] == expected``, make it ``value``; True if it did (acquire and release)."""
    _check(array, index)

    def codegen(context, builder, sig, args):
        ptr = _pointer(context, builder, sig, args)
        old = context.cast(builder, args[2], sig.args[2], types.int64)
        new = context.cast(builder, args[3], sig.args[3], types.int64)
        pair = builder.cmpxchg(ptr, old, new, "acq_rel", "acquire")
        return builder.extract_value(pair, 1)
    return types.boolean(array, index, expected, value), codegen


_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
_POSIX = sys.platform.startswith(("linux", "darwin", "freebsd"))


@intrinsic
def spin_pause(typingctx):
    """The CPU's spin-wait hint (x86 ``pause``; nothing elsewhere): a waiting thread frees the core's pipeline."""
    def codegen(context, builder, sig, args):
        if _X86:
            fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), []),
                                                "llvm.x86.sse2.pause")
            builder.call(fn, [])
        return context.get_dummy_value()
    return types.none(), codegen


@intrinsic
def yield_core(typingctx):
    """Give the core to another runnable thread, if any (POSIX ``sched_yield``; nothing elsewhere).

    A thread that spins on a machine with more runnable threads than cores would otherwise keep the
    core from the very thread it waits for; on an idle core it returns at once.
    """
    def codegen(context, builder, sig, args):
        if _POSIX:
            fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(32), []), "sched_yield")
            builder.call(fn, [])
        return context.get_dummy_value()
    return types.none(), codegen
