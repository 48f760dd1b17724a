#!/usr/bin/env bash
# Installs what rb needs on a fresh Debian machine, skipping whatever is already there:
# Debian packages (Random123 and its known-answer vectors, GoogleTest, Google Benchmark, the
# build tools), torch where none is installed (the newest inside rb's window, pyproject.toml) and
# the Python packages of requirements.txt. An installed torch inside the window is never replaced;
# one outside it stops the setup, with what to do, before anything is changed.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
export PIP_ROOT_USER_ACTION=ignore  # CI runs as root; pip says so at every install otherwise

torch_status=0
$python scripts/torch_window.py check || torch_status=$?
if ((torch_status == 1)); then
  exit 1  # outside the window: the message says what to do
fi

apt_packages=(cmake ninja-build g++ git googletest libgtest-dev libbenchmark-dev
              librandom123-dev librandom123-doc)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  echo "setup: installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ((torch_status == 2)); then
  spec=$($python scripts/torch_window.py spec)
  echo "setup: installing the newest torch of rb's window ($spec)"
  $python -m pip install -q --disable-pip-version-check "$spec"
fi
if ! $python -m pip install -q --disable-pip-version-check -r requirements.txt; then
  echo "setup: pip could not install requirements.txt" >&2
  exit 1
fi
