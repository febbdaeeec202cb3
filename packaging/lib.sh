# Shared by install.sh, uninstall.sh and rollback.sh (sourced, not run). Plain bash and the
# tools of a minimal Debian (coreutils, util-linux, passwd): these scripts run on a fresh
# Raspberry Pi OS Lite as well as in a debootstrap --variant=minbase chroot.

PREFIX=/opt/stile
ETC_DIR=/etc/stile
VAR_DIR=/var/lib/stile
BIN_DIR=/usr/local/bin
UNIT_DIR=/etc/systemd/system
UDEV_RULE=/etc/udev/rules.d/70-stile.rules
JOURNALD_CONF=/etc/systemd/journald.conf.d/stile.conf
ROLES="gate kiosk announcer cloud"
# The commands put on PATH, and where each lives in a release.
CLIS="gatectl:gate-agent/bin/gatectl.js stile-gate:gate-agent/bin/stile-gate.js kioskctl:kiosk-agent/bin/kioskctl.js stile-kiosk:kiosk-agent/bin/stile-kiosk.js stile-cloud:cloud-bridge/bin/stile-cloud.js stile-announcer:announcer/bin/stile-announcer.js"
# Free space below which we refuse: code is copied next to the running version, data grows.
MIN_DATA_MB=200
MARGIN_MB=50

say() { printf '%s: %s\n' "$SCRIPT" "$*"; }
warn() { printf '%s: warning: %s\n' "$SCRIPT" "$*" >&2; }
die() { printf '%s: %s\n' "$SCRIPT" "$*" >&2; exit 1; }

valid_role() { case " $ROLES " in *" $1 "*) [ -n "$1" ] ;; *) return 1 ;; esac; }
unit_of() { printf 'stile-%s.service' "$1"; }
# Roles whose lane hardware needs the udev rule; roles on an SD-card board get the journald limits.
has_devices() { [ "$1" = gate ] || [ "$1" = kiosk ]; }
on_sd_card() { [ "$1" != cloud ]; }

require_root() {
  [ "$(id -u)" = 0 ] || die "must run as root: sudo $SCRIPT_CMD"
}

# Kernel architecture (uname) and userland (dpkg) must both be 64-bit arm or x86: the native
# modules in a release are built for one of them, and Node 20 has no official 32-bit ARM build.
machine_arch() {
  local m
  m=$(uname -m)
  case "$m" in
    x86_64) ARCH=amd64 ;;
    aarch64 | arm64) ARCH=arm64 ;;
    armv6l | armv7l | armhf) die "unsupported architecture $m (32-bit ARM): install the 64-bit Raspberry Pi OS (arm64) on a Pi 3, 4 or 5" ;;
    *) die "unsupported architecture $m: Stile installs on arm64 (64-bit Raspberry Pi OS) and amd64 only" ;;
  esac
  if command -v dpkg >/dev/null 2>&1; then
    local userland
    userland=$(dpkg --print-architecture)
    [ "$userland" = "$ARCH" ] || die "the kernel is $m but the installed system is $userland: install the 64-bit ($ARCH) Raspberry Pi OS / Debian"
  fi
}

check_os() {
  [ -r /etc/os-release ] || die "cannot read /etc/os-release: Stile installs on Debian 12+ or Raspberry Pi OS only"
  local id like pretty
  id=$(. /etc/os-release && printf '%s' "${ID:-}")
  like=$(. /etc/os-release && printf '%s' "${ID_LIKE:-}")
  pretty=$(. /etc/os-release && printf '%s' "${PRETTY_NAME:-$id}")
  case " $id $like " in
    *" debian "* | *" raspbian "*) OS_NAME=$pretty ;;
    *) die "unsupported system \"$pretty\": Stile installs on Debian 12+ or Raspberry Pi OS (or a Debian derivative)" ;;
  esac
}

# A read-only root (ro mount, or Raspberry Pi OS's overlay file system, whose writes vanish at
# the next boot) would leave half an install or one that is gone after a power cut.
check_writable() {
  if [ -r /proc/cmdline ] && grep -qE '(^| )(boot=overlay|overlayroot=)' /proc/cmdline; then
    die "the root file system is an overlay (Raspberry Pi \"Overlay File System\"): an install would be lost at the next boot. Turn the overlay off (raspi-config → Performance Options → Overlay File System → No), reboot, and run this again"
  fi
  local d probe err
  for d in "$@"; do
    while [ ! -d "$d" ]; do d=$(dirname "$d"); done
    probe="$d/.stile-write-test.$$"
    if ! err=$( { : >"$probe"; } 2>&1); then
      case "$err" in
        *"Read-only"*) die "$d is on a read-only file system: remount rw / (mount -o remount,rw /) or use overlayfs off (raspi-config → Performance Options → Overlay File System → No), then run this again" ;;
        *) die "cannot write to $d: ${err#*: }" ;;
      esac
    fi
    rm -f "$probe"
  done
}

# Megabytes free for root-less users too (what a daemon sees), through statfs: needs no /proc.
free_mb() {
  local d=$1
  while [ ! -d "$d" ]; do d=$(dirname "$d"); done
  local out
  out=$(stat -f -c '%a %S' "$d")
  echo $((${out% *} * ${out#* } / 1048576))
}

check_free() {
  local dir=$1 need=$2 what=$3 have
  have=$(free_mb "$dir")
  [ "$have" -ge "$need" ] || die "disk too full: $have MB free on $dir, $what needs $need MB. Free some space (apt-get clean; journalctl --vacuum-size=50M; old files in /var/lib/stile/backups) or use a larger card"
}

# systemd managing this machine, not a chroot or container of another one.
systemd_running() {
  [ -d /run/systemd/system ] || return 1
  command -v systemctl >/dev/null 2>&1 || return 1
  # In a chroot with /proc mounted, PID 1's root is not ours.
  if [ -r /proc/1/root ] 2>/dev/null; then
    [ "$(stat -Lc %d:%i / 2>/dev/null)" = "$(stat -Lc %d:%i /proc/1/root/ 2>/dev/null)" ] || return 1
  fi
  return 0
}

# Node.js on systemd's default PATH (the units run `#!/usr/bin/env node` scripts).
NODE_HELP="Node.js 20.19 or newer is needed in /usr/local/bin or /usr/bin. Debian 12 / Raspberry Pi OS bookworm ship Node 18; get Node 20 from NodeSource:
    curl -fsSL https://deb.nodesource.com/setup_20.x | sudo bash - && sudo apt-get install -y nodejs
  or unpack the official build (https://nodejs.org/dist/latest-v20.x/, the linux-arm64 or linux-x64 .tar.xz) into /usr/local:
    sudo tar -xJf node-v20.*-linux-*.tar.xz -C /usr/local --strip-components=1 --exclude='*.md' --exclude=LICENSE
  then run this again."

find_node() {
  NODE=""
  local n
  for n in /usr/local/bin/node /usr/bin/node; do
    if [ -x "$n" ]; then NODE=$n; break; fi
  done
  if [ -z "$NODE" ]; then
    local elsewhere
    elsewhere=$(command -v node 2>/dev/null || true)
    [ -z "$elsewhere" ] || die "node is at $elsewhere, which systemd does not search: link it (sudo ln -s $elsewhere /usr/local/bin/node) or install it system-wide. $NODE_HELP"
    die "Node.js not found. $NODE_HELP"
  fi
  NODE_VERSION=$("$NODE" -p process.versions.node 2>/dev/null) || die "$NODE does not run. $NODE_HELP"
  "$NODE" -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
    || die "Node.js $NODE_VERSION at $NODE is too old. $NODE_HELP"
}

# A field of a release's RELEASE.json.
release_field() { "$NODE" -p "JSON.parse(require('fs').readFileSync(process.argv[1],'utf8'))[process.argv[2]] ?? ''" "$1/RELEASE.json" "$2"; }

installed_roles() {
  local r out=""
  for r in $ROLES; do [ -f "$UNIT_DIR/$(unit_of "$r")" ] && out="$out $r"; done
  printf '%s' "${out# }"
}

# Install a role's unit from a release tree. A unit that differs from the one the running
# version shipped was edited by hand: keep a copy (changes belong in a drop-in).
install_unit() {
  local role=$1 tree=$2 unit src dst shipped
  unit=$(unit_of "$role")
  src="$tree/packaging/systemd/$unit"
  dst="$UNIT_DIR/$unit"
  shipped="$PREFIX/current/packaging/systemd/$unit"
  [ -f "$src" ] || die "$src missing: is this a Stile release?"
  mkdir -p "$UNIT_DIR"
  if [ -f "$dst" ] && ! cmp -s "$src" "$dst" && ! cmp -s "$shipped" "$dst"; then
    cp -p "$dst" "$dst.bak"
    warn "$dst had local changes: kept as $dst.bak (put changes in a drop-in: systemctl edit $unit)"
  fi
  install -m 0644 "$src" "$dst"
}

# Point /opt/stile/<link> at a version, atomically (rename over the old link).
set_link() {
  ln -sfn "$2" "$PREFIX/.$1.new"
  mv -Tf "$PREFIX/.$1.new" "$PREFIX/$1"
}

# Restart every installed role whose config exists (they share /opt/stile/current).
restart_roles() {
  local r unit failed=""
  systemd_running || return 0
  systemctl daemon-reload
  for r in $(installed_roles); do
    unit=$(unit_of "$r")
    if [ -f "$ETC_DIR/$r.yaml" ] && systemctl is-enabled --quiet "$unit" 2>/dev/null; then
      if systemctl restart "$unit"; then say "restarted $unit"; else failed="$failed $unit"; fi
    fi
  done
  [ -z "$failed" ] || warn "did not start:$failed — see journalctl -u <unit> -n 50 and the troubleshooting list in docs/install.md"
}
