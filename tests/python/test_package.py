"""How the package is put together: one copy of rb_torch per process, inside the package; the
extension reaches libtorch_python (at::Generator -> torch.Generator)."""

import os
import pathlib
import subprocess
import sys

import torch

import rblock
import reproducible_block


def loaded_rb_torch():
    with open("/proc/self/maps") as maps:
        return {line.split()[-1] for line in maps if "librb_torch" in line}


def test_one_copy_of_rb_torch_inside_the_package():
    package = pathlib.Path(rblock.__file__).parent
    assert loaded_rb_torch() == {str(package / "librb_torch.so")}


def test_both_modules_share_it():
    assert reproducible_block.rblock is rblock
    assert len(loaded_rb_torch()) == 1


def test_extension_reaches_libtorch_python():
    gen = rblock._C._default_cpu_generator()
    assert isinstance(gen, torch.Generator)
    torch.manual_seed(3)
    a = torch.rand(4, generator=gen)
    torch.manual_seed(3)
    assert torch.equal(a, torch.rand(4))  # the same C++ generator as torch.default_generator


def test_importing_rblock_alone_imports_torch_first():
    code = "import sys, rblock; assert 'torch' in sys.modules; print(rblock.__version__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": ""}, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == rblock.__version__
