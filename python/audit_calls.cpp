// Call sites of Python blocks, reuse reports in Python's terms, and the Python members of rb's
// trace (random's and NumPy's fingerprints, Python's and NumPy's versions). See audit_calls.hpp.
#include "audit_calls.hpp"

#include <frameobject.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "audit.hpp"  // src/audit.hpp: rb's reuse and trace internals
#include "python_generators.hpp"
#include "rb/audit.hpp"

namespace rbpy {
namespace {

namespace py = pybind11;

PyObject* g_reuse_warning = nullptr;     // rblock.ReuseWarning, once rblock has defined it
std::vector<PyObject*> g_internal_files;  // owned: files whose frames are not call sites

// The UTF-8 of a code object's file name, kept alive for rb's reuse table (an rb::Site holds the
// pointer): each file name object is kept once, with a reference (guarded by the GIL).
const char* kept_file(PyObject* file) {
  static std::unordered_map<PyObject*, const char*> kept;
  static PyObject* last = nullptr;
  static const char* last_utf8 = nullptr;
  if (file == last) return last_utf8;
  const auto it = kept.find(file);
  const char* utf8 = nullptr;
  if (it != kept.end()) {
    utf8 = it->second;
  } else {
    utf8 = PyUnicode_AsUTF8(file);
    if (utf8 == nullptr) {  // a file name that is not UTF-8: no site
      PyErr_Clear();
      return nullptr;
    }
    Py_INCREF(file);
    kept.emplace(file, utf8);
  }
  last = file;
  last_utf8 = utf8;
  return utf8;
}

bool internal(PyObject* file) {
  for (PyObject* f : g_internal_files) {
    if (f == file || PyUnicode_Compare(f, file) == 0) return true;
  }
  return false;
}

// What the trace records of random's and NumPy's states (Note [Trace fingerprints]).
std::uint64_t mt_fingerprint(std::uint64_t position, const std::uint32_t* words,
                             std::initializer_list<std::uint64_t> tail) {
  rb::detail::Fingerprint f;
  f.add(position);
  f.add_words(words, 624);
  for (const std::uint64_t w : tail) f.add(w);
  return f.value();
}

std::uint64_t double_bits(double d) {
  std::uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  return bits;
}

// The 624 words of a sequence of Python ints.
std::array<std::uint32_t, 624> words_of(py::handle sequence) {
  std::array<std::uint32_t, 624> out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = sequence[py::int_(i)].cast<std::uint32_t>();
  return out;
}

void append_random(std::string& out, const SavedPythonStates& s) {
  std::array<std::uint32_t, 624> words = s.random_words;
  std::uint64_t index = static_cast<std::uint64_t>(s.random_index);
  py::object gauss = s.random_gauss_next;
  if (!s.random_direct) {  // (3, (w0, ..., w623, index), gauss_next)
    const py::tuple state = s.random_state;
    words = words_of(state[1]);
    index = py::tuple(state[1])[624].cast<std::uint64_t>();
    gauss = state[2];
  }
  out += ",\"random\":";
  rb::detail::append_hex(out, gauss.is_none()
                                  ? mt_fingerprint(index, words.data(), {0})
                                  : mt_fingerprint(index, words.data(),
                                                   {1, double_bits(gauss.cast<double>())}));
}

void append_numpy(std::string& out, const SavedPythonStates& s) {
  std::array<std::uint32_t, 624> words = s.numpy_words;
  std::uint64_t pos = static_cast<std::uint64_t>(s.numpy_pos);
  std::uint64_t has_gauss = static_cast<std::uint64_t>(s.numpy_has_gauss);
  double gauss = s.numpy_gauss;
  if (!s.numpy_direct) {  // ("MT19937", key, pos, has_gauss, cached_gaussian)
    const py::tuple state = s.numpy_state;
    words = words_of(state[1]);
    pos = state[2].cast<std::uint64_t>();
    has_gauss = state[3].cast<std::uint64_t>();
    gauss = state[4].cast<double>();
  }
  out += ",\"numpy\":";
  rb::detail::append_hex(out, mt_fingerprint(pos, words.data(), {has_gauss, double_bits(gauss)}));
}

// The trace's line hook: random's and NumPy's fingerprints at a block's exit; null where they
// cannot be read (a thread without the GIL, NumPy missing, an error reading them).
void append_python_states(std::string& out) {
  const std::size_t start = out.size();
  if (Py_IsInitialized() && PyGILState_Check()) {
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);  // an exception may be on its way through the block
    try {
      const SavedPythonStates s = save_python_states(kRandom | kNumpy);
      append_random(out, s);
      if (s.which & kNumpy && (s.numpy_direct || s.numpy_state)) {
        append_numpy(out, s);
      } else {
        out += ",\"numpy\":null";
      }
    } catch (const std::exception&) {
      PyErr_Clear();
      out.resize(start);
    }
    PyErr_Restore(type, value, traceback);
  }
  if (out.size() == start) out += ",\"random\":null,\"numpy\":null";
}

// How a Python entry reports a reuse (Note [Block reuse]).
void report_reuse(void*, const rb::detail::ReuseReport& r) {
  const std::string message =
      rb::detail::reuse_message(r, "rblock", "rblock.set_reuse_policy(\"allow\")");
  if (r.policy == rb::Reuse::error) throw rb::Error(message);
  PyObject* category = g_reuse_warning != nullptr ? g_reuse_warning : PyExc_UserWarning;
  if (PyErr_WarnEx(category, message.c_str(), 1) < 0) throw py::error_already_set();
}

// A path's parts as a JSON array: ints as numbers, strs as strings.
std::string path_json(PyObject* path) {
  std::string out = "[";
  const bool one = PyUnicode_Check(path);
  const Py_ssize_t n = one ? 1 : PyTuple_GET_SIZE(path);
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* part = one ? path : PyTuple_GET_ITEM(path, i);
    if (i > 0) out += ',';
    if (PyUnicode_Check(part)) {
      Py_ssize_t size = 0;
      const char* utf8 = PyUnicode_AsUTF8AndSize(part, &size);
      if (utf8 == nullptr) throw py::error_already_set();
      rb::detail::append_json_string(out, std::string_view(utf8, static_cast<std::size_t>(size)));
    } else {
      out += py::str(py::handle(part)).cast<std::string>();  // an int (rblock.path checked it)
    }
  }
  return out + "]";
}

}  // namespace

bool wants_site() noexcept { return rb::reuse_policy() != rb::Reuse::allow || rb::tracing(); }

rb::Site caller_site() {
  PyFrameObject* frame = PyEval_GetFrame();  // borrowed
  Py_XINCREF(frame);
  while (frame != nullptr) {
    PyCodeObject* code = PyFrame_GetCode(frame);
    const bool skip = internal(code->co_filename);
    const rb::Site site{skip ? nullptr : kept_file(code->co_filename),
                        skip ? 0u : static_cast<std::uint32_t>(PyFrame_GetLineNumber(frame))};
    Py_DECREF(code);
    if (!skip) {
      Py_DECREF(frame);
      return site;
    }
    PyFrameObject* back = PyFrame_GetBack(frame);
    Py_DECREF(frame);
    frame = back;
  }
  return {nullptr, 0};
}

bool site_of(PyObject* site, rb::Site& out) {
  if (site == Py_None) {
    out = wants_site() ? caller_site() : rb::Site{nullptr, 0};
    return true;
  }
  if (!PyTuple_Check(site) || PyTuple_GET_SIZE(site) != 2 ||
      !PyUnicode_Check(PyTuple_GET_ITEM(site, 0))) {
    PyErr_SetString(PyExc_TypeError, "rblock: a site is (filename, line)");
    return false;
  }
  const unsigned long line = PyLong_AsUnsignedLong(PyTuple_GET_ITEM(site, 1));
  if (line == static_cast<unsigned long>(-1) && PyErr_Occurred()) return false;
  out = rb::Site{kept_file(PyTuple_GET_ITEM(site, 0)), static_cast<std::uint32_t>(line)};
  return true;
}

void set_audit_options(rb::detail::EntryOptions& options, rb::Site site, PyObject* path) {
  options.site = site;
  options.reporter.report = report_reuse;
  if (path != nullptr && path != Py_None && rb::tracing()) options.trace_path = path_json(path);
}

void add_audit_calls(py::module_& m) {
  m.def("set_reuse_policy", &rb::set_reuse_policy, py::arg("policy"), "rb::set_reuse_policy.");
  m.def("reuse_policy", &rb::reuse_policy, "rb::reuse_policy.");
  py::enum_<rb::Reuse>(m, "Reuse")
      .value("allow", rb::Reuse::allow)
      .value("warn", rb::Reuse::warn)
      .value("error", rb::Reuse::error);
  m.def("start_trace", &rb::start_trace, py::arg("path"), "rb::start_trace.");
  m.def("stop_trace", &rb::stop_trace, "rb::stop_trace.");
  m.def("tracing", &rb::tracing, "rb::tracing.");
  m.def(
      "set_trace_environment",
      [](std::string members) {
        rb::detail::set_trace_hooks(std::move(members), append_python_states);
      },
      py::arg("members"),
      "Python's members of a trace's first line (JSON, without braces); each block's line gets "
      "random's and NumPy's fingerprints.");
  m.def(
      "set_reuse_warning",
      [](py::object category) {
        g_reuse_warning = category.release().ptr();  // kept for the process
      },
      py::arg("category"), "The warning class of reuse reports (rblock.ReuseWarning).");
  m.def(
      "add_internal_file",
      [](py::str file) { g_internal_files.push_back(file.release().ptr()); },
      py::arg("file"), "A file whose frames are never the call site of a block.");
}

}  // namespace rbpy
