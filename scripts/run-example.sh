#!/usr/bin/env bash
# The main job on the embedded example: installs dependencies, builds moedist, writes the small
# example checkpoint (examples/tiny-qwen3-moe, generated deterministically) and inspects it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --parallel "$(nproc)"
example=build/examples/tiny-qwen3-moe
rm -rf "$example"
build/bench/make_synthetic_checkpoint "$example" --preset tiny
build/apps/moedist inspect "$example" --groups 2
