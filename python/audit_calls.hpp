// Finding where two runs diverged, from Python: the call site of a Python block, reuse reports as
// rblock.ReuseWarning, and what a Python process adds to rb's trace. See Note [Block reuse] and
// Note [Trace format] in src/.
#pragma once

#include <pybind11/pybind11.h>

#include "rb/block.hpp"

namespace rbpy {

/// Whether an entry needs its call site: the reuse policy is not allow, or a trace is written.
bool wants_site() noexcept;

/// Where the Python code that enters a block now is: the innermost frame outside the files given
/// to _C.add_internal_file (reproducible_block.py's __enter__); {nullptr, 0} when there is none.
rb::Site caller_site();

/// `site` of the decorator ((filename, line) of the decorated function) or, for None, caller_site.
/// Returns false with a Python error on a malformed tuple.
bool site_of(PyObject* site, rb::Site& out);

/// Fills the audit part of `options`: `site`, the Python reporter of reuses (rblock.ReuseWarning;
/// rblock.Error under "error"), and, while a trace is written, `path` (the block's path: a str, a
/// tuple or None) as the trace's JSON array.
void set_audit_options(rb::detail::EntryOptions& options, rb::Site site, PyObject* path);

/// Adds set_reuse_policy, reuse_policy, start_trace, stop_trace, tracing, set_trace_environment,
/// set_reuse_warning and add_internal_file to the module.
void add_audit_calls(pybind11::module_& m);

}  // namespace rbpy
