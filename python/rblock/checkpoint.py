"""rblock.state_dict and rblock.load_state_dict: everything rb controls, for training checkpoints
that resume bit for bit (rb's C++ state, Python's ``random`` and NumPy's global generator).

    ckpt = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
            "rng": rblock.state_dict()}
    torch.save(ckpt, "last.pt")

    # in the new process: the same seed, the same blocks open, then load
    rblock.set_seed(42)
    with rblock.block("train"):
        ckpt = torch.load("last.pt", weights_only=True)
        model.load_state_dict(ckpt["model"]); optimizer.load_state_dict(ckpt["optimizer"])
        rblock.load_state_dict(ckpt["rng"])
        for epoch in range(ckpt["epoch"] + 1, epochs): ...
"""

import random

import torch

from . import _C

try:
    import numpy as _np
except ImportError:
    _np = None

FORMAT = 1  # of the dict; rb's own bytes carry their versions (Note [State bytes])
_KEYS = {"format", "rb", "random", "numpy", "restoring_blocks"}


def _error():
    from . import ArgumentError, ArgumentTypeError, Error  # defined by rblock/__init__.py

    return Error, ArgumentError, ArgumentTypeError


# ---- the forms: getstate tuples <-> dicts of plain ints, floats, None and lists ------------------


def _random_dict(state):
    if state is None:
        return None
    version, internal, gauss_next = state
    return {"version": version, "state": list(internal), "gauss_next": gauss_next}


def _numpy_dict(state):
    if state is None:
        return None
    _kind, words, pos, has_gauss, gauss = state
    return {"words": [int(w) for w in words], "pos": int(pos), "has_gauss": int(has_gauss),
            "gauss": float(gauss)}


def _random_state(d):
    return (d["version"], tuple(d["state"]), d["gauss_next"])


def _numpy_state(d):
    return ("MT19937", _np.array(d["words"], dtype=_np.uint32), d["pos"], d["has_gauss"], d["gauss"])


def _tell_rb_the_rank():
    """Passes the rank rblock takes from torch.distributed or RANK / WORLD_SIZE to rb (as
    rblock.set_rank does) when rb has none, so that rb's state records and checks it."""
    from .distributed import process_rank

    if _C.known_rank() is None:
        known = process_rank()
        if known is not None:
            _C.set_rank(*known)


def state_dict():
    """Everything rb controls, seen from the calling thread, as a dict of plain ints, floats, lists
    and a uint8 tensor, which ``torch.save`` writes and ``torch.load(..., weights_only=True)``
    reads: rb's state (the initial seed, the rank (as ``rblock.block(..., per_rank=True)`` finds
    it), the open blocks with their engines and
    positions, torch's CPU generator, every CUDA device's seed and offset; Note [State bytes]),
    Python ``random``'s and NumPy's states, and those that open restoring blocks will put back.
    Raises ``rblock.Error`` before ``rblock.set_seed``."""
    Error = _error()[0]
    _tell_rb_the_rank()
    try:
        rb_bytes = _C.save_state()
    except Error:
        raise Error("rblock.state_dict() called before set_seed: call rblock.set_seed(seed) once "
                    "at the start of the program.") from None
    return {
        "format": FORMAT,
        "rb": torch.frombuffer(bytearray(rb_bytes), dtype=torch.uint8),
        "random": _random_dict(random.getstate()),
        "numpy": _numpy_dict(_np.random.get_state()) if _np is not None else None,
        "restoring_blocks": [{"random": _random_dict(r), "numpy": _numpy_dict(n)}
                             for r, n in _C.restoring_python_states()],
    }


# ---- checks of a loaded dict: types and values, before anything changes -------------------------


def _expect(condition, what, kind="type"):
    Error, ArgumentError, ArgumentTypeError = _error()
    if not condition:
        raise (ArgumentTypeError if kind == "type" else ArgumentError)(
            f"rblock.load_state_dict: {what}; pass what rblock.state_dict() returned")


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def _check_words(words, n, where):
    _expect(isinstance(words, (list, tuple)) and all(_is_int(w) for w in words),
            f"{where} must be a list of ints")
    _expect(len(words) == n, f"{where} must hold {n} ints, not {len(words)}", "value")
    _expect(all(0 <= w < 2**32 for w in words), f"{where} must hold 32-bit words", "value")


def _check_random(d, where):
    if d is None:
        return
    _expect(isinstance(d, dict) and set(d) == {"version", "state", "gauss_next"},
            f"{where} must be a dict with keys version, state, gauss_next")
    _expect(d["version"] == 3, f"{where}['version'] must be 3 (random's state version)", "value")
    _check_words(d["state"], 625, f"{where}['state']")
    _expect(d["state"][-1] <= 624, f"{where}['state'] ends with a position above 624", "value")
    _expect(d["gauss_next"] is None or isinstance(d["gauss_next"], float),
            f"{where}['gauss_next'] must be None or a float")


def _check_numpy(d, where):
    if d is None:
        return
    _expect(isinstance(d, dict) and set(d) == {"words", "pos", "has_gauss", "gauss"},
            f"{where} must be a dict with keys words, pos, has_gauss, gauss")
    _check_words(d["words"], 624, f"{where}['words']")
    _expect(_is_int(d["pos"]) and _is_int(d["has_gauss"]) and isinstance(d["gauss"], float),
            f"{where}: pos and has_gauss must be ints, gauss a float")
    _expect(0 <= d["pos"] <= 624 and d["has_gauss"] in (0, 1), f"{where}: pos or has_gauss out of range",
            "value")


def _check(state):
    _expect(isinstance(state, dict), f"the state must be a dict, not {type(state).__name__}")
    _expect(set(state) == _KEYS, f"the state must have the keys {sorted(_KEYS)}, it has {sorted(state)}",
            "value")
    _expect(state["format"] == FORMAT, f"the state has format {state['format']!r}, this rblock reads "
            f"format {FORMAT}", "value")
    rb = state["rb"]
    _expect(isinstance(rb, torch.Tensor) and rb.dtype == torch.uint8 and rb.dim() == 1,
            "state['rb'] must be a 1-D uint8 tensor")
    _check_random(state["random"], "state['random']")
    _expect(state["random"] is not None, "state['random'] must not be None", "value")
    _check_numpy(state["numpy"], "state['numpy']")
    _expect((state["numpy"] is None) == (_np is None),
            "state['numpy'] must be None exactly when NumPy is not installed", "value")
    blocks = state["restoring_blocks"]
    _expect(isinstance(blocks, list), "state['restoring_blocks'] must be a list")
    open_now = _C.restoring_python_states()
    _expect(len(blocks) == len(open_now), f"the state was saved inside {len(blocks)} restoring blocks "
            f"entered from Python, this thread has {len(open_now)} open: enter the same blocks first",
            "value")
    for i, (b, (r, n)) in enumerate(zip(blocks, open_now)):
        where = f"state['restoring_blocks'][{i}]"
        _expect(isinstance(b, dict) and set(b) == {"random", "numpy"}, f"{where} must be a dict with "
                "keys random, numpy")
        _check_random(b["random"], f"{where}['random']")
        _check_numpy(b["numpy"], f"{where}['numpy']")
        _expect((b["random"] is None) == (r is None) and (b["numpy"] is None) == (n is None),
                f"{where} covers other generators than the open block (its generators=)", "value")


def load_state_dict(state):
    """Continues where ``state`` (from ``rblock.state_dict``) was saved. The calling thread must be
    in the same situation: the same initial seed (``rblock.set_seed``), rank, world size and default
    engine, the same blocks open. Every check comes first; a mismatch, a missing key, a wrong type
    or damaged bytes raise ``rblock.Error`` (``ArgumentError`` / ``ArgumentTypeError`` for the
    dict's shape) naming what differs, and nothing is changed."""
    Error = _error()[0]
    _check(state)
    _tell_rb_the_rank()
    try:
        _C.load_state(state["rb"].contiguous().numpy().tobytes())
    except Error as e:
        if "before rb::set_seed" in str(e):
            raise Error("rblock.load_state_dict() called before set_seed: call rblock.set_seed(seed) "
                        "with the seed of the saved run first.") from None
        raise Error(str(e).replace("rb::load_state", "rblock.load_state_dict")
                    .replace("rb::set_seed", "rblock.set_seed")) from None
    # Checked above, so neither can fail now.
    random.setstate(_random_state(state["random"]))
    if _np is not None:
        _np.random.set_state(_numpy_state(state["numpy"]))
    _C.set_restoring_python_states([
        (None if b["random"] is None else _random_state(b["random"]),
         None if b["numpy"] is None else _numpy_state(b["numpy"]))
        for b in state["restoring_blocks"]])
