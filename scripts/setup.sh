#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks, then the npm dependencies (npm ci).
#  - chromium: the browser test matrix, and SwiftShader (Vulkan on the CPU) for WebGPU in Node via Dawn
#  - libvulkan1: the Vulkan loader Dawn opens
#  - clang, lld: build the SIMD WebAssembly kernels from C
#  - fortunes, dataset-fashion-mnist: corpora for the LM and KAN examples (nothing is downloaded at run time)
# and then @tensorflow/tfjs-node (the `tensorflow` backend; an optional peer, so not in package.json): see
# scripts/build-tfjs-node.sh (TFJS_EXT_TFJS_NODE=skip leaves it out).
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(chromium libvulkan1 clang lld fortunes dataset-fashion-mnist)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
echo "setup: npm ci"
npm ci --no-audit --no-fund
bash scripts/build-tfjs-node.sh
