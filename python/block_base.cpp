// rblock._C.BlockBase: __enter__ and __exit__ of rblock.block in C, so that a block costs little
// more than rb's own work (python/rblock/__init__.py's `block` derives from it).
#include "fast_calls.hpp"  // Python.h, before structmember.h

#include "audit_calls.hpp"

#include <structmember.h>

#include <cstddef>
#include <vector>

namespace rbpy {

namespace py = pybind11;

namespace {

// One open entry of a block object: the thread that entered it and the token to leave it.
struct Entry {
  unsigned long thread;
  PyObject* token;  // owned
};

struct BlockObject {
  PyObject_HEAD
  unsigned long long block_seed;
  char restore;   // T_BOOL
  char per_rank;  // T_BOOL
  int engine;     // 0 torch, 1 philox
  unsigned int which;  // TORCH | RANDOM | NUMPY
  std::vector<Entry>* entries;  // open entries, oldest first; allocated on the first entry
};

PyObject* g_rank_name = nullptr;         // "_rank": the rank of a per_rank block, from Python
PyObject* g_refused_name = nullptr;      // "_refused": raises a clearer error, or returns None
PyObject* g_not_entered_name = nullptr;  // "_not_entered": raises the error of a stray __exit__
PyObject* g_path_name = nullptr;         // "path": the path of a block, for the trace

// __enter__: every check of rblock.block's Python half first (its rank), then one enter().
PyObject* block_enter(PyObject* obj, PyObject*) {
  auto* self = reinterpret_cast<BlockObject*>(obj);
  long long rank = -1;
  if (self->per_rank) {
    PyObject* r = PyObject_CallMethodNoArgs(obj, g_rank_name);
    if (r == nullptr) return nullptr;
    rank = PyLong_AsLongLong(r);
    Py_DECREF(r);
    if (rank == -1 && PyErr_Occurred()) return nullptr;
  }
  const rb::Site site = wants_site() ? caller_site() : rb::Site{nullptr, 0};
  PyObject* path = nullptr;  // for the trace only; a block without one is traced by its seed
  if (rb::tracing() && (path = PyObject_GetAttr(obj, g_path_name)) == nullptr) PyErr_Clear();
  PyObject* token =
      enter(self->block_seed, self->restore != 0, self->engine, rank, self->which, site, path);
  Py_XDECREF(path);
  if (token == nullptr) {
    if (PyErr_ExceptionMatches(error_type())) {  // rb refused: Python may say more (unseeded)
      PyObject *type, *value, *traceback;
      PyErr_Fetch(&type, &value, &traceback);
      PyObject* r = PyObject_CallMethodNoArgs(obj, g_refused_name);
      if (r == nullptr) {
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(traceback);
        return nullptr;
      }
      Py_DECREF(r);
      PyErr_Restore(type, value, traceback);
    }
    return nullptr;
  }
  try {
    if (self->entries == nullptr) self->entries = new std::vector<Entry>();
    self->entries->push_back({PyThread_get_thread_ident(), token});
  } catch (const std::bad_alloc&) {
    PyObject* r = leave(token);
    Py_DECREF(token);
    Py_XDECREF(r);
    return PyErr_NoMemory();
  }
  Py_INCREF(obj);
  return obj;
}

// __exit__: leaves this thread's newest entry of this object; raises, keeping it open, when rb
// refuses (blocks entered after it are still open), so that leaving those first and calling
// __exit__ again works. A generator or coroutine being closed (GeneratorExit) never calls it again:
// its entry is then closed all the same (leave's `final`), and the error still raised.
PyObject* block_exit(PyObject* obj, PyObject* const* args, Py_ssize_t nargs) {
  auto* self = reinterpret_cast<BlockObject*>(obj);
  const unsigned long thread = PyThread_get_thread_ident();
  std::vector<Entry>* entries = self->entries;
  std::ptrdiff_t i = entries == nullptr ? -1 : static_cast<std::ptrdiff_t>(entries->size()) - 1;
  while (i >= 0 && (*entries)[i].thread != thread) --i;
  if (i < 0) {
    PyObject* r = PyObject_CallMethodNoArgs(obj, g_not_entered_name);
    Py_XDECREF(r);
    return nullptr;
  }
  PyObject* token = (*entries)[i].token;
  const bool final = nargs >= 1 && args[0] != Py_None &&
                     PyErr_GivenExceptionMatches(args[0], PyExc_GeneratorExit);
  PyObject* r = leave(token, final);
  if (r == nullptr && !final) return nullptr;
  Py_XDECREF(r);
  entries->erase(entries->begin() + i);
  Py_DECREF(token);
  if (r == nullptr) return nullptr;
  Py_RETURN_FALSE;
}

void block_dealloc(PyObject* obj) {
  auto* self = reinterpret_cast<BlockObject*>(obj);
  if (self->entries != nullptr) {
    for (const Entry& e : *self->entries) Py_DECREF(e.token);
    delete self->entries;
  }
  PyTypeObject* type = Py_TYPE(obj);
  type->tp_free(obj);
  Py_DECREF(type);  // instances of a heap type own a reference to it
}

PyMethodDef g_block_methods[] = {
    {"__enter__", block_enter, METH_NOARGS, "Enters the block on the calling thread."},
    {"__exit__", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(block_exit)),
     METH_FASTCALL, "Leaves this thread's newest entry of the block."},
    {nullptr, nullptr, 0, nullptr}};

PyMemberDef g_block_members[] = {
    {"block_seed", T_ULONGLONG, offsetof(BlockObject, block_seed), 0,
     "The block seed (of a path: rblock.path(*parts))."},
    {"restore", T_BOOL, offsetof(BlockObject, restore), 0, "Restore every generator on exit."},
    {"per_rank", T_BOOL, offsetof(BlockObject, per_rank), 0, "Each rank its own streams."},
    {"_engine", T_INT, offsetof(BlockObject, engine), 0, "0 torch, 1 philox."},
    {"_which", T_UINT, offsetof(BlockObject, which), 0, "TORCH | RANDOM | NUMPY."},
    {nullptr, 0, 0, 0, nullptr}};

PyType_Slot g_block_slots[] = {
    {Py_tp_doc, const_cast<char*>("The C half of rblock.block: fields, __enter__, __exit__.")},
    {Py_tp_new, reinterpret_cast<void*>(PyType_GenericNew)},
    {Py_tp_dealloc, reinterpret_cast<void*>(block_dealloc)},
    {Py_tp_methods, g_block_methods},
    {Py_tp_members, g_block_members},
    {0, nullptr}};

PyType_Spec g_block_spec = {"rblock._C.BlockBase", sizeof(BlockObject), 0,
                            Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, g_block_slots};

}  // namespace

void add_block_base(py::module_& m) {
  g_rank_name = PyUnicode_InternFromString("_rank");
  g_refused_name = PyUnicode_InternFromString("_refused");
  g_not_entered_name = PyUnicode_InternFromString("_not_entered");
  g_path_name = PyUnicode_InternFromString("path");
  if (!g_rank_name || !g_refused_name || !g_not_entered_name || !g_path_name) {
    throw py::error_already_set();
  }
  PyObject* type = PyType_FromSpec(&g_block_spec);
  if (type == nullptr) throw py::error_already_set();
  m.attr("BlockBase") = py::reinterpret_steal<py::object>(type);
}

}  // namespace rbpy
