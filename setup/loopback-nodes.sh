# shellcheck shell=bash
# Sourced by setup/prepare-host.sh (it uses say, die, record, apt_install, STATE_DIR, LOG_DIR and
# CHANGES from there). Two loopback-only test fixtures for --node (test/e2e/remote-nodes.test.ts),
# which prove the README's remote nodes on this one machine:
#
#   - tcp+TLS: a CA, a server certificate for IP:127.0.0.1 and a client certificate, made with
#     openssl into $STATE_DIR/tls; prepare-host.sh step 4 has the classic-store engine also listen
#     on tcp://127.0.0.1:2376 with tlsverify and them ($STATE_DIR/tls/client is a DOCKER_CERT_PATH);
#   - ssh: a second sshd (Debian's openssh-server, never the package's own service) on
#     127.0.0.1:2222 only, key only, root only, with its configuration, host key, client key pair,
#     authorized key and pid file in $STATE_DIR/ssh. The one authorized key runs
#     `docker --host unix:///var/run/docker.sock system dial-stdio` (the main engine's tunnel,
#     whatever the client asks to run) and nothing else. The docker CLI dials
#     ssh:// with the system `ssh` and no options of its own, so a drop-in of the ssh client's
#     configuration gives root's connections to 127.0.0.1 port 2222, and only those, that key and
#     that host key.
#
# Every change is recorded for --undo (loopback_nodes_undo).

NODES_TLS_DIR=$STATE_DIR/tls
NODES_TLS_PORT=2376
NODES_SSH_DIR=$STATE_DIR/ssh
NODES_SSH_PORT=2222
NODES_SSH_CLIENT_CONF=/etc/ssh/ssh_config.d/multiarch-harness.conf
NODES_SSH_MARK='# Written by multiarch-harness (setup/prepare-host.sh)'

# ---------------------------------------------------------------------------------------------
# tcp+TLS
# ---------------------------------------------------------------------------------------------

# The classic engine's tcp listener, as a client with the client certificate sees it.
classic_tls_up() {
  local c=$NODES_TLS_DIR/client
  env -u DOCKER_HOST -u DOCKER_CONTEXT -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH -u DOCKER_TLS \
    timeout 20 docker --tlsverify --tlscacert "$c/ca.pem" --tlscert "$c/cert.pem" --tlskey "$c/key.pem" \
    -H "tcp://127.0.0.1:$NODES_TLS_PORT" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

# Whether the certificates are there, verify against the CA for their purpose, name 127.0.0.1 (the
# server's) and hold for 30 days more.
tls_material_ok() {
  local d=$NODES_TLS_DIR f san
  for f in ca/ca.pem ca/key.pem server/ca.pem server/cert.pem server/key.pem client/ca.pem client/cert.pem client/key.pem; do
    [ -s "$d/$f" ] || return 1
  done
  openssl verify -CAfile "$d/ca/ca.pem" -purpose sslserver "$d/server/cert.pem" >/dev/null 2>&1 || return 1
  openssl verify -CAfile "$d/ca/ca.pem" -purpose sslclient "$d/client/cert.pem" >/dev/null 2>&1 || return 1
  san=$(openssl x509 -noout -ext subjectAltName -in "$d/server/cert.pem" 2>/dev/null) || return 1
  grep -q 'IP Address:127\.0\.0\.1' <<<"$san" || return 1
  for f in ca/ca.pem server/cert.pem client/cert.pem; do
    openssl x509 -noout -checkend $((30 * 86400)) -in "$d/$f" >/dev/null 2>&1 || return 1
  done
}

# Makes the CA, the server's and the client's certificates when they are not all there and good
# (then all of them, anew). Sets tls_made=yes when it made them: an engine using the old ones must
# be restarted (prepare-host.sh step 4 reads it).
# shellcheck disable=SC2034
tls_made=no
make_tls_material() {
  local d=$NODES_TLS_DIR log=$LOG_DIR/tls-material.log cnf
  tls_material_ok && return 0
  command -v openssl >/dev/null || apt_install openssl
  say "making a CA, a server certificate for 127.0.0.1 and a client certificate in $d (openssl)"
  rm -rf "$d"
  (umask 077 && mkdir -p "$d/ca" "$d/server" "$d/client")
  record tls-material
  cnf=$d/openssl.cnf
  cat >"$cnf" <<'CNF'
# Written by multiarch-harness (setup/prepare-host.sh): the loopback TLS node's certificates.
[req]
distinguished_name = dn
[dn]
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
[v3_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1
[v3_client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
CNF
  {
    newkey() { (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"); }
    # sign NAME CN EXTENSIONS: a key and a certificate signed by the CA, in $d/NAME.
    sign() {
      newkey "$d/$1/key.pem" &&
        openssl req -new -config "$cnf" -key "$d/$1/key.pem" -subj "/CN=$2" -out "$d/$1/csr.pem" &&
        openssl x509 -req -in "$d/$1/csr.pem" -CA "$d/ca/ca.pem" -CAkey "$d/ca/key.pem" -set_serial "0x$(openssl rand -hex 16)" \
          -days 3650 -sha256 -extfile "$cnf" -extensions "$3" -out "$d/$1/cert.pem" &&
        rm -f "$d/$1/csr.pem" && cp "$d/ca/ca.pem" "$d/$1/ca.pem"
    }
    newkey "$d/ca/key.pem" &&
      openssl req -new -x509 -config "$cnf" -extensions v3_ca -key "$d/ca/key.pem" -subj '/CN=multiarch-harness loopback test CA' \
        -days 3650 -sha256 -out "$d/ca/ca.pem" &&
      sign server 127.0.0.1 v3_server &&
      sign client 'multiarch-harness test client' v3_client
  } >"$log" 2>&1 || die "making the TLS certificates failed (see $log)."
  tls_material_ok || die "the TLS certificates made in $d do not verify against their CA (see $log)."
  # shellcheck disable=SC2034
  tls_made=yes
}

# ---------------------------------------------------------------------------------------------
# ssh
# ---------------------------------------------------------------------------------------------

# The pid of this set-up's sshd when it runs: its pid file (in a folder only root writes, which
# only that sshd writes) names a live sshd. Not its command line: sshd rewrites it ("[listener] ...").
ssh_node_pid() {
  local pid
  pid=$(cat "$NODES_SSH_DIR/sshd.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(readlink -f "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f /usr/sbin/sshd)" ] && echo "$pid"
}

stop_ssh_node() {
  local pid
  pid=$(ssh_node_pid) || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$pid" 2>/dev/null && return 1
  rm -f "$NODES_SSH_DIR/sshd.pid"
  say "stopped the loopback sshd (127.0.0.1:$NODES_SSH_PORT)"
}

# The main engine through the ssh node, as the harness reaches it: the docker CLI's ssh helper.
ssh_node_up() {
  env -u DOCKER_CONTEXT -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH -u DOCKER_TLS DOCKER_HOST="ssh://root@127.0.0.1:$NODES_SSH_PORT" \
    timeout 60 docker version --format '{{.Server.Version}}' >/dev/null 2>"$LOG_DIR/ssh-node-check.log"
}

# openssh-server, with its own service kept from starting while it is installed (the package's
# postinst asks invoke-rc.d, which asks /usr/sbin/policy-rc.d): it would listen on every address.
install_openssh_server() {
  local policy=/usr/sbin/policy-rc.d kept='' rc=0
  dpkg-query -W -f='${Status}' openssh-server 2>/dev/null | grep -q 'ok installed' && return 0
  if [ -e "$policy" ]; then kept=$STATE_DIR/policy-rc.d.kept; mv "$policy" "$kept"; fi
  printf '#!/bin/sh\n# multiarch-harness: no service starts while it installs openssh-server\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  (apt_install openssh-server) || rc=$?
  rm -f "$policy"
  if [ -n "$kept" ]; then mv "$kept" "$policy"; fi
  [ "$rc" = 0 ] || exit "$rc"
  # Had the package's sshd started anyway (on every address), it is stopped: only 127.0.0.1 listens here.
  local pid
  pid=$(cat /run/sshd.pid 2>/dev/null) || pid=
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" && say "stopped the sshd the openssh-server package started (it listens on every address)"
  fi
}

start_ssh_node() {
  local d=$NODES_SSH_DIR docker_bin docker_dir sshd_bin conf changed=no k root_pw seen
  docker_bin=$(command -v docker) || die "the docker CLI is not on PATH: the ssh node's sessions run it (docker system dial-stdio)."
  case $docker_bin in /*) ;; *) die "the docker CLI is not a file ($docker_bin): the ssh node's sessions need its path." ;; esac
  case $docker_bin$d in *[\"\\[:space:]]*) die "the paths $docker_bin and $d must hold no quote, backslash or space (they go into sshd's configuration)." ;; esac
  docker_dir=$(dirname "$docker_bin")
  install_openssh_server
  sshd_bin=/usr/sbin/sshd
  [ -x "$sshd_bin" ] || die "openssh-server is installed but $sshd_bin is missing."
  if ! command -v ssh >/dev/null || ! command -v ssh-keygen >/dev/null; then die "ssh and ssh-keygen (openssh-client) are missing."; fi
  # Without PAM (this sshd has none: pam_loginuid fails in containers), sshd refuses keys too for an
  # account whose password field starts with "!" (locked).
  root_pw=$(getent shadow root | cut -d: -f2) || root_pw=
  case $root_pw in '!'*) die "root's password field is locked with \"!\" (/etc/shadow), which sshd without PAM refuses even for keys: the ssh node cannot log in as root. usermod -p '*' root makes it key-only instead." ;; esac

  if [ ! -d "$d" ]; then (umask 077 && mkdir -p "$d"); fi
  chmod 700 "$d"
  record ssh-node-files
  for k in host_ed25519 client_ed25519; do
    if [ ! -s "$d/$k" ] || [ ! -s "$d/$k.pub" ]; then
      rm -f "$d/$k" "$d/$k.pub"
      ssh-keygen -q -t ed25519 -N '' -C "multiarch-harness loopback ssh node ($k)" -f "$d/$k" >/dev/null || die "ssh-keygen could not make $d/$k."
      changed=yes
    fi
  done

  # The one key sshd accepts: root's, for the main engine's tunnel only (restrict: no pty, no
  # forwarding), named by its socket, whatever root's docker config calls its current context.
  write_if_changed "$d/authorized_keys" "restrict,command=\"$docker_bin --host unix:///var/run/docker.sock system dial-stdio\" $(cut -d' ' -f1,2 "$d/client_ed25519.pub") multiarch-harness ssh node client"
  [ $wrote = no ] || changed=yes
  write_if_changed "$d/known_hosts" "[127.0.0.1]:$NODES_SSH_PORT $(cut -d' ' -f1,2 "$d/host_ed25519.pub")"
  conf=$(cat <<SSHD
$NODES_SSH_MARK; --undo stops this sshd and removes this folder.
# The ssh:// node test fixture: 127.0.0.1 only, keys only, root only; the one authorized key runs
# \`docker system dial-stdio\` (the main engine's tunnel) and nothing else.
Port $NODES_SSH_PORT
ListenAddress 127.0.0.1
AddressFamily inet
HostKey $d/host_ed25519
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
AllowUsers root
PermitRootLogin prohibit-password
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
PermitEmptyPasswords no
UsePAM no
StrictModes yes
PermitUserEnvironment no
PermitTTY no
DisableForwarding yes
PermitTunnel no
PrintMotd no
PrintLastLog no
# Each engine request of the harness is a connection of its own, several at once.
MaxStartups 64:30:128
# The docker CLI of the sessions' commands (absolute in the authorized key too).
SetEnv PATH=$docker_dir:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
SSHD
)
  write_if_changed "$d/sshd_config" "$conf"
  [ $wrote = no ] || changed=yes

  # The client's side: what the docker CLI's `ssh -l root -p 2222 -- 127.0.0.1 ...` needs, for root's
  # connections to 127.0.0.1 port 2222 alone (the exec criterion is the port's test).
  mkdir -p "$(dirname "$NODES_SSH_CLIENT_CONF")"
  if [ -e "$NODES_SSH_CLIENT_CONF" ] && ! head -n1 "$NODES_SSH_CLIENT_CONF" | grep -qF "$NODES_SSH_MARK"; then
    die "$NODES_SSH_CLIENT_CONF exists and was not written by this set-up: move it away first."
  fi
  # Mode 644: it holds paths only, and every user's ssh reads the files of ssh_config.d.
  write_if_changed "$NODES_SSH_CLIENT_CONF" "$(cat <<SSHC
$NODES_SSH_MARK; --undo removes it.
# How root's ssh reaches the loopback sshd of the ssh:// node test fixture (ssh://root@127.0.0.1:$NODES_SSH_PORT):
# the docker CLI runs the system ssh with no options of its own. Nothing else matches.
Match host 127.0.0.1 localuser root exec "test %p = $NODES_SSH_PORT"
  IdentityFile "$d/client_ed25519"
  IdentitiesOnly yes
  UserKnownHostsFile "$d/known_hosts"
  StrictHostKeyChecking yes
  BatchMode yes
  PreferredAuthentications publickey
SSHC
)" 644
  record ssh-client-config
  # `ssh -G` prints the configuration a connection would use, and connects to nothing.
  seen=$(ssh -G -p "$NODES_SSH_PORT" -l root 127.0.0.1 2>/dev/null) || seen=
  grep -qixF "identityfile $d/client_ed25519" <<<"$seen" \
    || die "ssh does not read $NODES_SSH_CLIENT_CONF for 127.0.0.1 port $NODES_SSH_PORT (does /etc/ssh/ssh_config include /etc/ssh/ssh_config.d/*.conf?)."

  # sshd's privilege separation directory, which its service would have made.
  if [ ! -d /run/sshd ]; then mkdir -m 0755 /run/sshd; record sshd-privsep-dir; fi
  "$sshd_bin" -t -f "$d/sshd_config" >"$LOG_DIR/sshd-config-test.log" 2>&1 \
    || die "sshd refuses its configuration $d/sshd_config (see $LOG_DIR/sshd-config-test.log)."

  if ssh_node_pid >/dev/null && [ $changed = yes ]; then
    say "restarting the loopback sshd (its keys or configuration changed)"
    stop_ssh_node || die "the loopback sshd (pid $(ssh_node_pid)) did not stop."
  fi
  if ! ssh_node_pid >/dev/null; then
    say "starting an sshd on 127.0.0.1:$NODES_SSH_PORT for the ssh:// node (log: $LOG_DIR/sshd.log)"
    # It daemonizes itself (a session of its own, out of this script's process group).
    "$sshd_bin" -f "$d/sshd_config" -E "$LOG_DIR/sshd.log" || die "sshd did not start (see $LOG_DIR/sshd.log)."
    record ssh-node-started
    for _ in $(seq 1 50); do ssh_node_pid >/dev/null && break; sleep 0.2; done
    ssh_node_pid >/dev/null || die "sshd did not write its pid file $d/sshd.pid (see $LOG_DIR/sshd.log)."
  fi
  ssh_node_up || die "the main engine does not answer through ssh://root@127.0.0.1:$NODES_SSH_PORT: $(tail -n1 "$LOG_DIR/ssh-node-check.log") (see also $LOG_DIR/sshd.log)."
}

# write_if_changed FILE TEXT [MODE]: writes TEXT (and a newline) to FILE, mode MODE (600), unless it
# holds it already; sets wrote=yes when it wrote, else wrote=no.
wrote=no
write_if_changed() {
  wrote=no
  [ "$(cat "$1" 2>/dev/null)" = "$2" ] && return 0
  { (umask 077 && printf '%s\n' "$2" >"$1.tmp") && chmod "${3:-600}" "$1.tmp" && mv "$1.tmp" "$1"; } || die "cannot write $1."
  wrote=yes
}

# ---------------------------------------------------------------------------------------------
# --undo: one recorded change.
# ---------------------------------------------------------------------------------------------
loopback_nodes_undo() {
  case "$1" in
    ssh-node-started) stop_ssh_node || say "the loopback sshd did not stop: kill $(ssh_node_pid)" ;;
    sshd-privsep-dir)
      # Left while another sshd (the system's) runs: it needs it.
      if ! pgrep -x sshd >/dev/null 2>&1; then rmdir /run/sshd 2>/dev/null && say "removed /run/sshd" || true; fi ;;
    ssh-client-config)
      if head -n1 "$NODES_SSH_CLIENT_CONF" 2>/dev/null | grep -qF "$NODES_SSH_MARK"; then
        rm -f "$NODES_SSH_CLIENT_CONF" && say "removed $NODES_SSH_CLIENT_CONF"
      fi ;;
    ssh-node-files) rm -rf "$NODES_SSH_DIR" && say "removed $NODES_SSH_DIR (the ssh node's keys and configuration)" ;;
    tls-material) rm -rf "$NODES_TLS_DIR" && say "removed $NODES_TLS_DIR (the TLS node's certificates)" ;;
  esac
}
