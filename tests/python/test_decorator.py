"""Decorated functions keep their name, docstring, signature, positional and keyword arguments and
return value, in both modules, and run exactly what a with-statement runs."""

import inspect

import pytest
import torch

import rblock
from conftest import draws

# Tests here enter one block from two lines on purpose, to compare what it draws there.
pytestmark = pytest.mark.filterwarnings("ignore::rblock.ReuseWarning")


def make(api):
    @api.block(128)
    def train(model, data, *extra, lr=0.1, epochs=2, **options):
        """Trains `model` on `data`."""
        return {"model": model, "data": data, "extra": extra, "lr": lr, "epochs": epochs,
                "options": options, "draws": draws()}

    return train


def test_keeps_name_docstring_and_signature(api):
    train = make(api)
    assert train.__name__ == "train"
    assert train.__doc__ == "Trains `model` on `data`."
    assert str(inspect.signature(train)) == "(model, data, *extra, lr=0.1, epochs=2, **options)"
    assert callable(train.__wrapped__)


def test_passes_positional_and_keyword_arguments_and_returns(api):
    train = make(api)
    out = train("net", [1, 2], "x", lr=0.5, momentum=0.9)
    assert out["model"] == "net" and out["data"] == [1, 2] and out["extra"] == ("x",)
    assert out["lr"] == 0.5 and out["epochs"] == 2 and out["options"] == {"momentum": 0.9}
    with api.block(128):
        assert out["draws"] == draws()


def test_raises_through(api):
    @api.block(3, restore=True)
    def fails(x):
        raise ValueError(x)

    with pytest.raises(ValueError, match="boom"):
        fails("boom")
    assert rblock._C.block_depth() == 0


def test_recursive_function_enters_nested_blocks(api):
    @api.block(9, restore=True)
    def depth(n):
        torch.rand(3)
        return rblock._C.block_depth() if n == 0 else depth(n - 1)

    assert depth(3) == 4
    assert rblock._C.block_depth() == 0


def test_method(api):
    class Model:
        @api.block(44)
        def build(self, width, *, bias=True):
            return torch.nn.Linear(width, 2, bias=bias).weight.detach().clone()

    a = Model().build(4, bias=False)
    draws()
    assert torch.equal(a, Model().build(4, bias=False))


def test_one_block_object_reused_in_with_and_nested(seeded):
    b = rblock.block(21, restore=True)
    with b:
        first = draws()
        with b:  # the same object, nested: each entry is its own
            assert draws() == first
        again = draws()
    with b:
        assert draws() == first
    assert again != first
