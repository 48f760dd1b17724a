// rblock._C: the bindings of rb's blocks for the Python package (python/rblock/__init__.py).
// Thin on purpose: Python validates arguments, then calls these, which change nothing on error.
#include <array>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/empty.h>
#include <pybind11/pybind11.h>
#include <torch/csrc/Generator.h>

#include "rb/block.hpp"
#include "rb/generator.hpp"
#include "rb/detail/mt_state.hpp"
#include "rb/stream.hpp"

namespace py = pybind11;

namespace {

using Words = std::array<std::uint32_t, rb::detail::kMtStateWords>;

// Note [Python generator states]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// A block installs into Python's `random` and NumPy's legacy global generator the full Mersenne
// Twister state of its key, as into torch's CPU generator (Note [Full Mersenne Twister state]):
// the 624 words of the python_random domain and of the numpy domain, each "624 words, none used
// yet", so the first draw twists the state, as after random.seed / np.random.seed. The objects
// returned here are what random.setstate and np.random.set_state take:
//   random:  (3, (w0, ..., w623, 624), None)        version 3, position 624, no cached gauss
//   numpy:   (w0, ..., w623), for ("MT19937", words, 624, 0, 0.0)
// NumPy's words are a tuple of ints, not an array: set_state reads the key word by word, which
// costs 1 us from a tuple and 25 us from an array (each item of an array becomes a NumPy scalar).
// Both are built in O(1) (156 Philox calls each), whatever the block seed.

// The ints `words`, then `extra` ones, as a tuple.
py::tuple int_tuple(const Words& words, std::initializer_list<std::size_t> extra = {}) {
  py::tuple out(words.size() + extra.size());
  std::size_t i = 0;
  for (std::uint32_t w : words) PyTuple_SET_ITEM(out.ptr(), i++, py::int_(w).release().ptr());
  for (std::size_t x : extra) PyTuple_SET_ITEM(out.ptr(), i++, py::int_(x).release().ptr());
  return out;
}

// (random state, numpy words) of the block with key `key`. See Note [Python generator states].
py::tuple python_states(rb::Key key) {
  const Words random_words = rb::detail::mt_state(key, rb::Domain::python_random);
  const Words numpy_words = rb::detail::mt_state(key, rb::Domain::numpy);
  return py::make_tuple(py::make_tuple(3, int_tuple(random_words, {random_words.size()}), py::none()),
                        int_tuple(numpy_words));
}

// The torch.Generator of `gen` (the same Python object for the same generator), through
// libtorch_python.
py::object wrap(const at::Generator& gen) {
  PyObject* obj = THPGenerator_Wrap(gen);
  if (obj == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(obj);
}

}  // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "rb's blocks for Python: the C++ half of rblock (use rblock, not this module).";

  py::register_exception<rb::Error>(m, "Error", PyExc_RuntimeError);

  py::enum_<rb::Engine>(m, "Engine")
      .value("torch", rb::Engine::torch)
      .value("philox", rb::Engine::philox);
  py::enum_<rb::Domain>(m, "Domain")
      .value("rb_stream", rb::Domain::rb_stream)
      .value("torch_cpu", rb::Domain::torch_cpu)
      .value("torch_cuda", rb::Domain::torch_cuda)
      .value("python_random", rb::Domain::python_random)
      .value("numpy", rb::Domain::numpy);

  m.attr("stream_version") = rb::kStreamVersion;

  m.def("set_seed", &rb::set_seed, py::arg("initial_seed"),
        "rb::set_seed: installs block 0 into torch's generators (Python's are rblock's job).");
  m.def("initial_seed", &rb::initial_seed, "rb::initial_seed; raises Error before set_seed.");
  m.def("reset_to_reference_state", &rb::reset_to_reference_state,
        "rb::reset_to_reference_state, for torch's generators.");
  m.def(
      "enter_block",
      [](std::uint64_t block_seed, bool restore, rb::Engine engine) {
        return rb::detail::enter_block(block_seed, restore ? rb::OnExit::restore : rb::OnExit::keep,
                                       engine);
      },
      py::arg("block_seed"), py::arg("restore"), py::arg("engine"),
      "Enters a block on the calling thread (torch's generators) and returns its frame id.");
  m.def("exit_block", &rb::detail::exit_block, py::arg("frame_id"),
        "Leaves the calling thread's innermost block; raises Error, changing nothing, otherwise.");
  m.def("close_block", &rb::detail::close_block, py::arg("frame_id"),
        "Closes the calling thread's block wherever it is in the stack, leaving torch's generators "
        "as they are; False if it is not open on this thread.");
  m.def("block_depth", &rb::detail::block_depth, "The calling thread's number of open blocks.");

  m.def(
      "derive_key",
      [](std::uint64_t initial_seed, std::uint64_t block_seed) {
        return rb::key_value(rb::derive_key(initial_seed, block_seed));
      },
      py::arg("initial_seed"), py::arg("block_seed"), "rb::derive_key, as a 64-bit integer.");
  m.def(
      "mt_state",
      [](std::uint64_t key, rb::Domain domain) {
        return int_tuple(rb::detail::mt_state(rb::make_key(key), domain));
      },
      py::arg("key"), py::arg("domain"),
      "The 624 Mersenne Twister words of `domain` under `key` (Note [Full Mersenne Twister state]).");
  m.def(
      "python_states", [](std::uint64_t key) { return python_states(rb::make_key(key)); },
      py::arg("key"), "(random state, numpy words) of key `key`; see Note [Python generator states].");
  m.def(
      "block_python_states",
      [](std::uint64_t block_seed) {
        return python_states(rb::derive_key(rb::initial_seed(), block_seed));
      },
      py::arg("block_seed"),
      "python_states of block `block_seed` under the current initial seed; Error before set_seed.");

  // at::Generator -> torch.Generator goes through libtorch_python's THPGenerator_Wrap. The private
  // probe returns torch.default_generator that way, so the tests check the link itself.
  m.def("_default_cpu_generator", [] { return wrap(at::detail::getDefaultCPUGenerator()); });
  m.def(
      "generator",
      [](std::uint64_t block_seed, const std::string& device) {
        return wrap(rb::make_generator(block_seed, c10::Device(device)));
      },
      py::arg("block_seed"), py::arg("device"),
      "rb::make_generator as a torch.Generator; Error before set_seed.");
  m.def(
      "is_generator",
      [](py::handle obj) {
        return THPGenerator_Check(obj.ptr()) &&
               rb::detail::is_rb_generator(reinterpret_cast<THPGenerator*>(obj.ptr())->cdata);
      },
      py::arg("obj"), "Whether `obj` is one of rb's generators (a torch.Generator either way).");
  m.def(
      "generator_from_state",
      [](const py::bytes& state, const std::string& device) {
        const std::string bytes = state;
        at::Tensor tensor = at::empty({static_cast<std::int64_t>(bytes.size())}, at::kByte);
        std::memcpy(tensor.data_ptr(), bytes.data(), bytes.size());
        return wrap(rb::detail::generator_from_state(tensor, c10::Device(device)));
      },
      py::arg("state"), py::arg("device"),
      "rb's generator on `device` at `state` (the bytes of its get_state()); no set_seed needed.");
}
