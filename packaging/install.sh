#!/usr/bin/env bash
# Install or upgrade Stile for one role on Debian / Raspberry Pi OS (arm64, amd64):
#
#   sudo ./stile-<version>-linux-<arch>/packaging/install.sh gate        # or kiosk | announcer | cloud
#   sudo install.sh gate --release stile-<version>-linux-<arch>.tar.gz   # a tarball or an unpacked tree
#
# Creates the stile user, /etc/stile, /var/lib/stile, /opt/stile/<version> (+ current, previous),
# the commands in /usr/local/bin, the udev rule and journald limits (boards with devices) and the
# role's systemd unit. Never touches an existing /etc/stile/<role>.yaml or the data: running it
# again with a newer release is the upgrade. See docs/install.md.
set -euo pipefail
SCRIPT=install.sh
SCRIPT_CMD="$0 $*"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

usage() {
  cat <<EOF
usage: install.sh <gate|kiosk|announcer|cloud> [--release <tarball|dir>]
  --release   the release to install (default: the release this script is part of)
EOF
}

ROLE=""
RELEASE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --release) [ $# -ge 2 ] || { usage >&2; exit 2; }; RELEASE=$2; shift 2 ;;
    --release=*) RELEASE=${1#--release=}; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) printf 'install.sh: unknown option %s\n' "$1" >&2; usage >&2; exit 2 ;;
    *) [ -z "$ROLE" ] || { usage >&2; exit 2; }; ROLE=$1; shift ;;
  esac
done
[ -n "$ROLE" ] || { usage >&2; exit 2; }
valid_role "$ROLE" || { printf 'install.sh: unknown role "%s" (gate, kiosk, announcer or cloud)\n' "$ROLE" >&2; exit 2; }

# --- refusals first: nothing is written until every check passed ---------------------------
require_root
machine_arch
check_os
check_writable /etc /opt /usr/local/bin /var/lib
find_node

if [ -z "$RELEASE" ]; then
  RELEASE=$(dirname "$HERE")
  [ -f "$RELEASE/RELEASE.json" ] || die "no release next to this script: pass --release <stile-…tar.gz or directory> (build one with packaging/build-release.sh)"
fi
[ -e "$RELEASE" ] || die "release $RELEASE not found"
if [ -d "$RELEASE" ]; then
  RELEASE=$(cd "$RELEASE" && pwd -P)
  [ -f "$RELEASE/RELEASE.json" ] || die "$RELEASE is not a Stile release (no RELEASE.json): build one with packaging/build-release.sh"
  case "$RELEASE/" in
    "$PREFIX"/*) NEED_MB=0 ;; # already under /opt/stile: nothing to copy
    *) NEED_MB=$(du -sm "$RELEASE" | cut -f1) ;;
  esac
else
  gzip -t "$RELEASE" 2>/dev/null || die "$RELEASE is not a .tar.gz release"
  NEED_MB=$(($(gzip -l "$RELEASE" | awk 'NR==2 {print $2}') / 1048576 + 1))
fi
check_free /opt $((NEED_MB + MARGIN_MB)) "the release ($NEED_MB MB)"
check_free "$VAR_DIR" "$MIN_DATA_MB" "the data directory"

# --- unpack a tarball next to its destination (same file system: the move is a rename) -----
mkdir -p "$PREFIX"
chmod 0755 "$PREFIX"
INCOMING=""
cleanup() { [ -z "$INCOMING" ] || rm -rf "$INCOMING"; }
trap cleanup EXIT
if [ ! -d "$RELEASE" ]; then
  INCOMING=$(mktemp -d "$PREFIX/.incoming.XXXXXX")
  tar -xzf "$RELEASE" -C "$INCOMING" --no-same-owner
  set -- "$INCOMING"/*/RELEASE.json
  [ $# = 1 ] && [ -f "$1" ] || die "$RELEASE does not hold one Stile release directory"
  RELEASE=$(dirname "$1")
fi

VERSION=$(release_field "$RELEASE" version)
REL_ARCH=$(release_field "$RELEASE" arch)
REL_ABI=$(release_field "$RELEASE" nodeAbi)
REL_NODE=$(release_field "$RELEASE" node)
[[ "$VERSION" =~ ^[0-9A-Za-z][0-9A-Za-z.+_~-]*$ ]] || die "release version \"$VERSION\" is not a plain version string"
[ "$REL_ARCH" = "$ARCH" ] || die "this release is built for $REL_ARCH, this machine is $ARCH: use stile-$VERSION-linux-$ARCH.tar.gz (docs/install.md, Building a release)"
NODE_ABI=$("$NODE" -p process.versions.modules)
[ "$REL_ABI" = "$NODE_ABI" ] || die "this release's native modules are built for Node $REL_NODE (ABI $REL_ABI), this machine has Node $NODE_VERSION (ABI $NODE_ABI): install Node ${REL_NODE%%.*} or build a release with this Node"

say "installing Stile $VERSION ($ARCH) for the $ROLE role on $OS_NAME, Node $NODE_VERSION"

# --- user and directories ------------------------------------------------------------------
if getent passwd stile >/dev/null; then
  say "user stile exists"
else
  getent group stile >/dev/null || groupadd --system stile
  useradd --system --gid stile --home-dir "$VAR_DIR" --no-create-home --shell /usr/sbin/nologin --comment "Stile daemons" stile
  say "created system user stile"
fi
GROUPS_ADDED=""
case "$ROLE" in kiosk) ROLE_GROUPS=lp ;; announcer) ROLE_GROUPS=audio ;; *) ROLE_GROUPS="" ;; esac
for g in dialout plugdev gpio $ROLE_GROUPS; do
  if getent group "$g" >/dev/null; then
    usermod -a -G "$g" stile
    GROUPS_ADDED="$GROUPS_ADDED $g"
  fi
done
[ -z "$GROUPS_ADDED" ] || say "stile is in the groups:$GROUPS_ADDED"
install -d -o root -g stile -m 0750 "$ETC_DIR"
install -d -o stile -g stile -m 0750 "$VAR_DIR"

# --- the code: /opt/stile/<version>, then switch current ----------------------------------
DEST="$PREFIX/$VERSION"
CHANGED=0 # new code or units: the running daemons restart
if [ "$(cd "$DEST" 2>/dev/null && pwd -P)" = "$RELEASE" ]; then
  say "$DEST is this release already"
elif [ -d "$DEST" ] && cmp -s "$DEST/RELEASE.json" "$RELEASE/RELEASE.json"; then
  say "$DEST already installed (same build)"
else
  NEW="$PREFIX/.$VERSION.new"
  rm -rf "$NEW"
  if [ -n "$INCOMING" ]; then mv "$RELEASE" "$NEW"; else cp -a "$RELEASE/." "$NEW/"; fi
  chown -R root:root "$NEW"
  chmod -R u+rwX,go+rX,go-w "$NEW"
  CHANGED=1
  if [ -e "$DEST" ]; then
    mv "$DEST" "$PREFIX/.$VERSION.old"
    mv "$NEW" "$DEST"
    rm -rf "$PREFIX/.$VERSION.old"
    say "replaced $DEST (a different build of the same version)"
  else
    mv "$NEW" "$DEST"
    say "installed the code in $DEST"
  fi
fi

for r in $ROLE $(installed_roles); do
  if ! cmp -s "$DEST/packaging/systemd/$(unit_of "$r")" "$UNIT_DIR/$(unit_of "$r")"; then
    install_unit "$r" "$DEST"
    CHANGED=1
  fi
done

OLD=$(readlink "$PREFIX/current" 2>/dev/null || true)
if [ "$OLD" != "$VERSION" ]; then
  set_link current "$VERSION"
  CHANGED=1
  if [ -n "$OLD" ] && [ -d "$PREFIX/$OLD" ]; then
    set_link previous "$OLD"
    say "upgraded $OLD → $VERSION; $OLD kept for rollback (packaging/rollback.sh)"
  fi
fi
# Keep current and previous only: an SD card has no room for every release.
PREV=$(readlink "$PREFIX/previous" 2>/dev/null || true)
for d in "$PREFIX"/*/; do
  d=${d%/}
  [ -L "$d" ] && continue
  v=$(basename "$d")
  if [ "$v" != "$VERSION" ] && [ "$v" != "$PREV" ]; then rm -rf "$d"; say "removed old version $v"; fi
done

# --- commands on PATH ----------------------------------------------------------------------
for c in $CLIS; do
  name=${c%%:*}
  link="$BIN_DIR/$name"
  if [ -e "$link" ] && [ ! -L "$link" ]; then
    warn "$link is a file, not ours: left alone (remove it to get Stile's $name)"
    continue
  fi
  ln -sfn "$PREFIX/current/${c#*:}" "$link"
done
say "commands in $BIN_DIR: gatectl kioskctl stile-cloud stile-gate stile-kiosk stile-announcer"

# --- udev, journald -------------------------------------------------------------------------
if has_devices "$ROLE"; then
  install -D -m 0644 "$DEST/packaging/udev/70-stile.rules" "$UDEV_RULE"
  say "udev rule $UDEV_RULE (scanners, ID-card readers, relay boards: groups dialout and plugdev)"
  if systemd_running && command -v udevadm >/dev/null 2>&1; then
    udevadm control --reload-rules && udevadm trigger --subsystem-match=tty --subsystem-match=hidraw || warn "udevadm could not reload the rules: replug the devices or reboot"
  fi
fi
if on_sd_card "$ROLE"; then
  install -D -m 0644 "$DEST/packaging/journald/stile.conf" "$JOURNALD_CONF"
  say "journald limits $JOURNALD_CONF (persistent, at most 200 MB, 1 GB always kept free: kind to an SD card)"
  if systemd_running; then systemctl restart systemd-journald || warn "journald did not restart: the limits apply after a reboot"; fi
fi

# --- config, data, the unit -----------------------------------------------------------------
UNIT=$(unit_of "$ROLE")
CONFIG="$ETC_DIR/$ROLE.yaml"
if [ -f "$CONFIG" ]; then
  say "keeping $CONFIG (configured machine: config and data in $VAR_DIR are kept)"
else
  case "$ROLE" in
    gate) HOWTO="gatectl provision <bundle> (the bundle from: stile-cloud gates add <site> <gate>)" ;;
    kiosk) HOWTO="kioskctl provision <bundle> (the bundle from: stile-cloud kiosks add <site> <kiosk>)" ;;
    announcer) HOWTO="stile-announcer provision <bundle> (the bundle from: stile-cloud announcers add <site> <id>)" ;;
    cloud) HOWTO="write it by hand (cloud-bridge/README.md; install -m 0640 -g stile cloud.yaml $CONFIG)" ;;
  esac
  say "no $CONFIG yet: $HOWTO"
fi
if [ -n "$(ls -A "$VAR_DIR" 2>/dev/null)" ]; then say "keeping the data in $VAR_DIR"; fi

if systemd_running; then
  systemctl daemon-reload
  systemctl enable --quiet "$UNIT"
  say "enabled $UNIT"
  if [ "$CHANGED" = 1 ]; then
    restart_roles
  elif [ -f "$CONFIG" ]; then
    systemctl start "$UNIT" || warn "$UNIT did not start: journalctl -u $UNIT -n 50"
  fi
  [ -f "$CONFIG" ] || say "$UNIT starts once $CONFIG exists: then systemctl start $UNIT"
else
  say "systemd is not running here (chroot or container): $UNIT_DIR/$UNIT installed, not enabled; on the machine itself run: systemctl enable --now $UNIT"
fi
# System packages the role may need at run time; a note only (an install may be offline).
if has_devices "$ROLE" && ! ldconfig -p 2>/dev/null | grep -q 'libusb-1.0.so.0'; then
  say "note: USB HID scanners need libusb (apt-get install libusb-1.0-0); serial devices do not"
fi
if [ "$ROLE" = announcer ] && ! command -v aplay >/dev/null 2>&1; then
  say "note: the announcer plays through aplay: apt-get install alsa-utils (espeak-ng optional, announcer/README.md)"
fi
case "$ROLE" in
  gate) CHECK="gatectl status; gatectl doctor" ;;
  kiosk) CHECK="kioskctl status; kioskctl doctor" ;;
  *) CHECK="systemctl status $UNIT; journalctl -u $UNIT -n 20" ;;
esac
say "done: Stile $VERSION, role $ROLE. Check with: $CHECK"
