# Sourced by rb's scripts: where torch, its CMake config and cuobjdump are.
python=${PYTHON:-python3}
RB_TORCH_PREFIX=$($python -c 'import torch; print(torch.utils.cmake_prefix_path)')
RB_CUOBJDUMP_DIR=$($python - <<'PY'
import importlib.util, pathlib
spec = importlib.util.find_spec("nvidia")
for root in (spec.submodule_search_locations if spec else []):
    for p in pathlib.Path(root).glob("cu*/bin/cuobjdump"):
        print(p.parent); raise SystemExit
PY
)
export RB_TORCH_PREFIX RB_CUOBJDUMP_DIR
