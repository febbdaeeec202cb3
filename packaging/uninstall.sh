#!/usr/bin/env bash
# Remove one role of Stile:
#
#   sudo /opt/stile/current/packaging/uninstall.sh gate            # keeps /etc/stile and /var/lib/stile
#   sudo /opt/stile/current/packaging/uninstall.sh gate --purge    # also removes them, after a backup tarball
#
# The role's unit goes. The code (/opt/stile), the commands, the udev rule and the journald
# limits go with the last role. Config, keys and data stay unless --purge; --purge first writes
# /var/backups/stile-purge-<date>.tar.gz (mode 0600: it holds the keys), then removes them and
# the stile user. See docs/install.md.
set -euo pipefail
SCRIPT=uninstall.sh
SCRIPT_CMD="$0 $*"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

usage() { echo "usage: uninstall.sh <gate|kiosk|announcer|cloud> [--purge]"; }

ROLE=""
PURGE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --purge) PURGE=1; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) printf 'uninstall.sh: unknown option %s\n' "$1" >&2; usage >&2; exit 2 ;;
    *) [ -z "$ROLE" ] || { usage >&2; exit 2; }; ROLE=$1; shift ;;
  esac
done
[ -n "$ROLE" ] || { usage >&2; exit 2; }
valid_role "$ROLE" || { printf 'uninstall.sh: unknown role "%s" (gate, kiosk, announcer or cloud)\n' "$ROLE" >&2; exit 2; }

require_root
check_writable /etc /opt /usr/local/bin /var/lib

UNIT=$(unit_of "$ROLE")
OTHERS=""
for r in $(installed_roles); do [ "$r" = "$ROLE" ] || OTHERS="$OTHERS $r"; done
OTHERS=${OTHERS# }
if [ "$PURGE" = 1 ] && [ -n "$OTHERS" ]; then
  die "--purge removes the config and data of every role, and $OTHERS is still installed: uninstall it first, or uninstall $ROLE without --purge"
fi
if [ "$PURGE" = 1 ]; then
  # Back up before stopping anything: a failed backup must leave the machine as it was.
  if [ -d "$ETC_DIR" ] || [ -d "$VAR_DIR" ]; then
    BACKUP="/var/backups/stile-purge-$(date +%Y%m%d-%H%M%S).tar.gz"
    mkdir -p /var/backups
    set --
    [ -d "$ETC_DIR" ] && set -- "$@" "${ETC_DIR#/}"
    [ -d "$VAR_DIR" ] && set -- "$@" "${VAR_DIR#/}"
    (umask 077 && tar -czf "$BACKUP" -C / "$@") || { rm -f "$BACKUP"; die "backup to $BACKUP failed: nothing removed"; }
    tar -tzf "$BACKUP" >/dev/null || die "backup $BACKUP does not read back: nothing removed"
    say "backup of $ETC_DIR and $VAR_DIR: $BACKUP (holds keys: keep it safe; restore with tar -xzf $BACKUP -C /)"
  fi
fi

# --- the role ------------------------------------------------------------------------------
if systemd_running; then
  systemctl disable --now --quiet "$UNIT" 2>/dev/null || true
  say "stopped and disabled $UNIT"
fi
if [ -f "$UNIT_DIR/$UNIT" ]; then
  rm -f "$UNIT_DIR/$UNIT"
  say "removed $UNIT_DIR/$UNIT"
else
  say "$UNIT was not installed"
fi
rm -rf "$UNIT_DIR/$UNIT.d"
rm -f "$UNIT_DIR/$UNIT.bak"
systemd_running && systemctl daemon-reload

# --- what the roles share: only with the last one -----------------------------------------
needs_udev=0
needs_journald=0
for r in $OTHERS; do
  has_devices "$r" && needs_udev=1
  on_sd_card "$r" && needs_journald=1
done
if [ "$needs_udev" = 0 ] && [ -f "$UDEV_RULE" ]; then
  rm -f "$UDEV_RULE"
  say "removed $UDEV_RULE"
  if systemd_running && command -v udevadm >/dev/null 2>&1; then udevadm control --reload-rules || true; fi
fi
if [ "$needs_journald" = 0 ] && [ -f "$JOURNALD_CONF" ]; then
  rm -f "$JOURNALD_CONF"
  say "removed $JOURNALD_CONF"
  if systemd_running; then systemctl restart systemd-journald || true; fi
fi
if [ -z "$OTHERS" ]; then
  for c in $CLIS; do
    link="$BIN_DIR/${c%%:*}"
    case "$(readlink "$link" 2>/dev/null)" in "$PREFIX"/*) rm -f "$link" ;; esac
  done
  rm -rf "$PREFIX"
  say "removed $PREFIX and the commands in $BIN_DIR"
else
  say "kept $PREFIX and the commands: still installed: $OTHERS"
fi

# --- config and data -----------------------------------------------------------------------
if [ "$PURGE" = 1 ]; then
  rm -rf "$ETC_DIR" "$VAR_DIR"
  say "removed $ETC_DIR and $VAR_DIR"
  if getent passwd stile >/dev/null; then
    if err=$(userdel stile 2>&1); then say "removed user stile"; else warn "user stile not removed ($err): stop its processes, then userdel stile"; fi
  fi
  if getent group stile >/dev/null; then groupdel stile 2>/dev/null || true; fi
else
  say "kept $ETC_DIR, $VAR_DIR and the user stile (uninstall.sh $ROLE --purge removes them, after a backup)"
fi
