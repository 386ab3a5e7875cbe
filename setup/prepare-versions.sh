#!/usr/bin/env bash
# Puts newer buildx and Docker Engine versions BESIDE the installed ones (issue 27, item 3: the
# version matrix), idempotently. Nothing installed is replaced: no dpkg -i, no change to the system's
# apt sources, the main engine (/var/run/docker.sock), the classic-store engine, the mirror
# container, the binfmt handlers or iptables.
#
#   bash setup/prepare-versions.sh          set up (fetch what is missing, start what is stopped)
#   bash setup/prepare-versions.sh --prove  also prove the engine 28.5: docker run of arm64 and amd64
#                                           alpine, a two-platform buildx build to an OCI tarball
#   bash setup/prepare-versions.sh --stop   stop the engine 28.5 this script started (and its bridge)
#
# What it sets up, from Debian sid (fetched with a private apt configuration, as prepare-host.sh's
# trixie_apt does, and unpacked with dpkg-deb -x under $STATE_DIR/versions/):
#   1. buildx 0.29.1 (sid's docker-buildx), selected with
#        DOCKER_CONFIG=$STATE_DIR/versions/docker-config-buildx-0.29.1
#      That folder's config.json has "cliPluginsExtraDirs" (the docker CLI 28.2 searches those folders
#      before ~/.docker/cli-plugins and the system's; the harness's probe follows the same order). The settings of
#      ~/.docker that matter are carried over: config.json's other keys (auths, credential helpers,
#      proxies), the TLS files, contexts (linked), and buildx's buildkitd.default.toml (linked: the
#      offline mirror for new builders). buildx's own state (builders, current, refs) is kept apart.
#   2. Docker Engine 28.5 (sid's docker.io, with sid's tini-static as docker-init), run with bookworm's
#      runc 1.1.5 (sid's runc needs glibc 2.38) and the installed containerd 1.7.24 (trixie's), which
#      dockerd starts as its own managed containerd under its own exec-root. Selected with
#        DOCKER_HOST=unix:///run/multiarch-harness/engine-28.sock
#      Its own data-root, exec-root, pid file, containerd image store, bridge mah-e28 (10.214.0.1/24,
#      nothing routed), no TCP listener, no iptables, no ip-forward/masquerade, published ports on
#      127.0.0.1, Docker Hub names through the mirror on 127.0.0.1:5001.
# Findings (what each version changes for the harness): docs/versions-findings.md.
set -euo pipefail

STATE_DIR=${MULTIARCH_STATE_DIR:-/var/lib/multiarch-harness}
MIRROR_PORT=${MULTIARCH_MIRROR_PORT:-5001}
LOG_DIR=$STATE_DIR/logs
VERSIONS=$STATE_DIR/versions
SID_DIR=$VERSIONS/apt-sid

BUILDX_VERSION=0.29.1
BUILDX_DIR=$VERSIONS/buildx-$BUILDX_VERSION
BUILDX_PLUGINS=$BUILDX_DIR/usr/libexec/docker/cli-plugins
BUILDX_CONFIG_DIR=$VERSIONS/docker-config-buildx-$BUILDX_VERSION

ENGINE_SERIES=28.5
ENGINE_DIR=$VERSIONS/docker-$ENGINE_SERIES
ENGINE_RUN=/run/multiarch-harness
ENGINE_SOCK=$ENGINE_RUN/engine-28.sock
ENGINE_CONFIG=$VERSIONS/engine-28.json
ENGINE_PIDFILE=$STATE_DIR/engine-28-dockerd.pid
ENGINE_LOG=$LOG_DIR/engine-28-dockerd.log
ENGINE_BRIDGE=mah-e28
ENGINE_BRIDGE_CIDR=10.214.0.1/24

say() { printf '[prepare-versions] %s\n' "$*"; }
die() { printf '[prepare-versions] error: %s\n' "$*" >&2; exit 2; }

engine28() { DOCKER_HOST=unix://$ENGINE_SOCK "$@"; }
engine28_up() { engine28 timeout 10 docker version >/dev/null 2>&1; }
engine28_pid() { # the dockerd this script started, when it runs (its command line names our config file)
  local pid
  pid=$(cat "$ENGINE_PIDFILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$ENGINE_CONFIG" && echo "$pid"
}

stop_engine() {
  local pid
  if pid=$(engine28_pid); then
    say "stopping the engine $ENGINE_SERIES (dockerd pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && die "the engine $ENGINE_SERIES (dockerd pid $pid) did not stop within 60 s."
    rm -f "$ENGINE_PIDFILE"
  elif engine28_up; then
    die "an engine answers on $ENGINE_SOCK that this script did not start (no matching $ENGINE_PIDFILE): left as it is."
  else
    say "the engine $ENGINE_SERIES is not running"
  fi
  # The bridge is ours alone; remove it once nothing is attached to it.
  if ip link show "$ENGINE_BRIDGE" >/dev/null 2>&1 && [ -z "$(ls "/sys/class/net/$ENGINE_BRIDGE/brif" 2>/dev/null)" ]; then
    ip link del "$ENGINE_BRIDGE" && say "removed the bridge $ENGINE_BRIDGE"
  fi
}

prove=no
case "${1:-}" in
  '') ;;
  --prove) prove=yes ;;
  --stop) stop_engine; exit 0 ;;
  -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown option $1 (options: --prove, --stop)." ;;
esac

[ "$(id -u)" = 0 ] || die "run as root (it writes under $STATE_DIR and starts a dockerd)."
command -v docker >/dev/null || die "no docker CLI on PATH (setup/prepare-host.sh sets up the host first)."
mkdir -p "$LOG_DIR" "$VERSIONS"

# ---------------------------------------------------------------------------------------------
# Debian sid's packages, with a private apt configuration: the system's sources stay bookworm-only.
# ---------------------------------------------------------------------------------------------
sid_opts=(-o Dir::Etc::sourcelist="$SID_DIR/sources.list" -o Dir::Etc::sourceparts=-
  -o Dir::State::Lists="$SID_DIR/lists" -o Dir::Cache="$SID_DIR/cache" -o Dir::Cache::archives="$SID_DIR/archives")
sid_apt() { apt-get "${sid_opts[@]}" "$@"; }
sid_cache() { apt-cache "${sid_opts[@]}" "$@"; }
sid_ready=no
sid_update() {
  [ $sid_ready = yes ] && return 0
  mkdir -p "$SID_DIR/lists/partial" "$SID_DIR/archives/partial" "$SID_DIR/cache"
  echo 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main' >"$SID_DIR/sources.list"
  sid_apt update -qq >"$LOG_DIR/versions-sid-update.log" 2>&1 || die "could not read Debian sid's package lists (see $LOG_DIR/versions-sid-update.log)."
  sid_ready=yes
}
# sid_deb PACKAGE UPSTREAM_PREFIX: the path of sid's .deb of PACKAGE whose version starts with
# UPSTREAM_PREFIX (0.29.1, 28.5.), downloaded once into $SID_DIR/archives.
sid_deb() {
  local pkg=$1 want=$2 deb version
  deb=$(ls "$SID_DIR/archives/${pkg}_${want}"*_amd64.deb 2>/dev/null | sort -V | tail -1) || true
  if [ -z "$deb" ]; then
    sid_update
    version=$(sid_cache madison "$pkg" 2>/dev/null | awk -v w="$want" '$6 ~ /^sid\// && index($3, w) == 1 { print $3 }' | sort -V | tail -1)
    [ -n "$version" ] || die "Debian sid no longer has $pkg $want* (it has: $(sid_cache madison "$pkg" 2>/dev/null | awk '$6 ~ /^sid\// {print $3}' | tr '\n' ' ')); change the version this script asks for."
    (cd "$SID_DIR/archives" && sid_apt download "$pkg=$version" >>"$LOG_DIR/versions-sid-download.log" 2>&1) \
      || die "could not download $pkg $version from sid (see $LOG_DIR/versions-sid-download.log)."
    deb=$(ls "$SID_DIR/archives/${pkg}_${want}"*_amd64.deb 2>/dev/null | sort -V | tail -1)
    [ -n "$deb" ] || die "apt-get download of $pkg $version left no .deb in $SID_DIR/archives."
  fi
  echo "$deb"
}
# unpack DIR DEB...: dpkg-deb -x of the .debs into DIR, once (DIR/.unpacked lists them).
unpack() {
  local dir=$1; shift
  local want
  want=$(for d in "$@"; do basename "$d"; done)
  [ "$(cat "$dir/.unpacked" 2>/dev/null)" = "$want" ] && return 0
  rm -rf "$dir"; mkdir -p "$dir"
  for d in "$@"; do dpkg-deb -x "$d" "$dir" || die "dpkg-deb -x $d failed."; done
  echo "$want" >"$dir/.unpacked"
}

# ---------------------------------------------------------------------------------------------
# 1. buildx 0.29.1, selected by a DOCKER_CONFIG of its own.
# ---------------------------------------------------------------------------------------------
buildx_deb=$(sid_deb docker-buildx "$BUILDX_VERSION") || exit 2
unpack "$BUILDX_DIR" "$buildx_deb"
[ -x "$BUILDX_PLUGINS/docker-buildx" ] || die "sid's docker-buildx has no $BUILDX_PLUGINS/docker-buildx."

USER_CONFIG=$HOME/.docker
mkdir -p "$BUILDX_CONFIG_DIR/buildx"
# config.json: the user's (credentials, helpers, proxies, ...) with cliPluginsExtraDirs in front.
node - "$USER_CONFIG/config.json" "$BUILDX_CONFIG_DIR/config.json" "$BUILDX_PLUGINS" <<'JS'
const fs = require('fs');
const [from, to, plugins] = process.argv.slice(2);
let base = {};
try { base = JSON.parse(fs.readFileSync(from, 'utf8')); } catch (e) { if (e.code !== 'ENOENT') { console.error(`${from} is not JSON: ${e.message}`); process.exit(1); } }
const extra = (base.cliPluginsExtraDirs ?? []).filter((d) => d !== plugins);
const want = JSON.stringify({ ...base, cliPluginsExtraDirs: [plugins, ...extra] }, null, 2) + '\n';
let have = null;
try { have = fs.readFileSync(to, 'utf8'); } catch {}
if (have !== want) fs.writeFileSync(to, want, { mode: 0o600 });
JS
# A link an earlier version of this script made: the probe reads cliPluginsExtraDirs now.
rm -f "$BUILDX_CONFIG_DIR/cli-plugins/docker-buildx"
# buildx's default BuildKit config for new builders (prepare-host.sh writes it: the offline mirror).
if [ -f "$USER_CONFIG/buildx/buildkitd.default.toml" ]; then
  ln -sfn "$USER_CONFIG/buildx/buildkitd.default.toml" "$BUILDX_CONFIG_DIR/buildx/buildkitd.default.toml"
fi
# Contexts and the default TLS files (DOCKER_CERT_PATH defaults to the DOCKER_CONFIG folder).
if [ -d "$USER_CONFIG/contexts" ]; then ln -sfn "$USER_CONFIG/contexts" "$BUILDX_CONFIG_DIR/contexts"; fi
for f in ca.pem cert.pem key.pem; do
  if [ -f "$USER_CONFIG/$f" ]; then ln -sfn "$USER_CONFIG/$f" "$BUILDX_CONFIG_DIR/$f"; fi
done

buildx_new=$(DOCKER_CONFIG=$BUILDX_CONFIG_DIR docker buildx version 2>&1) || die "docker buildx version with DOCKER_CONFIG=$BUILDX_CONFIG_DIR failed: $buildx_new"
case "$buildx_new" in *" $BUILDX_VERSION"*) ;; *) die "with DOCKER_CONFIG=$BUILDX_CONFIG_DIR the docker CLI runs another buildx: $buildx_new" ;; esac
buildx_old=$(docker buildx version 2>&1 || echo 'none')

# ---------------------------------------------------------------------------------------------
# 2. Docker Engine 28.5 beside the installed 26.1, on a socket of its own.
# ---------------------------------------------------------------------------------------------
engine_reason=
engine_deb=$(sid_deb docker.io "$ENGINE_SERIES.") || exit 2
tini_deb=$(sid_deb tini-static 0.19) || exit 2
unpack "$ENGINE_DIR" "$engine_deb" "$tini_deb"
if ! engine_version=$("$ENGINE_DIR/usr/sbin/dockerd" --version 2>&1); then
  engine_reason="sid's dockerd does not run on this host: $engine_version"
elif ! command -v runc >/dev/null; then
  engine_reason="there is no runc on PATH (bookworm's runc 1.1.5 is what the engine 28.5 uses here; sid's needs glibc 2.38): run setup/prepare-host.sh first."
elif ! command -v containerd >/dev/null || ! command -v containerd-shim-runc-v2 >/dev/null; then
  engine_reason="there is no containerd on PATH (the engine 28.5 runs the installed containerd 1.7 as its own managed containerd): run setup/prepare-host.sh first."
fi

want_engine=$(cat <<JSON
{
  "hosts": ["unix://$ENGINE_SOCK"],
  "data-root": "$VERSIONS/engine-28-data",
  "exec-root": "$ENGINE_RUN/engine-28",
  "pidfile": "$ENGINE_RUN/engine-28.pid",
  "features": { "containerd-snapshotter": true },
  "bridge": "$ENGINE_BRIDGE",
  "iptables": false,
  "ip6tables": false,
  "ip-forward": false,
  "ip-masq": false,
  "ip": "127.0.0.1",
  "userland-proxy-path": "$ENGINE_DIR/usr/sbin/docker-proxy",
  "registry-mirrors": ["http://127.0.0.1:${MIRROR_PORT}"]
}
JSON
)

if [ -z "$engine_reason" ]; then
  if engine28_up && [ "$(cat "$ENGINE_CONFIG" 2>/dev/null)" != "$want_engine" ]; then
    if engine28_pid >/dev/null; then say "its configuration changed: restarting the engine $ENGINE_SERIES"; stop_engine
    else die "an engine answers on $ENGINE_SOCK that this script did not start: stop it first."; fi
  fi
  if ! engine28_up; then
    if ! ip link show "$ENGINE_BRIDGE" >/dev/null 2>&1; then
      # A bridge of its own on a subnet nothing routes to (iptables, forwarding and masquerading
      # are off): containers of this engine reach only each other and the host's bridge address.
      ip -4 route show | grep -q "^${ENGINE_BRIDGE_CIDR%.*}\." && die "the subnet of $ENGINE_BRIDGE_CIDR is already routed on this host: choose another for $ENGINE_BRIDGE."
      ip link add "$ENGINE_BRIDGE" type bridge && ip addr add "$ENGINE_BRIDGE_CIDR" dev "$ENGINE_BRIDGE" \
        || die "cannot create the bridge $ENGINE_BRIDGE for the engine $ENGINE_SERIES."
    fi
    mkdir -p "$ENGINE_RUN"
    printf '%s\n' "$want_engine" >"$ENGINE_CONFIG"
    say "starting the engine $ENGINE_SERIES on $ENGINE_SOCK (log: $ENGINE_LOG)"
    # setsid: the daemon outlives this script. PATH: the unpacked docker-init and docker-proxy first,
    # then the installed containerd, containerd-shim-runc-v2 and runc.
    # (exec: the pid recorded is dockerd's own.)
    (cd / && PATH=$ENGINE_DIR/usr/bin:$ENGINE_DIR/usr/sbin:$PATH exec setsid nohup "$ENGINE_DIR/usr/sbin/dockerd" \
      --config-file "$ENGINE_CONFIG" >"$ENGINE_LOG" 2>&1 </dev/null) &
    echo $! >"$ENGINE_PIDFILE"
    for _ in $(seq 1 60); do engine28_up && break; sleep 1; done
    if ! engine28_up; then
      engine_reason="dockerd $ENGINE_SERIES did not answer on $ENGINE_SOCK within 60 s: $(grep -E 'level=(error|fatal)|^failed' "$ENGINE_LOG" | tail -1 | cut -c1-300)"
      stop_engine >/dev/null 2>&1 || true
    fi
  fi
fi

if [ -z "$engine_reason" ] && [ $prove = yes ]; then
  # The proofs leave the engine as they found it: alpine is removed again unless it was there.
  had_alpine=no
  engine28 docker image inspect "127.0.0.1:$MIRROR_PORT/library/alpine" >/dev/null 2>&1 && had_alpine=yes
  for p in linux/arm64 linux/amd64; do
    m=$(engine28 docker run --rm --platform "$p" "127.0.0.1:$MIRROR_PORT/library/alpine" uname -m 2>"$LOG_DIR/versions-prove.log") \
      || die "docker run --platform $p of 127.0.0.1:$MIRROR_PORT/library/alpine failed on the engine $ENGINE_SERIES (see $LOG_DIR/versions-prove.log)."
    say "proof: docker run --platform $p alpine uname -m -> $m"
  done
  ctx=$(mktemp -d)
  printf 'FROM alpine\nRUN uname -m >/arch\n' >"$ctx/Dockerfile"
  engine28 docker buildx build --builder default --platform linux/amd64,linux/arm64 --output "type=oci,dest=$ctx/out.tar" "$ctx" \
    >"$LOG_DIR/versions-prove.log" 2>&1 || { rm -rf "$ctx"; die "the two-platform build on the engine $ENGINE_SERIES failed (see $LOG_DIR/versions-prove.log)."; }
  say "proof: docker buildx build --platform linux/amd64,linux/arm64 --output type=oci on the engine $ENGINE_SERIES -> $(du -k "$ctx/out.tar" | cut -f1) KiB OCI tarball"
  rm -rf "$ctx"
  [ $had_alpine = yes ] || engine28 docker image rm "127.0.0.1:$MIRROR_PORT/library/alpine" >/dev/null 2>&1 || true
fi

# ---------------------------------------------------------------------------------------------
# 3. What was set up, and how to select it.
# ---------------------------------------------------------------------------------------------
say "buildx: installed ${buildx_old#github.com/docker/buildx }; beside it ${buildx_new#github.com/docker/buildx } in $BUILDX_DIR"
if [ -z "$engine_reason" ]; then
  server=$(engine28 docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}}){{range .Server.Components}}{{if ne .Name "Engine"}}, {{.Name}} {{.Version}}{{end}}{{end}}' 2>/dev/null)
  say "engine: installed $(timeout 10 docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?') on /var/run/docker.sock; beside it $server on $ENGINE_SOCK (dockerd pid $(cat "$ENGINE_PIDFILE"), data $VERSIONS/engine-28-data)"
else
  say "engine $ENGINE_SERIES: not set up: $engine_reason"
fi
say "select buildx $BUILDX_VERSION:  export DOCKER_CONFIG=$BUILDX_CONFIG_DIR"
if [ -z "$engine_reason" ]; then
  say "select engine $ENGINE_SERIES:  export DOCKER_HOST=unix://$ENGINE_SOCK"
  say "both:  export DOCKER_CONFIG=$BUILDX_CONFIG_DIR DOCKER_HOST=unix://$ENGINE_SOCK"
  say "stop the engine $ENGINE_SERIES:  bash $0 --stop"
fi
exit 0
