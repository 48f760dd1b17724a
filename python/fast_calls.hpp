// The calls a Python block makes on every entry and exit, and rblock.path, as plain CPython
// functions (METH_FASTCALL / METH_O): a pybind11 call costs several times more.
#pragma once

#include <vector>

#include <pybind11/pybind11.h>

#include "python_generators.hpp"
#include "rb/audit.hpp"

namespace rbpy {

/// Adds enter_block, exit_block, path, set_argument_errors and BlockBase to the module `m`;
/// rb::Error becomes `error` (the module's Error).
void add_fast_calls(pybind11::module_& m, PyObject* error);

/// Enters a block on the calling thread (rank -1: replicated; engine 0 torch, 1 philox; `which` a
/// mask of Generators) from `site`, with the `path` it came from (a str, a tuple, or None / nullptr:
/// a block seed) for the trace, and returns its token, or nullptr with a Python error, changing
/// nothing.
PyObject* enter(unsigned long long block_seed, bool restore, long long engine, long long rank,
                unsigned long long which, rb::Site site, PyObject* path);
/// Leaves the block of `token`, the calling thread's innermost, and returns None; or nullptr with
/// a Python error, changing nothing. With `final` (nothing could leave this entry later: a
/// decorated call has ended, a generator or coroutine is being closed), a refused exit still
/// raises, but closes the block first (rb::detail::close_block: every generator left as it is),
/// so that the program can go on once its own blocks are closed.
PyObject* leave(PyObject* token, bool final = false);
/// The module's Error (rb::Error).
PyObject* error_type();

/// The Python generators' on-entry states of the restoring blocks the calling thread entered from
/// Python and has not left, oldest first: what rblock.state_dict saves with rb's state.
std::vector<SavedPythonStates*> open_restoring_states();

/// Adds rblock._C.BlockBase (block_base.cpp), the C half of rblock.block.
void add_block_base(pybind11::module_& m);

}  // namespace rbpy
