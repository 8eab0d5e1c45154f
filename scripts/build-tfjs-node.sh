#!/usr/bin/env bash
# Puts @tensorflow/tfjs-node into node_modules, for the `tensorflow` backend of the Node test matrix and the
# benchmarks. It is an optional peer of our packages, so it is never in package.json / package-lock.json:
# `npm ci` leaves it out (and removes it); run this script (or scripts/setup.sh) again afterwards.
#
#  - With internet, tfjs-node's own install script downloads libtensorflow and a prebuilt addon.
#  - Without (these machines), the addon is built here: libtensorflow and its C headers come from the
#    `tensorflow-cpu` Python wheel of the local pip index, the addon from tfjs-node's C++ sources with npm's
#    bundled node-gyp. The built addon and libraries are cached outside the repository, keyed by versions
#    (TFJS_EXT_CACHE, default ~/.cache/tfjs-ext), so a second run only links them in.
#
# Idempotent; `TFJS_EXT_TFJS_NODE=build` forces the local build, `=download` the download, `=skip` skips.
set -euo pipefail
cd "$(dirname "$0")/.."

TFJS_NODE_VERSION=4.22.0
TF_VERSION=2.21.0
NAPI_VERSION=8 # the highest N-API version tfjs-node 4.22.0 lists; node-pre-gyp picks it on Node >= 15
mode="${TFJS_EXT_TFJS_NODE:-auto}"
pkg=node_modules/@tensorflow/tfjs-node
cache_root="${TFJS_EXT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tfjs-ext}"
key="tfjs-node-$TFJS_NODE_VERSION-tf-cpu-$TF_VERSION-napi$NAPI_VERSION-$(uname -m)"
cache="$cache_root/$key"
say() { echo "tfjs-node: $*"; }

[ "$mode" = skip ] && { say "skipped (TFJS_EXT_TFJS_NODE=skip)"; exit 0; }

# Loads tfjs-node and prints the TensorFlow version its binding reports; fails when it cannot.
probe() {
  TF_CPP_MIN_LOG_LEVEL=2 node -e "const tf = require('@tensorflow/tfjs-node');
    if (tf.getBackend() !== 'tensorflow') throw new Error('backend is ' + tf.getBackend());
    tf.tidy(() => tf.matMul(tf.ones([2, 2]), tf.ones([2, 2])).dataSync());
    console.log(tf.backend().binding.TF_Version);" 2>"${TMPDIR:-/tmp}/tfjs-node-probe.$$.log"
}

if out=$(probe); then
  say "already installed (TensorFlow $out)"
  rm -f "${TMPDIR:-/tmp}/tfjs-node-probe.$$.log"
  exit 0
fi

installed_version=$(node -p "require('./$pkg/package.json').version" 2>/dev/null || true)
if [ "$installed_version" != "$TFJS_NODE_VERSION" ]; then
  say "npm install --no-save --ignore-scripts @tensorflow/tfjs-node@$TFJS_NODE_VERSION"
  # --no-save: package.json and package-lock.json stay as they are (tfjs-node is an optional peer).
  # The lock serialises npm runs of engineers sharing one working tree; it is harmless elsewhere.
  flock /tmp/tfjs-ext-npm.lock npm install --no-save --ignore-scripts --no-audit --no-fund \
      "@tensorflow/tfjs-node@$TFJS_NODE_VERSION"
fi

prebuilt_host="https://storage.googleapis.com/tf-builds/pre-built-binary/napi-v$NAPI_VERSION/$TFJS_NODE_VERSION/CPU-linux-$TFJS_NODE_VERSION.tar.gz"
if [ "$mode" = auto ]; then
  if curl -sfI --max-time 8 "$prebuilt_host" >/dev/null 2>&1; then mode=download; else mode=build; fi
fi

if [ "$mode" = download ]; then
  say "running tfjs-node's own install (downloads libtensorflow and the prebuilt addon)"
  [ -L "$pkg/deps" ] && rm -f "$pkg/deps"  # a link into the local build's cache: never download into it
  (cd "$pkg" && node scripts/install.js)
else
  if [ ! -f "$cache/ok" ]; then
    say "building the addon against libtensorflow from tensorflow-cpu==$TF_VERSION (cached in $cache)"
    mkdir -p "$cache_root"
    exec 9>"$cache_root/.lock"
    flock 9 # one build at a time per cache
    if [ ! -f "$cache/ok" ]; then
      work=$(mktemp -d "$cache_root/.build.XXXXXX")
      trap 'rm -rf "$work"' EXIT
      pip download --no-deps --only-binary=:all: --quiet --retries 0 --timeout 10 -d "$work/wheel" "tensorflow-cpu==$TF_VERSION"
      wheel=$(ls "$work"/wheel/tensorflow_cpu-*.whl)
      # Only what the binding needs: the C API headers and the two libraries (the wheel has no libtensorflow.so;
      # libtensorflow_cc.so.2 exports the C and eager C APIs).
      python3 - "$wheel" "$work/out/deps" <<'EOF'
import os, re, shutil, sys, zipfile
wheel, deps = sys.argv[1], sys.argv[2]
prefix = 'tensorflow/include/'
libs = {'tensorflow/libtensorflow_cc.so.2': 'libtensorflow_cc.so.2',
        'tensorflow/libtensorflow_framework.so.2': 'libtensorflow_framework.so.2'}
def write(z, name, target):
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with z.open(name) as src, open(target, 'wb') as dst:
        shutil.copyfileobj(src, dst)
with zipfile.ZipFile(wheel) as z:
    names = set(z.namelist())
    # The headers the binding includes, and what they include in turn (quoted includes found in the wheel).
    todo = ['tensorflow/c/c_api.h', 'tensorflow/c/eager/c_api.h', 'tensorflow/c/tf_datatype.h',
            'tensorflow/c/tf_status.h', 'tensorflow/c/tf_tensor.h', 'tensorflow/core/platform/ctstring_internal.h']
    seen = set()
    while todo:
        header = todo.pop()
        if header in seen or prefix + header not in names:
            continue
        seen.add(header)
        write(z, prefix + header, os.path.join(deps, 'include', header))
        text = z.read(prefix + header).decode('utf-8', 'replace')
        todo += re.findall(r'^\s*#\s*include\s+"([^"]+)"', text, re.M)
    for name, lib in libs.items():
        write(z, name, os.path.join(deps, 'lib', lib))
EOF
      rm -rf "$work/wheel"
      # The linker wants libtensorflow.so / libtensorflow_framework.so; the loader looks for the SONAMEs
      # (libtensorflow_cc.so.2, libtensorflow_framework.so.2).
      (cd "$work/out/deps/lib" && ln -s libtensorflow_cc.so.2 libtensorflow.so.2 &&
        ln -s libtensorflow.so.2 libtensorflow.so && ln -s libtensorflow_framework.so.2 libtensorflow_framework.so)
      mkdir -p "$work/src"
      cp -r "$pkg/binding" "$pkg/binding.gyp" "$work/src/"
      ln -s "$work/out/deps" "$work/src/deps"
      node_gyp="$(dirname "$(dirname "$(realpath "$(command -v npm)")")")/node_modules/node-gyp/bin/node-gyp.js"
      node_prefix=$(node -p "require('path').resolve(process.execPath, '../..')")
      [ -f "$node_prefix/include/node/node_api.h" ] || { say "no Node headers at $node_prefix/include/node"; exit 1; }
      (cd "$work/src" && node "$node_gyp" rebuild --silent --nodedir="$node_prefix" --jobs="$(nproc)" \
          --napi_build_version=$NAPI_VERSION --module_name=tfjs_binding --module_path="$work/out/lib")
      rm -rf "$cache"
      mv "$work/out" "$cache"
      echo "tfjs-node $TFJS_NODE_VERSION, tensorflow-cpu $TF_VERSION, built $(date -u +%FT%TZ)" >"$cache/ok"
    fi
    flock -u 9
  fi
  # The addon finds the libraries through its rpath, $ORIGIN/../../deps/lib.
  rm -rf "$pkg/deps" "$pkg/lib"
  ln -s "$cache/deps" "$pkg/deps"
  mkdir -p "$pkg/lib/napi-v$NAPI_VERSION"
  cp "$cache/lib/tfjs_binding.node" "$pkg/lib/napi-v$NAPI_VERSION/"
fi

if out=$(probe); then
  rm -f "${TMPDIR:-/tmp}/tfjs-node-probe.$$.log"
  say "ready: backend 'tensorflow', TensorFlow $out"
else
  say "FAILED to load:"
  cat "${TMPDIR:-/tmp}/tfjs-node-probe.$$.log" >&2
  rm -f "${TMPDIR:-/tmp}/tfjs-node-probe.$$.log"
  exit 1
fi
