// Installs, saves and restores the states of Python's `random` and NumPy's legacy global generator:
// by direct writes into their C structs where a check at import validated the layout, else
// through random.setstate / np.random.set_state. See Note [Direct writes].
#include "python_generators.hpp"

#include <cstddef>
#include <cstring>

#include "rb/detail/mt_state.hpp"
#include "torch_state.hpp"

namespace rbpy {
namespace {

constexpr int kWords = rb::detail::kMtStateWords;

// Note [Direct writes]
// ~~~~~~~~~~~~~~~~~~~~
// random.setstate and np.random.set_state take a state as 624 Python ints: building and parsing
// them was most of the 21 us a Python block cost in rb 0.1. rb writes the same words (Note [Python
// generator states]) straight into the generators' C structs instead:
//
//   random: CPython's RandomObject (Modules/_randommodule.c): PyObject_HEAD, int index,
//           uint32_t state[624]; random.Random keeps its cached gauss in the attribute gauss_next,
//           which rb sets to None as setstate does.
//   NumPy:  the mt19937_state at MT19937.ctypes.state_address (NumPy's public address of it;
//           numpy/random/src/mt19937/mt19937.h: uint32_t key[624], int pos), and the legacy
//           RandomState's cached gaussian (aug_bitgen_t: bitgen_t* bit_generator, int has_gauss,
//           double gauss), which NumPy does not expose.
//
// Neither layout is an API, so init_python_generators checks each on a private instance: words
// given to setstate must appear where rb reads them, and words rb writes must come back from
// getstate and draw what setstate's would. RandomState's gaussian cache is found the same way:
// set_state(has_gauss=1, gauss=G) for a distinctive G, then the one 8-aligned place in the object
// holding G, preceded by the int 1 and by a pointer into the object itself (aug_bitgen_t's
// bit_generator points at the RandomState's own bitgen_t), must follow further set_state calls, and
// writes there must show in get_state. A generator whose check fails (another CPython, a
// free-threaded build, a NumPy that moved things) is installed through setstate: the same bits,
// slower. Like setstate, a direct write takes no lock: a block changes these process-wide
// generators for every thread (README, Threads).

struct RandomObjectLayout {
  PyObject_HEAD
  int index;
  std::uint32_t state[kWords];
};

struct Mt19937StateLayout {
  std::uint32_t key[kWords];
  int pos;
};

// Distinctive cached gaussians for the probe (any doubles that no RandomState holds by chance).
constexpr double kProbeGauss = 0.8414709848078965;      // sin(1)
constexpr double kProbeGaussOther = 0.5403023058681398; // cos(1)

// The generators, held for the life of the process (never released: they outlive any block).
struct Targets {
  PyObject* random_module = nullptr;
  PyObject* random_instance = nullptr;  // the instance behind random.random, random.setstate, ...
  bool random_layout_ok = false;
  PyObject* numpy_random = nullptr;  // numpy.random, or nullptr without NumPy
  PyObject* numpy_rand = nullptr;    // numpy.random.mtrand._rand, the legacy global RandomState
  PyObject* mt19937_type = nullptr;
  bool numpy_layout_ok = false;
  std::ptrdiff_t has_gauss_offset = 0, gauss_offset = 0;  // in a RandomState
  PyObject* cached_bit_generator = nullptr;               // the MT19937 whose state cached_state is
  Mt19937StateLayout* cached_state = nullptr;
  bool direct_enabled = true;
  PyObject* str_gauss_next = nullptr;  // interned attribute names
  PyObject* str_bit_generator = nullptr;
};
Targets g;

PyObject* interned(const char* s) {
  PyObject* out = PyUnicode_InternFromString(s);
  if (out == nullptr) throw py::error_already_set();
  return out;
}

py::tuple int_tuple(const std::uint32_t* words, std::size_t n,
                    std::initializer_list<long> extra = {}) {
  py::tuple out(n + extra.size());
  std::size_t i = 0;
  for (; i < n; ++i) PyTuple_SET_ITEM(out.ptr(), i, py::int_(words[i]).release().ptr());
  for (long x : extra) PyTuple_SET_ITEM(out.ptr(), i++, py::int_(x).release().ptr());
  return out;
}

RandomObjectLayout* random_layout(PyObject* obj) {
  return reinterpret_cast<RandomObjectLayout*>(obj);
}

template <class T>
T& field(PyObject* obj, std::ptrdiff_t offset) {
  return *reinterpret_cast<T*>(reinterpret_cast<char*>(obj) + offset);
}

Mt19937StateLayout* state_of(py::handle bit_generator) {
  const auto address = bit_generator.attr("ctypes").attr("state_address").cast<std::uintptr_t>();
  return reinterpret_cast<Mt19937StateLayout*>(address);
}

// ---- random ----

py::tuple random_state_tuple(const std::uint32_t* words) {
  return py::make_tuple(3, int_tuple(words, kWords, {kWords}), py::none());
}

bool random_layout_checks_out(py::module_ random) {
  auto* base = reinterpret_cast<PyTypeObject*>(py::module_::import("_random").attr("Random").ptr());
  if (base->tp_basicsize != static_cast<Py_ssize_t>(sizeof(RandomObjectLayout))) return false;
  if (Py_TYPE(g.random_instance) != reinterpret_cast<PyTypeObject*>(random.attr("Random").ptr())) {
    return false;
  }
  const auto a = rb::detail::mt_state(rb::derive_key(1, 2), rb::Domain::python_random);
  const auto b = rb::detail::mt_state(rb::derive_key(3, 4), rb::Domain::python_random);
  py::object probe = random.attr("Random")();
  // Through setstate, read directly.
  probe.attr("setstate")(py::make_tuple(3, int_tuple(a.data(), kWords, {17}), py::none()));
  RandomObjectLayout* raw = random_layout(probe.ptr());
  if (raw->index != 17 || std::memcmp(raw->state, a.data(), sizeof raw->state) != 0) return false;
  // Written directly, read through getstate and draws.
  std::memcpy(raw->state, b.data(), sizeof raw->state);
  raw->index = kWords;
  probe.attr("gauss_next") = py::none();
  py::object reference = random.attr("Random")();
  reference.attr("setstate")(random_state_tuple(b.data()));
  if (!probe.attr("getstate")().equal(reference.attr("getstate")())) return false;
  for (int i = 0; i < 3; ++i) {
    if (!probe.attr("getrandbits")(64).equal(reference.attr("getrandbits")(64))) return false;
  }
  return true;
}

// ---- NumPy ----

py::tuple numpy_state_tuple(py::handle words, long pos, int has_gauss, double gauss) {
  return py::make_tuple("MT19937", words, pos, has_gauss, gauss);
}

// The offset of RandomState's has_gauss, found as Note [Direct writes] says; 0 if not found.
std::ptrdiff_t find_has_gauss(py::object probe, py::handle words) {
  probe.attr("set_state")(numpy_state_tuple(words, 17, 1, kProbeGauss));
  PyObject* obj = probe.ptr();
  const std::ptrdiff_t size = Py_TYPE(obj)->tp_basicsize;
  const auto* begin = reinterpret_cast<const char*>(obj);
  std::ptrdiff_t found = 0;
  const std::ptrdiff_t first = 16 + static_cast<std::ptrdiff_t>(sizeof(PyObject));
  for (std::ptrdiff_t o = first; o + 8 <= size; o += 8) {
    double gauss;
    int has_gauss;
    const char* pointer;
    std::memcpy(&gauss, begin + o, sizeof gauss);
    std::memcpy(&has_gauss, begin + o - 8, sizeof has_gauss);
    std::memcpy(&pointer, begin + o - 16, sizeof pointer);
    if (gauss == kProbeGauss && has_gauss == 1 && pointer >= begin && pointer < begin + size) {
      if (found != 0) return 0;  // ambiguous
      found = o - 8;
    }
  }
  return found;
}

bool numpy_layout_checks_out(py::object numpy_random) {
  py::object random_state = numpy_random.attr("RandomState");
  if (Py_TYPE(g.numpy_rand) != reinterpret_cast<PyTypeObject*>(random_state.ptr())) return false;
  py::object probe = random_state();
  py::object bit_generator = probe.attr("_bit_generator");
  if (Py_TYPE(bit_generator.ptr()) != reinterpret_cast<PyTypeObject*>(g.mt19937_type)) return false;
  const auto a = rb::detail::mt_state(rb::derive_key(5, 6), rb::Domain::numpy);
  const auto b = rb::detail::mt_state(rb::derive_key(7, 8), rb::Domain::numpy);
  py::tuple a_words = int_tuple(a.data(), kWords), b_words = int_tuple(b.data(), kWords);

  const std::ptrdiff_t has_gauss = find_has_gauss(probe, a_words);
  if (has_gauss == 0) return false;
  const std::ptrdiff_t gauss = has_gauss + 8;
  Mt19937StateLayout* state = state_of(bit_generator);
  if (state->pos != 17 || std::memcmp(state->key, a.data(), sizeof state->key) != 0) return false;
  probe.attr("set_state")(numpy_state_tuple(a_words, 17, 0, 0.0));
  if (field<int>(probe.ptr(), has_gauss) != 0 || field<double>(probe.ptr(), gauss) != 0.0) {
    return false;
  }
  // Written directly (with a cached gaussian), read through get_state.
  std::memcpy(state->key, b.data(), sizeof state->key);
  state->pos = kWords;
  field<int>(probe.ptr(), has_gauss) = 1;
  field<double>(probe.ptr(), gauss) = kProbeGaussOther;
  py::object reference = random_state();
  reference.attr("set_state")(numpy_state_tuple(b_words, kWords, 1, kProbeGaussOther));
  py::tuple got = probe.attr("get_state")(), want = reference.attr("get_state")();
  if (!got[1].attr("tolist")().equal(want[1].attr("tolist")())) return false;
  for (int i : {0, 2, 3, 4}) {
    if (!got[i].equal(want[i])) return false;
  }
  // And draws, the cached gaussian first.
  for (const char* draw : {"standard_normal", "standard_normal", "random_sample"}) {
    if (!probe.attr(draw)().equal(reference.attr(draw)())) return false;
  }
  g.has_gauss_offset = has_gauss;
  g.gauss_offset = gauss;
  return true;
}

// The global RandomState's MT19937 state, or nullptr when its bit generator is no MT19937 any more
// (np.random.set_bit_generator): then set_state is called, and refuses as it always did.
Mt19937StateLayout* global_numpy_state() {
  PyObject* bit_generator = PyObject_GetAttr(g.numpy_rand, g.str_bit_generator);
  if (bit_generator == nullptr) throw py::error_already_set();
  if (bit_generator == g.cached_bit_generator) {
    Py_DECREF(bit_generator);
    return g.cached_state;
  }
  if (Py_TYPE(bit_generator) != reinterpret_cast<PyTypeObject*>(g.mt19937_type)) {
    Py_DECREF(bit_generator);
    return nullptr;
  }
  Mt19937StateLayout* state = state_of(bit_generator);
  Py_XDECREF(g.cached_bit_generator);
  g.cached_bit_generator = bit_generator;  // keeps it alive, so that its address stays its own
  g.cached_state = state;
  return state;
}

bool random_direct() { return g.direct_enabled && g.random_layout_ok; }
bool numpy_direct() { return g.direct_enabled && g.numpy_layout_ok; }

// Checks a layout; an error inside a check means "not this layout", never a failed import.
template <class Check>
bool checks_out(Check check) {
  try {
    return check();
  } catch (py::error_already_set&) {
    return false;
  }
}

}  // namespace

void init_python_generators(py::module_ random, py::object numpy) {
  g.str_gauss_next = interned("gauss_next");
  g.str_bit_generator = interned("_bit_generator");
  g.random_module = random.inc_ref().ptr();
  g.random_instance = py::object(random.attr("setstate").attr("__self__")).release().ptr();
  g.random_layout_ok = checks_out([&] { return random_layout_checks_out(random); });
  if (numpy.is_none()) return;
  py::object numpy_random = numpy.attr("random");
  g.numpy_random = numpy_random.inc_ref().ptr();
  py::object legacy = py::module_::import("numpy.random.mtrand").attr("_rand");
  g.numpy_rand = legacy.release().ptr();
  g.mt19937_type = py::object(numpy_random.attr("MT19937")).release().ptr();
  g.numpy_layout_ok = checks_out([&] { return numpy_layout_checks_out(numpy_random); });
}

void install_python_states(rb::Key key, unsigned which) {
  std::uint32_t words[kWords];
  if (which & kRandom) {
    if (random_direct()) {
      RandomObjectLayout* raw = random_layout(g.random_instance);
      rb::detail::fill_mt_state(key, rb::Domain::python_random, raw->state);
      raw->index = kWords;  // none used yet: see Note [Python generator states]
      if (PyObject_SetAttr(g.random_instance, g.str_gauss_next, Py_None) < 0) {
        throw py::error_already_set();
      }
    } else {
      rb::detail::fill_mt_state(key, rb::Domain::python_random, words);
      py::handle(g.random_module).attr("setstate")(random_state_tuple(words));
    }
  }
  if ((which & kNumpy) && g.numpy_random != nullptr) {
    Mt19937StateLayout* state = numpy_direct() ? global_numpy_state() : nullptr;
    if (state != nullptr) {
      rb::detail::fill_mt_state(key, rb::Domain::numpy, state->key);
      state->pos = kWords;
      field<int>(g.numpy_rand, g.has_gauss_offset) = 0;
      field<double>(g.numpy_rand, g.gauss_offset) = 0.0;
    } else {
      rb::detail::fill_mt_state(key, rb::Domain::numpy, words);
      py::handle(g.numpy_random)
          .attr("set_state")(numpy_state_tuple(int_tuple(words, kWords), kWords, 0, 0.0));
    }
  }
}

SavedPythonStates save_python_states(unsigned which) {
  SavedPythonStates saved;
  saved.which = which;
  if (which & kRandom) {
    if (random_direct()) {
      saved.random_direct = true;
      const RandomObjectLayout* raw = random_layout(g.random_instance);
      saved.random_index = raw->index;
      std::memcpy(saved.random_words.data(), raw->state, sizeof raw->state);
      saved.random_gauss_next = py::handle(g.random_instance).attr(g.str_gauss_next);
    } else {
      saved.random_state = py::handle(g.random_module).attr("getstate")();
    }
  }
  if ((which & kNumpy) && g.numpy_random != nullptr) {
    const Mt19937StateLayout* state = numpy_direct() ? global_numpy_state() : nullptr;
    if (state != nullptr) {
      saved.numpy_direct = true;
      saved.numpy_bit_generator = py::reinterpret_borrow<py::object>(g.cached_bit_generator);
      std::memcpy(saved.numpy_words.data(), state->key, sizeof state->key);
      saved.numpy_pos = state->pos;
      saved.numpy_has_gauss = field<int>(g.numpy_rand, g.has_gauss_offset);
      saved.numpy_gauss = field<double>(g.numpy_rand, g.gauss_offset);
    } else {
      py::tuple t = py::handle(g.numpy_random).attr("get_state")();
      // A list, not the array: set_state reads it 20 us faster (Note [Python generator states]).
      saved.numpy_state = py::make_tuple(t[0], t[1].attr("tolist")(), t[2], t[3], t[4]);
    }
  }
  return saved;
}

void restore_python_states(const SavedPythonStates& saved) {
  if (saved.which & kRandom) {
    if (saved.random_direct) {
      RandomObjectLayout* raw = random_layout(g.random_instance);
      raw->index = saved.random_index;
      std::memcpy(raw->state, saved.random_words.data(), sizeof raw->state);
      PyObject* gauss_next = saved.random_gauss_next.ptr();
      if (PyObject_SetAttr(g.random_instance, g.str_gauss_next, gauss_next) < 0) {
        throw py::error_already_set();
      }
    } else {
      py::handle(g.random_module).attr("setstate")(saved.random_state);
    }
  }
  if ((saved.which & kNumpy) && g.numpy_random != nullptr) {
    if (saved.numpy_direct) {
      Mt19937StateLayout* state = global_numpy_state();
      if (state != nullptr && g.cached_bit_generator == saved.numpy_bit_generator.ptr()) {
        std::memcpy(state->key, saved.numpy_words.data(), sizeof state->key);
        state->pos = saved.numpy_pos;
        field<int>(g.numpy_rand, g.has_gauss_offset) = saved.numpy_has_gauss;
        field<double>(g.numpy_rand, g.gauss_offset) = saved.numpy_gauss;
        return;
      }
      // The bit generator was replaced inside the block: put the words back through set_state.
      py::handle(g.numpy_random)
          .attr("set_state")(numpy_state_tuple(int_tuple(saved.numpy_words.data(), kWords),
                                               saved.numpy_pos, saved.numpy_has_gauss,
                                               saved.numpy_gauss));
    } else {
      py::handle(g.numpy_random).attr("set_state")(saved.numpy_state);
    }
  }
}

unsigned direct_generators() {
  return (random_direct() ? kRandom : 0u) | (numpy_direct() && g.numpy_random ? kNumpy : 0u);
}

void use_direct_writes(bool on) { g.direct_enabled = on; }

}  // namespace rbpy
