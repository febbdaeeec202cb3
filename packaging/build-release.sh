#!/usr/bin/env bash
# Build a Stile release for the machine this runs on (its CPU and its Node):
#
#   packaging/build-release.sh [--version V] [--out DIR] [--no-build] [--no-tarball] [--deps-cache DIR]
#
# → DIR/stile-<version>-linux-<arch>/ and DIR/stile-<version>-linux-<arch>.tar.gz (default DIR:
# packaging/dist), <arch> amd64 or arm64. The tree holds the built JavaScript of the workspaces a
# park machine runs (config, service, gate-agent, kiosk-agent, cloud-bridge, announcer), their
# production node_modules from `npm ci --omit=dev` (native modules compiled or fetched for this
# CPU and Node ABI), the install scripts, units, udev rule and docs. No sources, tests, devDependencies.
# For arm64, run it on a Pi or in an arm64 chroot (docs/install.md, "Building a release").
# --deps-cache DIR keeps the installed node_modules in DIR, keyed by the lock file, the workspaces'
# package.json files, Node's version and the CPU, and reuses them while those are unchanged.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNTIME="config service gate-agent kiosk-agent cloud-bridge announcer"

usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { printf 'build-release.sh: %s\n' "$*" >&2; exit 1; }

VERSION=""
OUT="$REPO/packaging/dist"
BUILD=1
TARBALL=1
DEPS_CACHE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --version) [ $# -ge 2 ] || die "--version needs a value"; VERSION=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a directory"; OUT=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --no-tarball) TARBALL=0; shift ;;
    --deps-cache) [ $# -ge 2 ] || die "--deps-cache needs a directory"; DEPS_CACHE=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done

command -v node >/dev/null || die "node not found (Node.js 20.19 or newer)"
command -v npm >/dev/null || die "npm not found"
NODE_ARCH=$(node -p process.arch)
case "$NODE_ARCH" in
  x64) ARCH=amd64 ;;
  arm64) ARCH=arm64 ;;
  *) die "Node here is $NODE_ARCH: releases are built for x64 (amd64) or arm64" ;;
esac
COMMIT=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || true)
if [ -z "$VERSION" ]; then
  VERSION=$(node -p "require('$REPO/gate-agent/package.json').version")
  [ -z "$COMMIT" ] || VERSION="$VERSION-g$COMMIT"
fi
[[ "$VERSION" =~ ^[0-9A-Za-z][0-9A-Za-z.+_~-]*$ ]] || die "version \"$VERSION\": letters, digits and . + _ ~ - only"
NAME="stile-$VERSION-linux-$ARCH"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
STAGE="$OUT/$NAME"

# 1. Build: TypeScript of every workspace, then the dashboard and kiosk pages (esbuild).
if [ "$BUILD" = 1 ]; then
  (cd "$REPO" && npm run build --silent)
fi
for ws in $RUNTIME; do
  [ -d "$REPO/$ws/dist" ] || die "$ws/dist missing: run npm run build (or drop --no-build)"
done
[ -f "$REPO/cloud-bridge/dist/web/index.html" ] || die "cloud-bridge/dist/web missing: run npm run build"
[ -d "$REPO/kiosk-agent/dist/web" ] || die "kiosk-agent/dist/web missing: run npm run build"

# 2. Stage the workspaces: package.json, bin/, dist/ without declarations and source maps.
rm -rf "$STAGE"
mkdir -p "$STAGE"
for ws in $RUNTIME; do
  mkdir -p "$STAGE/$ws"
  parts="package.json dist"
  [ -d "$REPO/$ws/bin" ] && parts="$parts bin"
  # Shipped tables read at run time (cloud-bridge/data: regions, phone segments).
  [ -d "$REPO/$ws/data" ] && parts="$parts data"
  # shellcheck disable=SC2086
  tar -C "$REPO/$ws" --exclude='*.d.ts' --exclude='*.d.ts.map' --exclude='*.js.map' --exclude='*.tsbuildinfo' -cf - $parts | tar -C "$STAGE/$ws" -xf -
done
# The root: the same lock file, only the runtime workspaces, no devDependencies or scripts.
cp "$REPO/package-lock.json" "$STAGE/"
node -e '
  const fs = require("fs");
  const [src, dst, version, runtime] = process.argv.slice(1);
  const root = JSON.parse(fs.readFileSync(src, "utf8"));
  const out = { name: "stile-release", version, private: true, type: root.type, workspaces: runtime.split(" "), engines: root.engines };
  if (root.allowScripts) out.allowScripts = root.allowScripts;
  fs.writeFileSync(dst, JSON.stringify(out, null, 2) + "\n");
' "$REPO/package.json" "$STAGE/package.json" "$VERSION" "$RUNTIME"

# 3. Production dependencies, native modules built by their install scripts for this machine
# (or the same node_modules from --deps-cache when nothing they depend on changed).
deps_key() {
  { cat "$STAGE/package-lock.json"; for ws in $RUNTIME; do cat "$STAGE/$ws/package.json"; done
    node -p 'process.version + " " + process.arch'; echo "pruning 2"; } | sha256sum | cut -c1-16
}
CACHED=""
if [ -n "$DEPS_CACHE" ]; then
  mkdir -p "$DEPS_CACHE"
  CACHED="$(cd "$DEPS_CACHE" && pwd)/deps-$(deps_key).tar"
fi
if [ -n "$CACHED" ] && [ -f "$CACHED" ]; then
  tar -C "$STAGE" -xf "$CACHED"
  echo "node_modules from the cache: $CACHED"
else
  (cd "$STAGE" && npm ci --omit=dev --no-audit --no-fund --prefer-offline --loglevel=error)

  # 4. Leave out what only building needed: compiler objects, C sources, other platforms' prebuilds.
  find "$STAGE/node_modules" -type d \( -path '*/build/Release/obj.target' -o -path '*/build/Release/obj' -o -path '*/build/Release/.deps' \) -prune -exec rm -rf {} +
  find "$STAGE/node_modules" -path '*/build/*' -type f \( -name '*.a' -o -name '*.mk' -o -name 'Makefile' -o -name 'config.gypi' -o -name 'test_extension.node' \) -delete
  rm -rf "$STAGE/node_modules/better-sqlite3/deps" "$STAGE/node_modules/better-sqlite3/src"
  find "$STAGE/node_modules" -type d -name prebuilds -prune | while read -r dir; do
    for p in "$dir"/*; do
      case "$(basename "$p")" in *linux-"$NODE_ARCH") ;; *) rm -rf "$p" ;; esac
    done
  done
  # Type declarations and source maps: nothing loads them at run time.
  find "$STAGE/node_modules" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \) -delete
  rm -rf "$STAGE/node_modules/@types" "$STAGE/node_modules/.package-lock.json"
  if [ -n "$CACHED" ]; then
    rm -f "$DEPS_CACHE"/deps-*.tar
    tar -C "$STAGE" -cf "$CACHED.tmp" node_modules && mv "$CACHED.tmp" "$CACHED"
  fi
fi

# 5. Check that the native modules load here, as they will on the target.
node -e '
  const { createRequire } = require("module");
  const from = (ws) => createRequire(`${process.argv[1]}/${ws}/package.json`);
  new (from("gate-agent")("better-sqlite3"))(":memory:").prepare("select 1").get();
  from("gate-agent")("@serialport/bindings-cpp");
  from("service")("unix-dgram");
' "$STAGE" || die "a native module does not load in $STAGE: see the npm ci output above"

# 6. Install scripts, units, udev, journald, docs; the release's identity.
mkdir -p "$STAGE/packaging" "$STAGE/docs"
cp -p "$REPO/packaging/install.sh" "$REPO/packaging/uninstall.sh" "$REPO/packaging/rollback.sh" "$REPO/packaging/lib.sh" "$STAGE/packaging/"
cp -rp "$REPO/packaging/systemd" "$REPO/packaging/udev" "$REPO/packaging/journald" "$STAGE/packaging/"
cp -p "$REPO"/docs/*.md "$STAGE/docs/"
node -e '
  const [dst, version, arch, commit, runtime] = process.argv.slice(1);
  const rel = { version, arch, nodeArch: process.arch, node: process.versions.node, nodeAbi: process.versions.modules,
    commit: commit || null, builtAt: new Date().toISOString(), workspaces: runtime.split(" ") };
  require("fs").writeFileSync(dst, JSON.stringify(rel, null, 2) + "\n");
' "$STAGE/RELEASE.json" "$VERSION" "$ARCH" "$COMMIT" "$RUNTIME"
echo "$VERSION" >"$STAGE/VERSION"

SIZE=$(du -sm "$STAGE" | cut -f1)
echo "release tree: $STAGE ($SIZE MB)"
if [ "$TARBALL" = 1 ]; then
  tar -C "$OUT" --owner=0 --group=0 --numeric-owner -czf "$OUT/$NAME.tar.gz" "$NAME"
  echo "release: $OUT/$NAME.tar.gz ($(du -m "$OUT/$NAME.tar.gz" | cut -f1) MB)"
fi
