#!/usr/bin/env bash
# Installs code-server (VS Code in a browser, running its extension host on this machine's
# Node 20) outside the repo, for the extension's end-to-end tests. Desktop VS Code cannot
# be downloaded here; code-server comes from the npm registry. Idempotent: a marker file is
# written only after the install has been verified, and a second run returns at once.
#
#   DROVER_CODE_SERVER_DIR   where to install (default: $XDG_CACHE_HOME or ~/.cache,
#                            then drover/code-server-<version>)
#
# Works with no TTY and as root. Needs the Debian packages that .ci/run installs.
set -euo pipefail

readonly VERSION=4.100.3
readonly DIR="${DROVER_CODE_SERVER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/drover/code-server-$VERSION}"
readonly MARKER="$DIR/.drover-install-verified"
readonly PACKAGE="$DIR/node_modules/code-server"
readonly ENTRY="$PACKAGE/out/node/entry.js"

fail() {
  echo "install-code-server: $*" >&2
  exit 1
}

if [ -f "$MARKER" ] && [ -f "$ENTRY" ]; then
  echo "code-server $VERSION is installed in $DIR"
  exit 0
fi

# --- prerequisites: name every missing one at once, with the package that provides it ---
missing=()
command -v node >/dev/null || missing+=("node (Node.js 20)")
command -v npm >/dev/null || missing+=("npm")
for tool in make:build-essential g++:build-essential python3:python3 pkg-config:pkg-config \
  tar:tar flock:util-linux rg:ripgrep; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool%%:*} (Debian package ${tool#*:})")
done
if command -v pkg-config >/dev/null; then
  for lib in x11:libx11-dev xkbfile:libxkbfile-dev libsecret-1:libsecret-1-dev krb5-gssapi:libkrb5-dev; do
    pkg-config --exists "${lib%%:*}" || missing+=("${lib%%:*} headers (Debian package ${lib#*:})")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  printf 'install-code-server: missing prerequisites:\n' >&2
  printf '  - %s\n' "${missing[@]}" >&2
  fail "install them (see .ci/run for the apt-get line) and run this script again"
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" = 20 ] || fail "code-server $VERSION runs on Node 20 only; this node is $(node -v)"
# node-gyp builds against the headers of the Node that runs it (Debian's nodejs ships them);
# without them it would try to download them.
node_prefix="$(node -p 'require("path").resolve(process.execPath, "..", "..")')"
[ -f "$node_prefix/include/node/node_api.h" ] \
  || fail "Node's C headers are not in $node_prefix/include/node; install the Node.js that ships them (Debian: nodejs)"
case "$(uname -m)" in
  x86_64) rg_target=x86_64-unknown-linux-musl ;;
  aarch64) rg_target=aarch64-unknown-linux-musl ;;
  *) fail "unsupported CPU architecture $(uname -m)" ;;
esac

mkdir -p "$(dirname "$DIR")"
# Two runs at once (two CI steps, two terminals) must not build into the same folder.
exec 9>"$DIR.lock"
flock 9
if [ -f "$MARKER" ] && [ -f "$ENTRY" ]; then
  echo "code-server $VERSION is installed in $DIR"
  exit 0
fi
if [ -e "$DIR" ] && [ ! -f "$DIR/.drover-install-dir" ]; then
  fail "$DIR exists but was not made by this script; remove it or set DROVER_CODE_SERVER_DIR"
fi

started=$SECONDS
# A half-finished earlier attempt is discarded: npm does not re-run the install scripts of
# packages it already unpacked, so resuming it could leave native modules unbuilt.
rm -rf "$DIR"
mkdir -p "$DIR"
touch "$DIR/.drover-install-dir"
work_tmp="$(mktemp -d)"
trap 'rm -rf "$work_tmp"' EXIT

cat >"$DIR/package.json" <<JSON
{
  "name": "drover-code-server",
  "private": true,
  "description": "code-server for Drover's end-to-end tests, installed by scripts/install-code-server.sh",
  "dependencies": { "code-server": "$VERSION" }
}
JSON

# unsafe_perm: code-server's postinstall refuses root without it. yes: node-pty's install
# runs `npx node-gyp`, which waits for a confirmation that never comes without a TTY.
# nodedir: where node-gyp finds those headers. TMPDIR: a private folder, where
# @vscode/ripgrep looks for its cached archive.
export npm_config_unsafe_perm=true npm_config_yes=true npm_config_nodedir="$node_prefix"
# strict_allow_scripts: npm 11 runs a dependency's install script that no allowScripts
# policy covers with only a warning, and later npm versions will skip it; either way a
# native module would silently stay unbuilt. Strict mode fails the install instead.
export npm_config_strict_allow_scripts=true
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
export TMPDIR="$work_tmp"

echo "▶ npm install code-server@$VERSION (no scripts yet) into $DIR"
(cd "$DIR" && npm install --ignore-scripts --no-package-lock --loglevel=error)

# Approve the install scripts that code-server's lockfiles declare (hasInstallScript): its
# own postinstall and argon2 at the top, then the native modules of the two nested installs
# that postinstall runs in lib/vscode and lib/vscode/extensions. The top level takes its
# policy from package.json; the nested projects are code-server's, so theirs goes into a
# project .npmrc beside their package.json (an allow-scripts environment variable would be
# rejected in a project install).
approved_scripts() {
  node -e "
    const { packages } = require(process.argv[1]);
    const names = Object.entries(packages)
      .filter(([path, entry]) => path !== '' && entry.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
    console.log([...new Set(names)].join(','));
  " "$1"
}
node -e "
  const fs = require('fs');
  const manifest = JSON.parse(fs.readFileSync(process.argv[1], 'utf8'));
  manifest.allowScripts = Object.fromEntries(
    ['code-server', ...process.argv[2].split(',').filter(Boolean)].map((name) => [name, true]));
  fs.writeFileSync(process.argv[1], JSON.stringify(manifest, null, 2) + '\\n');
" "$DIR/package.json" "$(approved_scripts "$PACKAGE/npm-shrinkwrap.json")"
for nested in lib/vscode lib/vscode/extensions; do
  echo "allow-scripts=$(approved_scripts "$PACKAGE/$nested/npm-shrinkwrap.json")" >"$PACKAGE/$nested/.npmrc"
done

# @vscode/ripgrep's install downloads rg from GitHub unless an archive is cached under
# $TMPDIR; Debian's rg stands in for it. Its version and release tag come from the
# packages themselves, so a different code-server pins its own.
rg_version="$(node -p "require('$PACKAGE/lib/vscode/npm-shrinkwrap.json').packages['node_modules/@vscode/ripgrep'].version")"
(cd "$work_tmp" && npm pack "@vscode/ripgrep@$rg_version" --loglevel=error >/dev/null)
tar -xzf "$work_tmp/vscode-ripgrep-$rg_version.tgz" -C "$work_tmp" package/lib/postinstall.js
rg_tag="$(sed -n "s/^const VERSION = '\(.*\)';/\1/p" "$work_tmp/package/lib/postinstall.js")"
[ -n "$rg_tag" ] || fail "could not read the ripgrep release tag from @vscode/ripgrep@$rg_version"
rg_cache="$work_tmp/vscode-ripgrep-cache-$rg_version"
mkdir -p "$rg_cache" "$work_tmp/rg"
cp "$(command -v rg)" "$work_tmp/rg/rg"
tar -czf "$rg_cache/ripgrep-$rg_tag-$rg_target.tar.gz" -C "$work_tmp/rg" rg

echo "▶ npm rebuild: code-server's postinstall installs VS Code's dependencies and builds the native modules"
if ! (cd "$DIR" && npm rebuild --foreground-scripts) >"$DIR/install.log" 2>&1; then
  tail -n 60 "$DIR/install.log" >&2
  fail "npm rebuild failed (the end of its output is above; all of it is in $DIR/install.log)"
fi

# --- verify: every native module was built and loads, rg is in place, the server answers ---
vscode_modules="$PACKAGE/lib/vscode/node_modules"
for module in node-pty @vscode/spdlog native-watchdog kerberos; do
  ls "$vscode_modules/$module"/build/Release/*.node >/dev/null 2>&1 \
    || fail "native module $module was not built (no build/Release/*.node); see $DIR/install.log"
done
# @parcel/watcher ships prebuilt per-platform binaries; loading it proves the right one is there.
for module in node-pty @vscode/spdlog native-watchdog kerberos @parcel/watcher; do
  (cd "$PACKAGE/lib/vscode" && node -e "require('$module')") \
    || fail "native module $module does not load; see $DIR/install.log"
done
[ -x "$vscode_modules/@vscode/ripgrep/bin/rg" ] || fail "@vscode/ripgrep has no bin/rg"
(cd "$PACKAGE/lib/vscode" && node -e "
  const pty = require('node-pty');
  const shell = pty.spawn('/bin/sh', ['-c', 'echo pty-ok'], {});
  let output = '';
  shell.onData((data) => { output += data; });
  shell.onExit(() => process.exit(output.includes('pty-ok') ? 0 : 1));
") || fail "node-pty cannot run a process in a pseudo-terminal"

echo "▶ starting code-server once to check it serves the workbench"
check="$work_tmp/check"
mkdir -p "$check/data" "$check/extensions" "$check/folder"
: >"$check/config.yaml"
# Port 0: the kernel picks a free port and code-server logs it. Its own process group, so
# the server and everything it starts end together.
EXTENSIONS_GALLERY='{}' setsid node "$ENTRY" --config "$check/config.yaml" --auth none \
  --bind-addr 127.0.0.1:0 --disable-telemetry --disable-update-check --disable-workspace-trust \
  --user-data-dir "$check/data" --extensions-dir "$check/extensions" "$check/folder" \
  >"$check/server.log" 2>&1 &
server_pid=$!
trap 'kill -- -"$server_pid" 2>/dev/null || true; rm -rf "$work_tmp"' EXIT
served=false
for _ in $(seq 1 150); do
  url="$(sed -n 's|.*HTTP server listening on \(http://127\.0\.0\.1:[0-9]*/\).*|\1|p' "$check/server.log")"
  if [ -n "$url" ] && node -e "
    fetch(process.argv[1]).then(async (response) => {
      const body = await response.text();
      process.exit(response.ok && body.includes('workbench') ? 0 : 1);
    }, () => process.exit(1));
  " "$url"; then
    served=true
    break
  fi
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.2
done
kill -- -"$server_pid" 2>/dev/null || true
if [ "$served" != true ]; then
  cat "$check/server.log" >&2
  fail "code-server did not serve its workbench within 30 s (its output is above)"
fi

echo "code-server $VERSION, installed $(date -u +%FT%TZ) in $((SECONDS - started)) s" >"$MARKER"
echo "code-server $VERSION is installed in $DIR ($((SECONDS - started)) s)"
