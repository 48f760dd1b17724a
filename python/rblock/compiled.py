"""rb under torch.compile: compiled code draws what eager code draws. See "torch.compile and
torch.export" in rb's README.

Note [Random ops under torch.compile]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
By default Inductor replaces torch's random ops with its own Philox, seeded by a draw from torch's
default generator: a compiled function then draws other numbers than its eager twin, and in a
philox-engine block it would not draw rb's numbers at all. Inductor's ``fallback_random`` config
keeps every random op a call to the op's eager kernel, through the dispatcher, never removing an
unused one, while the rest of the graph is compiled and fused as usual. rb turns it on when it is
seeded (``rblock.set_seed``) and relies on it from then on. Where Inductor does not chain those
calls in program order itself (torch 2.11; 2.15 does), rb also turns off the two passes that move
independent nodes (``reorder_for_locality``, ``reorder_for_peak_memory``): they swapped draws.
Each call then reaches rb's kernels at run time and picks its engine there, as in eager code
(``Note [Philox engine streams]``): the engine marked in torch's CPU generator state, else the
calling thread's. So one compiled graph serves every block and both engines without a recompile,
and it keeps working where the engine is only known at run time (a checkpoint's recompute after
its block closed). In a philox-engine block, compiled draws equal eager draws bit for bit; in a
torch-engine block they are torch's eager draws from the block's installed state.

The alternatives were worse: deciding the engine when Dynamo traces needs a guard on it that
Dynamo cannot express (the engine mark lives in torch's generator state), so a graph traced in one
engine would silently serve the other; and replacing random ops by opaque custom ops means
fighting Inductor's decompositions, its caches (keyed on the graph before the replacement) and
its reordering, release by release.

Importing Dynamo takes about a second, so rb does not import it: if ``torch._dynamo`` is not loaded
yet, a one-shot import hook applies the setting when it is. A compilation that starts while rb is
seeded and one of these settings has been changed back is refused with ``rblock.Error``, before
anything is traced (``torch._dynamo.reset()`` drops that check with every other compile callback;
the next ``rblock.set_seed`` registers it again).
"""

import functools
import importlib.abc
import importlib.util
import sys
import threading

_DYNAMO = "torch._dynamo"
_lock = threading.Lock()


def _chains_random_ops():
    """Whether this torch's Inductor keeps fallback random ops in program order by itself (torch
    2.15 does; 2.11 does not). Read from its source, so that nothing of Inductor is imported."""
    spec = importlib.util.find_spec("torch._inductor.fx_passes.post_grad")
    try:
        with open(spec.origin, encoding="utf-8") as source:
            return "_chain_random_ops_for_ordering" in source.read()
    except (AttributeError, OSError, TypeError):
        return False


@functools.lru_cache(maxsize=None)
def _required():
    """The Inductor settings rb needs: fallback_random, and where Inductor does not order the
    random ops it leaves as calls, no pass that moves them (both move independent nodes)."""
    required = {"fallback_random": True}
    if not _chains_random_ops():
        required.update(reorder_for_locality=False, reorder_for_peak_memory=False)
    return required


def _check_on_compile_start(*_args):
    import torch._inductor.config as inductor_config

    changed = [k for k, v in _required().items() if getattr(inductor_config, k) != v]
    if changed:
        from . import Error

        names = ", ".join(f"{k}={_required()[k]}" for k in changed)
        raise Error(
            f"rblock: torch._inductor.config was changed after rblock.set_seed ({names} is what "
            "rb set), but rb needs it under torch.compile: without fallback_random Inductor "
            "replaces random ops with its own generator (and this torch's Inductor reorders "
            "them unless those passes are off), so compiled code would draw other numbers than "
            "eager code, and not rb's in a philox-engine block. Leave rb's settings "
            "(rblock.set_seed makes them), or compile before seeding rb."
        )


def _apply():
    """Turns fallback_random on and registers the check (again after torch._dynamo.reset(), which
    drops every callback); torch._dynamo is imported."""
    import torch._dynamo.callback as callback
    import torch._inductor.config as inductor_config

    for key, value in _required().items():
        setattr(inductor_config, key, value)
    with _lock:
        if _check_on_compile_start not in callback.callback_handler.start_callbacks:
            callback.on_compile_start(_check_on_compile_start)


class _AfterDynamoImport(importlib.abc.MetaPathFinder):
    """Runs _apply() right after torch._dynamo's own module code, once."""

    def find_spec(self, fullname, path, target=None):
        if fullname != _DYNAMO:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_apply(module):
            exec_module(module)
            _apply()

        spec.loader.exec_module = exec_then_apply
        return spec


_hook = _AfterDynamoImport()


def own_fallback_random():
    """Called by rblock.set_seed: see Note [Random ops under torch.compile]."""
    if _DYNAMO in sys.modules:
        _apply()
    elif _hook not in sys.meta_path:
        sys.meta_path.insert(0, _hook)
