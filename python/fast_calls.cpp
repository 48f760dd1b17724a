// enter_block, exit_block and path for rblock, as plain CPython functions. See fast_calls.hpp.
#include "fast_calls.hpp"

#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <string_view>

#include "audit_calls.hpp"
#include "python_generators.hpp"
#include "rb/block.hpp"
#include "rb/path.hpp"

namespace rbpy {
namespace {

PyObject* g_error = nullptr;               // rblock.Error (rb::Error)
PyObject* g_argument_error = nullptr;      // rblock.ArgumentError, once rblock has defined it
PyObject* g_argument_type_error = nullptr; // rblock.ArgumentTypeError

// Tests only: the message of an rb::Error that the next entry throws where rb would refuse it (as
// during a CUDA graph capture, which needs a GPU to happen for real); empty: none.
std::string g_refusal;

// What a restoring block's token holds: its frame and the Python generators' saved states.
struct RestoreToken {
  std::uint64_t frame = 0;
  SavedPythonStates saved;
};
constexpr const char* kTokenName = "rblock.restore_token";

// Every restoring token whose block is open, with the thread that entered it, oldest first
// (guarded by the GIL): rblock.state_dict saves their Python generators' states.
std::vector<std::pair<unsigned long, RestoreToken*>> g_restoring;

void forget(RestoreToken* token) {
  for (auto it = g_restoring.begin(); it != g_restoring.end(); ++it) {
    if (it->second == token) {
      g_restoring.erase(it);
      return;
    }
  }
}

void destroy_token(PyObject* capsule) {
  auto* token = static_cast<RestoreToken*>(PyCapsule_GetPointer(capsule, kTokenName));
  forget(token);  // a block dropped while open
  delete token;
}

// Runs `f`, turning C++ exceptions into Python ones (nullptr).
template <class F>
PyObject* guarded(F f) {
  try {
    return f();
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (const rb::Error& e) {
    PyErr_SetString(g_error, e.what());
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return nullptr;
}

bool failed(unsigned long long value) {
  return value == static_cast<unsigned long long>(-1) && PyErr_Occurred();
}
bool failed(long long value) { return value == -1 && PyErr_Occurred(); }

}  // namespace

// Enters a block on the calling thread: rank -1 replicated, else distinct on that rank; engine 0
// torch, 1 philox; `which` a mask of TORCH | RANDOM | NUMPY. Every check comes first (the seed,
// a CUDA graph capture; saving through getstate); then torch's generators, then random and NumPy.
// Returns the token: the frame id (an int), or for a restoring block a capsule that also holds the
// Python generators' states. Raises (nullptr), changing nothing, on error.
PyObject* enter(unsigned long long block_seed, bool restore, long long engine, long long rank,
                unsigned long long which, rb::Site site, PyObject* path) {
  return guarded([&]() -> PyObject* {
    std::unique_ptr<RestoreToken> token;
    if (restore) {
      token = std::make_unique<RestoreToken>();
      token->saved = save_python_states(static_cast<unsigned>(which));
    }
    if (!g_refusal.empty()) {
      const std::string message = std::move(g_refusal);
      g_refusal.clear();
      throw rb::Error(message);
    }
    rb::detail::EntryOptions options;
    if (rank >= 0) options.rank = static_cast<std::uint32_t>(rank);
    options.install_torch = (which & kTorch) != 0;
    set_audit_options(options, site, path);
    const std::uint64_t frame = rb::detail::enter_block(
        block_seed, restore ? rb::OnExit::restore : rb::OnExit::keep,
        engine == 1 ? rb::Engine::philox : rb::Engine::torch, options);
    PyObject* result = nullptr;
    try {
      install_python_states(rb::current_context().key, static_cast<unsigned>(which));
      if (!token) {
        result = PyLong_FromUnsignedLongLong(frame);
      } else {
        token->frame = frame;
        g_restoring.reserve(g_restoring.size() + 1);
        result = PyCapsule_New(token.get(), kTokenName, destroy_token);
        if (result != nullptr) g_restoring.emplace_back(PyThread_get_thread_ident(), token.release());
      }
      if (result == nullptr) throw py::error_already_set();
    } catch (...) {  // (an interrupt in setstate, out of memory): leave no block half-entered
      rb::detail::exit_block(frame);
      if (token) restore_python_states(token->saved);
      throw;
    }
    return result;
  });
}

// Leaves the calling thread's innermost block, which must be the token's, then puts back the
// Python generators of a restoring block; returns None. Raises, changing nothing, otherwise; with
// `final`, it closes the block all the same (see fast_calls.hpp).
PyObject* leave(PyObject* token, bool final) {
  return guarded([&]() -> PyObject* {
    RestoreToken* restore = nullptr;
    std::uint64_t frame = 0;
    if (PyLong_Check(token)) {
      const unsigned long long id = PyLong_AsUnsignedLongLong(token);
      if (failed(id)) return nullptr;
      frame = id;
    } else {
      restore = static_cast<RestoreToken*>(PyCapsule_GetPointer(token, kTokenName));
      if (restore == nullptr) return nullptr;
      frame = restore->frame;
    }
    try {
      rb::detail::exit_block(frame);
    } catch (const rb::Error& refusal) {
      if (!final) throw;
      rb::detail::close_block(frame);
      if (restore != nullptr) forget(restore);
      throw rb::Error(std::string(refusal.what()) +
                      " The block is closed now, without restoring: nothing could leave it later.");
    }
    if (restore != nullptr) {
      forget(restore);
      restore_python_states(restore->saved);
    }
    Py_RETURN_NONE;
  });
}

PyObject* error_type() { return g_error; }

std::vector<SavedPythonStates*> open_restoring_states() {
  std::vector<SavedPythonStates*> out;
  const unsigned long thread = PyThread_get_thread_ident();
  for (const auto& [owner, token] : g_restoring) {
    if (owner == thread) out.push_back(&token->saved);
  }
  return out;
}

namespace {

// enter_block(block_seed, restore, engine, rank, generators, site, path) -> token: enter, for the
// decorator (site: (filename, line), or None for the caller's).
PyObject* enter_block(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 7) {
    PyErr_SetString(PyExc_TypeError,
                    "enter_block(block_seed, restore, engine, rank, generators, site, path)");
    return nullptr;
  }
  const unsigned long long block_seed = PyLong_AsUnsignedLongLong(args[0]);
  if (failed(block_seed)) return nullptr;
  const int restore = PyObject_IsTrue(args[1]);
  if (restore < 0) return nullptr;
  const long long engine = PyLong_AsLongLong(args[2]);
  if (failed(engine)) return nullptr;
  const long long rank = PyLong_AsLongLong(args[3]);
  if (failed(rank)) return nullptr;
  const unsigned long long which = PyLong_AsUnsignedLongLong(args[4]);
  if (failed(which)) return nullptr;
  rb::Site site{nullptr, 0};
  if (!site_of(args[5], site)) return nullptr;
  return enter(block_seed, restore != 0, engine, rank, which, site, args[6]);
}

// exit_block(token, final=False): leave.
PyObject* exit_block(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 1 && nargs != 2) {
    PyErr_SetString(PyExc_TypeError, "exit_block(token, final=False)");
    return nullptr;
  }
  const int final = nargs == 2 ? PyObject_IsTrue(args[1]) : 0;
  if (final < 0) return nullptr;
  return leave(args[0], final != 0);
}

// Raises `type` about part `i` of `parts`, which is `why` (nullptr: "a <its type>").
PyObject* bad_part(PyObject* type, PyObject* parts, Py_ssize_t i, const char* why = nullptr) {
  PyObject* part = PyTuple_GET_ITEM(parts, i);
  const std::string what = why ? why : std::string("a ") + Py_TYPE(part)->tp_name;
  PyErr_Format(type, "rblock: part %zd of the path %R is %R (%s): a path's parts are ints in "
               "[0, 2**64) and strs", i, parts, part, what.c_str());
  return nullptr;
}

// path(parts): rb::path of a tuple of ints and strs (Note [Ranks and paths]), as an int.
PyObject* path(PyObject*, PyObject* parts) {
  if (!PyTuple_Check(parts)) {
    PyErr_Format(g_argument_type_error, "rblock: a path is a tuple, not %R", parts);
    return nullptr;
  }
  const Py_ssize_t n = PyTuple_GET_SIZE(parts);
  if (n == 0) {
    PyErr_SetString(g_argument_error, "rblock: a path needs at least one part (an int or a str)");
    return nullptr;
  }
  std::uint64_t v = rb::detail::kPathStart;
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* part = PyTuple_GET_ITEM(parts, i);
    if (PyUnicode_Check(part)) {
      Py_ssize_t size = 0;
      const char* bytes = PyUnicode_AsUTF8AndSize(part, &size);  // UTF-8, cached by the str
      if (bytes == nullptr) {  // a lone surrogate has no UTF-8 bytes
        PyErr_Clear();
        return bad_part(g_argument_error, parts, i, "a str that is not valid UTF-8");
      }
      v = rb::detail::fold_string(v, std::string_view(bytes, static_cast<std::size_t>(size)));
      continue;
    }
    if (PyBool_Check(part)) return bad_part(g_argument_type_error, parts, i);
    PyObject* integer = PyLong_Check(part) ? (Py_INCREF(part), part)
                        : PyIndex_Check(part) ? PyNumber_Index(part) : nullptr;
    if (integer == nullptr) {
      PyErr_Clear();
      return bad_part(g_argument_type_error, parts, i);
    }
    const unsigned long long x = PyLong_AsUnsignedLongLong(integer);
    Py_DECREF(integer);
    if (failed(x)) {
      PyErr_Clear();
      return bad_part(g_argument_error, parts, i, "out of range");
    }
    v = rb::detail::fold_integer(v, x);
  }
  return PyLong_FromUnsignedLongLong(v);
}

// _refuse_next_entry(message): see g_refusal.
PyObject* refuse_next_entry(PyObject*, PyObject* message) {
  const char* text = PyUnicode_AsUTF8(message);
  if (text == nullptr) return nullptr;
  g_refusal = text;
  Py_RETURN_NONE;
}

// set_argument_errors(ArgumentError, ArgumentTypeError): the classes path raises, which rblock
// defines after importing this module.
PyObject* set_argument_errors(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 2) {
    PyErr_SetString(PyExc_TypeError, "set_argument_errors(ArgumentError, ArgumentTypeError)");
    return nullptr;
  }
  Py_INCREF(args[0]);
  Py_INCREF(args[1]);
  Py_XSETREF(g_argument_error, args[0]);
  Py_XSETREF(g_argument_type_error, args[1]);
  Py_RETURN_NONE;
}

PyMethodDef g_methods[] = {
    {"enter_block", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(enter_block)),
     METH_FASTCALL, "enter_block(block_seed, restore, engine, rank, generators, site, path) -> token"},
    {"exit_block", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(exit_block)),
     METH_FASTCALL,
     "exit_block(token, final=False): leaves the block of the token; `final`: closes it even when "
     "leaving is refused (nothing could leave it later), and still raises."},
    {"path", path, METH_O, "path(parts): rb::path of a tuple of ints and strs, as an int."},
    {"set_argument_errors",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(set_argument_errors)),
     METH_FASTCALL, "set_argument_errors(ArgumentError, ArgumentTypeError)"},
    {"_refuse_next_entry", refuse_next_entry, METH_O,
     "Tests only: the next block entry raises Error(message) where rb would refuse it."},
    {nullptr, nullptr, 0, nullptr}};

}  // namespace

void add_fast_calls(py::module_& m, PyObject* error) {
  g_error = error;
  g_argument_error = PyExc_ValueError;  // until rblock sets its own
  g_argument_type_error = PyExc_TypeError;
  Py_INCREF(g_argument_error);
  Py_INCREF(g_argument_type_error);
  if (PyModule_AddFunctions(m.ptr(), g_methods) < 0) throw py::error_already_set();
  add_block_base(m);
}

}  // namespace rbpy
