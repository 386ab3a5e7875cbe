#!/usr/bin/env bash
# Prepares this host for multiarch-harness, idempotently.
#
#   bash setup/prepare-host.sh          prepare (install what is missing, start what is stopped)
#   bash setup/prepare-host.sh --emulate linux/386
#                                       also run these platforms under QEMU where the kernel could
#                                       run them natively (so the QEMU path is tested); `none` undoes it
#   bash setup/prepare-host.sh --wait   also wait for the stand-ins otherwise finished in the
#                                       background (moby/buildkit on a bare machine: see step 3)
#   bash setup/prepare-host.sh --undo   put back what an earlier preparation changed on the host
#
# On a host that already has a working Docker engine with buildx (Docker Desktop, a CI runner,
# a developer's machine) nothing is installed: the script reports what that engine can do and the
# harness adapts to it. On a bare Debian/Ubuntu host, as root, it installs and starts:
#   - a Docker engine with the containerd image store and the buildx plugin,
#   - current QEMU user-mode emulators (the newest Debian has: sid's) registered in binfmt_misc with
#     the F (fix binary) flag for every platform the kernel cannot run by itself (the kernel is asked
#     through the engine), proven by running a program of each platform through the engine before
#     anything is built; trixie's and bookworm's QEMU are kept for second opinions,
#   - the npm dependencies of this project, and the compiled harness (dist/) the CLI runs,
#   - the offline stand-ins for Docker Hub images, served by a mirror registry on 127.0.0.1:5001,
#   - a second engine with the classic image store on its own socket, which also listens on
#     tcp://127.0.0.1:2376 with TLS (tlsverify, certificates made here), and an sshd on
#     127.0.0.1:2222 that reaches the main engine: loopback-only fixtures for --node's tcp+TLS and
#     ssh:// (setup/loopback-nodes.sh).
# On any host it also fetches the corpus suite's real-software corpus into the state folder (2a).
# Every change to the host is recorded in $STATE_DIR/changes so that --undo can revert it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE_DIR=${MULTIARCH_STATE_DIR:-/var/lib/multiarch-harness}
LOG_DIR=$STATE_DIR/logs
CHANGES=$STATE_DIR/changes
DAEMON_JSON=/etc/docker/daemon.json
MIRROR_PORT=${MULTIARCH_MIRROR_PORT:-5001}

say() { printf '[prepare-host] %s\n' "$*"; }
die() { printf '[prepare-host] error: %s\n' "$*" >&2; exit 2; }
record() { mkdir -p "$STATE_DIR"; grep -qxF "$1" "$CHANGES" 2>/dev/null || echo "$1" >>"$CHANGES"; }

engine_up() { timeout 10 docker info >/dev/null 2>&1; }

# The loopback TLS and ssh nodes (step 4): their functions, and their part of --undo.
# shellcheck source=setup/loopback-nodes.sh
. "$ROOT/setup/loopback-nodes.sh"

stop_background_standins() { # the set-up's own background stand-in build, if it runs (its process group)
  local record=$STATE_DIR/prepared-images/preparing.json pid
  [ -f "$record" ] || return 0
  pid=$(sed -n 's/^ *"pid": *\([0-9][0-9]*\).*/\1/p' "$record")
  if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'standins/main.ts'; then
    kill -TERM -- "-$pid" 2>/dev/null && say "stopped the background stand-in build (pid $pid)" || true
  fi
  rm -f "$record"
}

undo() {
  stop_background_standins
  # The engine 28.5 of the version matrix (setup/prepare-versions.sh), when it runs.
  if [ -f "$STATE_DIR/engine-28-dockerd.pid" ]; then bash "$ROOT/setup/prepare-versions.sh" --stop || true; fi
  [ -f "$CHANGES" ] || { say "nothing recorded in $CHANGES: nothing to undo"; return 0; }
  # Reverse order of the recorded changes.
  tac "$CHANGES" | while read -r change; do
    case "$change" in
      mirror-container) docker rm -f multiarch-mirror >/dev/null 2>&1 && say "removed the mirror registry container" || true ;;
      classic-engine-started)
        if [ -f "$STATE_DIR/classic-dockerd.pid" ]; then
          kill "$(cat "$STATE_DIR/classic-dockerd.pid")" 2>/dev/null && say "stopped the classic-store dockerd" || true
          rm -f "$STATE_DIR/classic-dockerd.pid"; sleep 2
        fi ;;
      classic-bridge) ip link del mah-classic0 2>/dev/null && say "removed the bridge mah-classic0" || true ;;
      dockerd-started)
        if [ -f "$STATE_DIR/dockerd.pid" ]; then
          kill "$(cat "$STATE_DIR/dockerd.pid")" 2>/dev/null && say "stopped dockerd" || true
          rm -f "$STATE_DIR/dockerd.pid"
        fi ;;
      daemon-json)
        if [ -f "$STATE_DIR/daemon.json.orig" ]; then cp "$STATE_DIR/daemon.json.orig" "$DAEMON_JSON"; say "restored $DAEMON_JSON"
        else rm -f "$DAEMON_JSON"; say "removed $DAEMON_JSON"; fi ;;
      buildkitd-toml:*)
        f=${change#buildkitd-toml:}
        if [ -f "$STATE_DIR/buildkitd.default.toml.orig" ]; then cp "$STATE_DIR/buildkitd.default.toml.orig" "$f"; say "restored $f"
        else rm -f "$f"; say "removed $f"; fi ;;
      binfmt-current:*)
        h=${change#binfmt-current:}
        # The handler that was there before is put back exactly as it was (register-emulators.ts kept it).
        if ! node "$ROOT/bin/run-ts.mjs" "$ROOT/setup/register-emulators.ts" --state-dir "$STATE_DIR" --restore "$h" 2>/dev/null; then
          if [ -e "/proc/sys/fs/binfmt_misc/$h" ]; then echo -1 >"/proc/sys/fs/binfmt_misc/$h" && say "removed the handler $h (current QEMU)"; fi
        fi ;;
      binfmt-enabled) update-binfmts --disable >/dev/null 2>&1 && say "disabled the binfmt handlers" || true ;;
      binfmt-mounted) umount /proc/sys/fs/binfmt_misc 2>/dev/null && say "unmounted binfmt_misc" || true ;;
      tls-material|ssh-node-*|ssh-client-config|sshd-privsep-dir) loopback_nodes_undo "$change" ;;
      apt:*) say "installed packages are left in place (${change#apt:}); remove them with apt-get purge if wanted" ;;
    esac
  done
  rm -f "$CHANGES"
}

emulate=
wait_all=
while [ $# -gt 0 ]; do
  case "$1" in
    --undo) undo; exit 0 ;;
    --wait) wait_all=--wait; shift ;;
    --emulate) [ $# -ge 2 ] || die "--emulate takes a platform list (linux/386) or none."; emulate=$2; shift 2 ;;
    --emulate=*) emulate=${1#--emulate=}; shift ;;
    *) die "unknown option $1 (options: --emulate PLATFORMS|none, --wait, --undo)." ;;
  esac
done

start_ts=$(date +%s)
mkdir -p "$STATE_DIR" "$LOG_DIR"

# ---------------------------------------------------------------------------------------------
# 1. A Docker engine. Use an existing one when it works and we did not start it.
# ---------------------------------------------------------------------------------------------
managed_engine=no
if engine_up && ! grep -qx dockerd-started "$CHANGES" 2>/dev/null; then
  say "using the Docker engine already on this host; installing nothing for it"
else
  managed_engine=yes
  [ "$(id -u)" = 0 ] || die "no working Docker engine, and installing one needs root: run as root or start an engine first."
  command -v apt-get >/dev/null || die "no working Docker engine, and this host has no apt-get to install one: start an engine first."
fi

apt_ready=no
apt_install() { # apt_install PKG... : bookworm packages, installed once
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ $apt_ready = no ]; then apt-get update -qq >"$LOG_DIR/apt-update.log" 2>&1 || die "apt-get update failed (see $LOG_DIR/apt-update.log)."; apt_ready=yes; fi
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$LOG_DIR/apt-install.log" 2>&1 \
    || die "apt-get install ${missing[*]} failed (see $LOG_DIR/apt-install.log)."
  record "apt:${missing[*]}"
}

# The trixie engine on bookworm, fetched with a private apt configuration so that the system's
# sources stay untouched (see shared notes: trixie's runc and tini need a newer glibc, so keep
# bookworm's).
TRIXIE_DIR=$STATE_DIR/trixie-apt
trixie_apt() {
  mkdir -p "$TRIXIE_DIR/lists/partial" "$TRIXIE_DIR/archives/partial"
  echo 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main' >"$TRIXIE_DIR/sources.list"
  apt-get -o Dir::Etc::sourcelist="$TRIXIE_DIR/sources.list" -o Dir::Etc::sourceparts=- \
    -o Dir::State::Lists="$TRIXIE_DIR/lists" -o Dir::Cache::archives="$TRIXIE_DIR/archives" "$@"
}

if [ $managed_engine = yes ]; then
  apt_install iptables runc tini adduser sysvinit-utils ca-certificates xz-utils git \
    qemu-user-static binfmt-support file binutils
  # Go and the registry's Go sources, for the registry stand-in (setup/standins/registry-binary.ts).
  apt_install golang-go golang-github-docker-distribution-dev golang-github-bshuster-repo-logrus-logstash-hook-dev
  # The tests validate the JUnit report (xmllint), render the HTML report (headless Chromium) and
  # build a static stand-in emulator (test/fixtures/lying-emulator.c: cc -static).
  apt_install libxml2-utils chromium fonts-dejavu-core gcc libc6-dev
  if ! command -v dockerd >/dev/null || ! [ -x /usr/libexec/docker/cli-plugins/docker-buildx ] || ! command -v containerd >/dev/null; then
    say "installing the Docker engine 26, containerd 1.7 and buildx 0.13 from Debian trixie"
    trixie_apt update -qq >"$LOG_DIR/trixie-update.log" 2>&1 || die "could not read Debian trixie's package lists (see $LOG_DIR/trixie-update.log)."
    (cd "$TRIXIE_DIR/archives" && trixie_apt download docker.io containerd docker-buildx >"$LOG_DIR/trixie-download.log" 2>&1) \
      || die "could not download docker.io, containerd and docker-buildx from trixie (see $LOG_DIR/trixie-download.log)."
    DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold "$TRIXIE_DIR"/archives/{docker.io,containerd,docker-buildx}_*.deb >"$LOG_DIR/dpkg.log" 2>&1 \
      || die "dpkg -i of the trixie engine failed (see $LOG_DIR/dpkg.log)."
    record "apt:docker.io containerd docker-buildx (trixie)"
  fi

  # daemon.json: containerd image store, loopback-only published ports, the offline mirror.
  want=$(cat <<JSON
{
  "features": { "containerd-snapshotter": true },
  "ip": "127.0.0.1",
  "registry-mirrors": ["http://127.0.0.1:${MIRROR_PORT}"]
}
JSON
)
  if [ "$(cat "$DAEMON_JSON" 2>/dev/null)" != "$want" ]; then
    mkdir -p /etc/docker
    if ! grep -qx daemon-json "$CHANGES" 2>/dev/null && [ -f "$DAEMON_JSON" ]; then cp "$DAEMON_JSON" "$STATE_DIR/daemon.json.orig"; fi
    echo "$want" >"$DAEMON_JSON"
    record daemon-json
    say "wrote $DAEMON_JSON (containerd image store, ports on 127.0.0.1, mirror 127.0.0.1:${MIRROR_PORT})"
    if engine_up && [ -f "$STATE_DIR/dockerd.pid" ]; then kill "$(cat "$STATE_DIR/dockerd.pid")" 2>/dev/null || true; sleep 2; fi
  fi

  if ! engine_up; then
    say "starting dockerd (there is no systemd here; log: $LOG_DIR/dockerd.log)"
    # setsid: the daemon outlives this script and is not in its process group.
    setsid nohup dockerd >"$LOG_DIR/dockerd.log" 2>&1 </dev/null &
    echo $! >"$STATE_DIR/dockerd.pid"
    record dockerd-started
    for _ in $(seq 1 60); do engine_up && break; sleep 1; done
    engine_up || die "dockerd did not come up within 60 s (see $LOG_DIR/dockerd.log)."
  fi

  # QEMU handlers. binfmt_misc is not mounted on a new machine.
  if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || die "cannot mount binfmt_misc; the kernel needs CONFIG_BINFMT_MISC."
    record binfmt-mounted
  fi
  if ! ls /proc/sys/fs/binfmt_misc | grep -q '^qemu-'; then
    update-binfmts --enable >/dev/null 2>&1 || true
    ls /proc/sys/fs/binfmt_misc | grep -q '^qemu-' || die "the QEMU handlers did not register in binfmt_misc."
    record binfmt-enabled
    say "registered the QEMU handlers: $(ls /proc/sys/fs/binfmt_misc | grep -c '^qemu-') of them"
  fi
fi

# ---------------------------------------------------------------------------------------------
# 2. The project's own npm dependencies.
# ---------------------------------------------------------------------------------------------
stamp=$ROOT/node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ "$ROOT/package-lock.json" -nt "$stamp" ]; then
  say "installing npm dependencies"
  (cd "$ROOT" && npm ci --no-audit --no-fund >"$LOG_DIR/npm-ci.log" 2>&1) || die "npm ci failed (see $LOG_DIR/npm-ci.log)."
fi
# The CLI (bin/multiarch-harness.mjs, used below) runs the compiled harness in dist/ (its code id,
# dist/harness/code-id.txt, is the build's last step): build it when it is missing or older than a
# source or a build script.
built=$ROOT/dist/harness/code-id.txt
if [ ! -f "$built" ] || [ -n "$(cd "$ROOT" && find harness demo package.json tsconfig.json tsconfig.build.json setup/write-code-id.mjs -newer "$built" -print -quit)" ]; then
  say "compiling the harness (npm run build)"
  (cd "$ROOT" && npm run build >"$LOG_DIR/build.log" 2>&1) || die "npm run build failed (see $LOG_DIR/build.log)."
fi

# ---------------------------------------------------------------------------------------------
# 2a. The real-software corpus the corpus suite reads (test/corpus/, part of npm test): npm's and
#     Debian's release binaries, checked by digest, and samples/hello-go built for every platform,
#     fetched once into the state folder's corpus/ (setup/fetch-corpus.ts; about two minutes the
#     first time, a second after; no engine needed). A failure is a warning only: the suite fetches
#     whatever is missing itself, under the same locks.
# ---------------------------------------------------------------------------------------------
node "$ROOT/bin/run-ts.mjs" "$ROOT/setup/fetch-corpus.ts" --brief \
  || say "warning: the corpus is incomplete (see the lines above); the corpus suite fetches what is missing when it runs."

# ---------------------------------------------------------------------------------------------
# 2b. Current QEMU for every platform this kernel cannot run by itself (and those --emulate names),
#     then proof by execution: a program of every platform the scenarios and stand-ins use is run
#     through the engine (multiarch-harness doctor --require), before anything is built.
# ---------------------------------------------------------------------------------------------
if [ $managed_engine = yes ] || [ -n "$emulate" ]; then
  node "$ROOT/bin/run-ts.mjs" "$ROOT/setup/register-emulators.ts" --state-dir "$STATE_DIR" ${emulate:+--emulate "$emulate"} \
    || die "registering the QEMU emulators failed (see the lines above)."
fi
if [ $managed_engine = yes ]; then
  node "$ROOT/bin/multiarch-harness.mjs" doctor --brief --require all || die "a platform the scenarios need does not run on this host (see the sentence above)."
fi

# ---------------------------------------------------------------------------------------------
# 3. Offline stand-ins for Docker Hub images, and the mirror registry that serves them. When
#    moby/buildkit has to be built (a bare machine: six Go compiles, the long pole), it is built
#    after the others in a background process at a lower CPU priority, recorded in
#    $STATE_DIR/prepared-images/preparing.json (log: $LOG_DIR/standins-background.log); the harness
#    waits for it before it creates a docker-container builder, and it is pushed only whole. --wait
#    builds it before saying ready; `npm run status` says how it is doing.
# ---------------------------------------------------------------------------------------------
if [ $managed_engine = yes ] || [ "${MULTIARCH_STANDINS:-}" = always ]; then
  node "$ROOT/bin/run-ts.mjs" "$ROOT/setup/standins/main.ts" --mirror-port "$MIRROR_PORT" --state-dir "$STATE_DIR" $wait_all \
    || die "building the offline stand-ins failed (see the lines above)."
  record mirror-container

  # BuildKit in a container (buildx's docker-container driver) ignores the engine's registry-mirrors;
  # buildx gives new builders the BuildKit config in this file, so they find Docker Hub names offline.
  BUILDKITD_TOML=${BUILDX_CONFIG:-$HOME/.docker/buildx}/buildkitd.default.toml
  want_toml=$(cat <<TOML
# Written by multiarch-harness (setup/prepare-host.sh): Docker Hub names through the offline mirror.
[registry."docker.io"]
  mirrors = ["127.0.0.1:${MIRROR_PORT}"]

[registry."127.0.0.1:${MIRROR_PORT}"]
  http = true
  insecure = true
TOML
)
  if [ "$(cat "$BUILDKITD_TOML" 2>/dev/null)" != "$want_toml" ]; then
    mkdir -p "$(dirname "$BUILDKITD_TOML")"
    if ! grep -q '^buildkitd-toml' "$CHANGES" 2>/dev/null && [ -f "$BUILDKITD_TOML" ]; then cp "$BUILDKITD_TOML" "$STATE_DIR/buildkitd.default.toml.orig"; fi
    echo "$want_toml" >"$BUILDKITD_TOML"
    record "buildkitd-toml:$BUILDKITD_TOML"
    say "wrote $BUILDKITD_TOML (new buildx builders use the mirror)"
  fi
fi

# ---------------------------------------------------------------------------------------------
# 4. A second engine with the classic image store, on its own socket, so that the article's
#    `--load` error (1.7: "docker exporter does not currently support exporting manifest lists")
#    is shown for real beside the containerd store's success. It has its own data-root, exec-root
#    (and so its own containerd), config file and bridge; it touches neither docker0 nor iptables
#    ("bridge": "none" would delete docker0, the main engine's bridge).
#    It also listens on tcp://127.0.0.1:2376 with TLS (tlsverify: a client needs a certificate of
#    the CA made in $STATE_DIR/tls), the loopback-only fixture of a tcp+TLS node; an engine of this
#    set-up that runs without that listener (an earlier set-up) is restarted once with it.
# ---------------------------------------------------------------------------------------------
CLASSIC_RUN=/run/multiarch-harness
CLASSIC_SOCK=$CLASSIC_RUN/classic-engine.sock
CLASSIC_BRIDGE=mah-classic0
CLASSIC_CONFIG=$STATE_DIR/classic-engine.json
classic_up() { DOCKER_HOST=unix://$CLASSIC_SOCK timeout 10 docker info >/dev/null 2>&1; }
classic_tls_ready() { classic_tls_up || { sleep 2; classic_tls_up; }; }
classic_pid() { # the classic-store dockerd this set-up started, when it runs
  local f pid
  for f in "$STATE_DIR/classic-dockerd.pid" "$CLASSIC_RUN/classic-engine.pid"; do
    pid=$(cat "$f" 2>/dev/null) || continue
    if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$CLASSIC_CONFIG"; then echo "$pid"; return 0; fi
  done
  return 1
}
if [ $managed_engine = yes ]; then
  make_tls_material
  want_classic=$(cat <<JSON
{
  "hosts": ["unix://$CLASSIC_SOCK", "tcp://127.0.0.1:$NODES_TLS_PORT"],
  "tls": true,
  "tlsverify": true,
  "tlscacert": "$NODES_TLS_DIR/server/ca.pem",
  "tlscert": "$NODES_TLS_DIR/server/cert.pem",
  "tlskey": "$NODES_TLS_DIR/server/key.pem",
  "data-root": "$STATE_DIR/classic-engine",
  "exec-root": "$CLASSIC_RUN/classic-engine",
  "pidfile": "$CLASSIC_RUN/classic-engine.pid",
  "features": { "containerd-snapshotter": false },
  "bridge": "$CLASSIC_BRIDGE",
  "iptables": false,
  "ip6tables": false,
  "ip-forward": false,
  "ip-masq": false,
  "ip": "127.0.0.1",
  "registry-mirrors": ["http://127.0.0.1:${MIRROR_PORT}"]
}
JSON
)
  if classic_up && { [ "$(cat "$CLASSIC_CONFIG" 2>/dev/null)" != "$want_classic" ] || [ $tls_made = yes ] || ! classic_tls_ready; }; then
    if pid=$(classic_pid); then
      say "restarting the classic-store dockerd (pid $pid) to listen on tcp://127.0.0.1:$NODES_TLS_PORT with TLS too (its configuration or certificates changed)"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 90); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
      kill -0 "$pid" 2>/dev/null && die "the classic-store dockerd (pid $pid) did not stop within 90 s."
      rm -f "$STATE_DIR/classic-dockerd.pid"
      for _ in $(seq 1 10); do classic_up || break; sleep 1; done
    else
      say "warning: the engine on $CLASSIC_SOCK was not started by this set-up: it is left as it is, and tcp://127.0.0.1:$NODES_TLS_PORT (the TLS node) is not served."
    fi
  fi
fi
if [ $managed_engine = yes ] && ! classic_up; then
  if ! ip link show "$CLASSIC_BRIDGE" >/dev/null 2>&1; then
    # A bridge of its own with an address nothing routes to: no container is ever attached to it
    # (the scenario's BuildKit container uses the host's loopback), but dockerd needs a bridge.
    ip link add "$CLASSIC_BRIDGE" type bridge && ip addr add 10.213.0.1/24 dev "$CLASSIC_BRIDGE" \
      || die "cannot create the bridge $CLASSIC_BRIDGE for the classic-store engine."
    record classic-bridge
  fi
  mkdir -p "$CLASSIC_RUN"
  printf '%s\n' "$want_classic" >"$CLASSIC_CONFIG"
  say "starting a second dockerd with the classic image store on $CLASSIC_SOCK and tcp://127.0.0.1:$NODES_TLS_PORT (TLS) (log: $LOG_DIR/classic-dockerd.log)"
  setsid nohup dockerd --config-file "$CLASSIC_CONFIG" >"$LOG_DIR/classic-dockerd.log" 2>&1 </dev/null &
  echo $! >"$STATE_DIR/classic-dockerd.pid"
  record classic-engine-started
  for _ in $(seq 1 60); do classic_up && break; sleep 1; done
  classic_up || die "the classic-store dockerd did not come up within 60 s (see $LOG_DIR/classic-dockerd.log)."
  classic_tls_ready || die "the classic-store dockerd does not answer on tcp://127.0.0.1:$NODES_TLS_PORT with the client certificate of $NODES_TLS_DIR/client (see $LOG_DIR/classic-dockerd.log)."
fi

# ---------------------------------------------------------------------------------------------
# 4b. The loopback-only fixture of an ssh:// node: an sshd of its own on 127.0.0.1:2222 (key only,
#     root only; Debian's openssh-server, whose own service is never started) whose one key runs
#     `docker system dial-stdio` to the main engine, and the ssh client's drop-in that gives root's
#     connections to 127.0.0.1:2222 that key (setup/loopback-nodes.sh).
# ---------------------------------------------------------------------------------------------
if [ $managed_engine = yes ]; then
  start_ssh_node
fi

# ---------------------------------------------------------------------------------------------
# 5. What this engine can do, as the harness sees it.
# ---------------------------------------------------------------------------------------------
[ $managed_engine = yes ] || node "$ROOT/bin/multiarch-harness.mjs" doctor --brief || true
say "ready in $(( $(date +%s) - start_ts )) s"
