#!/usr/bin/env bash
# Installs the Debian packages herd builds with, when any is missing (root, or sudo).
#   bash tools/install-deps.sh        what the README's commands need
#   bash tools/install-deps.sh fuzz   that and clang with its libFuzzer (make fuzz)
set -euo pipefail
packages=(cmake ninja-build g++ pkg-config
          libeigen3-dev libtomlplusplus-dev libcli11-dev libfmt-dev zlib1g-dev
          libboost-context-dev libopenmpi-dev openmpi-bin nlohmann-json3-dev
          libgtest-dev libgmock-dev libbenchmark-dev python3-matplotlib
          libtorch-dev dataset-fashion-mnist
          pybind11-dev python3-dev python3-numpy python3-pandas)
# libtorch-dev: LibTorch 1.13 (CPU) for the torch models (cmake -DHERD_WITH_TORCH=OFF builds
# without it); dataset-fashion-mnist: Fashion-MNIST in IDX under /usr/share/datasets/fashion-mnist
# (examples/fashion_lenet.toml); pybind11-dev, python3-dev, python3-numpy: the Python module
# (docs/python.md), python3-pandas for its Run.to_pandas().
if [ "${1:-}" = fuzz ]; then
  packages+=(clang libclang-rt-14-dev)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "herd: installing missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
