"""rb's supported torch window, read from pyproject.toml (its `torch>=A,<B` dependency), the one
place it is written. Used by scripts/setup.sh and scripts/test.sh; never imports torch.

    python3 scripts/torch_window.py spec       # the pip requirement: torch>=2.11,<2.16
    python3 scripts/torch_window.py check      # exit 0: the installed torch is inside the window;
                                               # 2: no torch installed; 1: outside (says what to do)
    python3 scripts/torch_window.py other-end  # the pip requirement of the window's end that the
                                               # installed torch is not at (CI's second torch)
"""

import importlib.metadata
import pathlib
import re
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def window():
    """(oldest, first excluded) as (major, minor) pairs, and the requirement's text."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        m = re.fullmatch(r"torch>=(\d+)\.(\d+),<(\d+)\.(\d+)", requirement.replace(" ", ""))
        if m:
            a, b, c, d = map(int, m.groups())
            return (a, b), (c, d), requirement
    raise SystemExit("pyproject.toml: no `torch>=A.B,<C.D` dependency")


def installed():
    """The installed torch's (major, minor) and full version, or None."""
    try:
        version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return None
    major, minor = (int(x) for x in re.match(r"(\d+)\.(\d+)", version).groups())
    return (major, minor), version


def main(command):
    (lo, hi, requirement) = window()
    found = installed()
    if command == "spec":
        print(requirement)
    elif command == "check":
        if found is None:
            print(f"no torch installed; rb supports {requirement}")
            return 2
        if not lo <= found[0] < hi:
            print(
                f"torch {found[1]} is installed, outside rb's supported window {requirement} "
                f"(torch {lo[0]}.{lo[1]} to {hi[0]}.{hi[1] - 1}). rb's setup changes nothing: "
                f"install a torch inside the window (pip install '{requirement}'), in a virtual "
                f"environment if other projects need torch {found[1]}, then run it again.",
                file=sys.stderr,
            )
            return 1
        print(f"torch {found[1]}: inside rb's window {requirement}, kept as it is")
    elif command == "other-end":
        newest = (hi[0], hi[1] - 1)
        end = lo if found is None or found[0] != lo else newest
        print(f"torch>={end[0]}.{end[1]},<{end[0]}.{end[1] + 1}")
    else:
        raise SystemExit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ""))
