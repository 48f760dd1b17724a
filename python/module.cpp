// rblock._C: the bindings of rb's blocks for the Python package (python/rblock/__init__.py).
// Thin on purpose: Python validates arguments, then calls these, which change nothing on error.
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/empty.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <torch/csrc/Generator.h>

#include "audit_calls.hpp"
#include "fast_calls.hpp"
#include "python_generators.hpp"
#include "rb/block.hpp"
#include "rb/detail/mt_state.hpp"
#include "rb/generator.hpp"
#include "rb/path.hpp"
#include "rb/state.hpp"
#include "rb/stream.hpp"
#include "engine.hpp"
#include "torch_state.hpp"

namespace py = pybind11;

namespace {

// Note [Python generator states]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// A block installs into Python's `random` and NumPy's legacy global generator the full Mersenne
// Twister state of its key, as into torch's CPU generator (Note [Full Mersenne Twister state]):
// the 624 words of the python_random domain and of the numpy domain, each "624 words, none used
// yet", so the first draw twists the state, as after random.seed / np.random.seed. In the terms of
// random.setstate and np.random.set_state:
//   random:  (3, (w0, ..., w623, 624), None)        version 3, position 624, no cached gauss
//   numpy:   ("MT19937", (w0, ..., w623), 624, 0, 0.0)                      no cached gaussian
// rb writes them directly into the generators' C structs (Note [Direct writes] in
// python_generators.cpp), or, where the layout check failed, through those functions, with NumPy's
// words as a tuple of ints, not an array: set_state reads the key word by word, which costs 1 us
// from a tuple and 25 us from an array (each item of an array becomes a NumPy scalar).
// Either way it is O(1) (156 Philox calls per generator), whatever the block seed.

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

  auto& error = py::register_exception<rb::Error>(m, "Error", PyExc_RuntimeError);
  rbpy::add_fast_calls(m, error.ptr());
  rbpy::add_audit_calls(m);

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
  m.attr("TORCH") = static_cast<unsigned>(rbpy::kTorch);
  m.attr("RANDOM") = static_cast<unsigned>(rbpy::kRandom);
  m.attr("NUMPY") = static_cast<unsigned>(rbpy::kNumpy);

  m.def("init_python_generators", &rbpy::init_python_generators, py::arg("random"),
        py::arg("numpy"),
        "Finds random's and NumPy's global generators and checks the layouts of direct writes; "
        "numpy is the numpy module or None. Once, at import.");
  m.def("direct_generators", &rbpy::direct_generators,
        "RANDOM | NUMPY: the generators installed by direct writes (Note [Direct writes]).");
  m.def("_use_direct_writes", &rbpy::use_direct_writes, py::arg("on"),
        "Tests only: off, every Python generator goes through setstate.");

  m.def("set_seed", &rb::set_seed, py::arg("initial_seed"),
        "rb::set_seed: installs block 0 into torch's generators (Python's are rblock's job).");
  m.def("initial_seed", &rb::initial_seed, "rb::initial_seed; raises Error before set_seed.");
  m.def("reset_to_reference_state", &rb::reset_to_reference_state,
        "rb::reset_to_reference_state, for torch's generators.");
  m.def("block_depth", &rb::detail::block_depth, "The calling thread's number of open blocks.");
  m.def(
      "open_blocks",
      [] {
        py::list out;
        for (const rb::detail::OpenBlock& b : rb::detail::open_blocks()) {
          out.append(py::make_tuple(b.block_seed, b.ranks == rb::Ranks::distinct ? "distinct"
                                                                                  : "replicated"));
        }
        return out;
      },
      "The calling thread's open blocks, outermost first: (block seed, 'replicated' or "
      "'distinct').");

  m.def("set_rank", &rb::set_rank, py::arg("rank"), py::arg("world_size"), "rb::set_rank.");
  m.def(
      "known_rank",
      []() -> std::optional<py::tuple> {
        const std::optional<rb::RankInfo> known = rb::known_rank();
        if (!known) return std::nullopt;
        return py::make_tuple(known->rank, known->world_size);
      },
      "(rank, world size) of the last set_rank, or None.");

  m.def(
      "derive_key",
      [](std::uint64_t initial_seed, std::uint64_t block_seed) {
        return rb::key_value(rb::derive_key(initial_seed, block_seed));
      },
      py::arg("initial_seed"), py::arg("block_seed"), "rb::derive_key, as a 64-bit integer.");
  m.def(
      "engine_mark",
      [](std::uint64_t key, rb::Engine engine) { return rb::detail::engine_mark(rb::lo32(key), engine); },
      py::arg("key"), py::arg("engine"),
      "What torch.initial_seed() reports after rb installed key `key` under `engine` (Note [Engine "
      "mark]).");
  m.def(
      "rank_key",
      [](std::uint64_t key, std::uint32_t rank) {
        return rb::key_value(rb::rank_key(rb::make_key(key), rank));
      },
      py::arg("key"), py::arg("rank"), "rb::rank_key, on 64-bit integers.");
  m.def(
      "mt_state",
      [](std::uint64_t key, rb::Domain domain) {
        const auto words = rb::detail::mt_state(rb::make_key(key), domain);
        return py::tuple(py::cast(words));
      },
      py::arg("key"), py::arg("domain"),
      "The 624 Mersenne Twister words of `domain` under `key` (Note [Full Mersenne Twister state]).");
  m.def(
      "install_python_states",
      [](std::uint64_t key, unsigned which) {
        rbpy::install_python_states(rb::make_key(key), which);
      },
      py::arg("key"), py::arg("which"),
      "Installs the states of key `key` into the Python generators of `which` (RANDOM | NUMPY).");
  m.def(
      "install_worker_states",
      [](std::uint64_t key) {
        rb::detail::install_cpu_state(rb::make_key(key), rb::detail::active_engine());
        rbpy::install_python_states(rb::make_key(key), rbpy::kRandom | rbpy::kNumpy);
      },
      py::arg("key"),
      "Installs key `key` into torch's CPU generator (never CUDA), random and NumPy: a "
      "DataLoader worker's.");

  // rblock.state_dict / load_state_dict (python/rblock/checkpoint.py).
  m.def(
      "save_state",
      [] {
        const rb::State state = rb::save_state();
        return py::bytes(reinterpret_cast<const char*>(state.bytes.data()), state.bytes.size());
      },
      "rb::save_state's bytes.");
  m.def(
      "load_state",
      [](const py::bytes& bytes) {
        const std::string_view view(bytes);
        rb::load_state(rb::State{std::vector<std::uint8_t>(view.begin(), view.end())});
      },
      py::arg("bytes"), "rb::load_state: checks everything, then loads; changes nothing on error.");
  m.def(
      "restoring_python_states",
      [] {
        py::list out;
        for (const rbpy::SavedPythonStates* saved : rbpy::open_restoring_states()) {
          out.append(rbpy::saved_as_getstate(*saved));
        }
        return out;
      },
      "[(random state, NumPy state)] saved on entry by the calling thread's open restoring blocks.");
  m.def(
      "set_restoring_python_states",
      [](const py::list& states) {
        std::vector<rbpy::SavedPythonStates*> open = rbpy::open_restoring_states();
        if (open.size() != states.size()) throw rb::Error("rblock: another number of restoring blocks is open.");
        for (std::size_t i = 0; i < open.size(); ++i) {
          const py::tuple pair = states[i];
          *open[i] = rbpy::saved_from_getstate(pair[0], pair[1]);
        }
      },
      py::arg("states"), "Replaces those states (validated by rblock first).");

  // rblock.reserve, rblock.current_context and rblock.WorkerBlock (python/rblock/kernels.py).
  m.def(
      "reserve",
      [](std::uint64_t n_counters) {
        const rb::Stream s = rb::reserve(n_counters);
        return py::make_tuple(rb::key_value(s.key), s.base, s.domain, s.substream);
      },
      py::arg("n_counters"), "rb::reserve: (key, base, domain, substream) of the reservation.");
  m.def(
      "philox",
      [](std::array<std::uint32_t, 4> counter, std::uint64_t key) {
        const rb::Counter c{{counter[0], counter[1], counter[2], counter[3]}};
        const rb::Counter out = rb::philox(c, rb::make_key(key));
        return py::make_tuple(out.v[0], out.v[1], out.v[2], out.v[3]);
      },
      py::arg("counter"), py::arg("key"), "rb::philox of four 32-bit words under a 64-bit key.");
  m.def(
      "current_context",
      [] {
        const rb::BlockContext c = rb::current_context();
        return py::make_tuple(c.block_seed, rb::key_value(c.key), c.engine);
      },
      "rb::current_context: (block seed, key, engine) of the innermost block.");
  m.def(
      "enter_worker_block",
      [](std::uint64_t block_seed, std::uint64_t key, rb::Engine engine, std::uint32_t worker) {
        return rb::detail::enter_worker_block(
            rb::BlockContext{block_seed, rb::make_key(key), engine}, worker);
      },
      py::arg("block_seed"), py::arg("key"), py::arg("engine"), py::arg("worker"),
      "Enters an rb::WorkerBlock on the calling thread; returns its frame id.");
  m.def("exit_frame", &rb::detail::exit_block, py::arg("frame_id"),
        "Leaves the calling thread's innermost block, frame `frame_id` (Error if it is not).");

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
