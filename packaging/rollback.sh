#!/usr/bin/env bash
# Go back to the version installed before the last upgrade:
#
#   sudo /opt/stile/current/packaging/rollback.sh
#
# Swaps /opt/stile/current and /opt/stile/previous (run it again to go forward), puts back that
# version's units and restarts the installed roles. Config and data are not touched: if the newer
# version had migrated a database, the older daemon refuses it with a line saying so; then restore
# the backup taken before the migration (/var/lib/stile/backups). See docs/install.md.
set -euo pipefail
SCRIPT=rollback.sh
SCRIPT_CMD="$0 $*"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

case "${1:-}" in
  "") ;;
  -h | --help) echo "usage: rollback.sh"; exit 0 ;;
  *) echo "usage: rollback.sh" >&2; exit 2 ;;
esac

require_root
check_writable /opt /etc

CUR=$(readlink "$PREFIX/current" 2>/dev/null || true)
PREV=$(readlink "$PREFIX/previous" 2>/dev/null || true)
[ -n "$CUR" ] || die "Stile is not installed ($PREFIX/current missing)"
[ -n "$PREV" ] && [ -d "$PREFIX/$PREV" ] || die "no previous version to go back to: only $CUR is in $PREFIX"

for r in $(installed_roles); do install_unit "$r" "$PREFIX/$PREV"; done
set_link current "$PREV"
set_link previous "$CUR"
say "rolled back $CUR → $PREV ($CUR kept: run rollback.sh again to return to it)"
if systemd_running; then
  restart_roles
else
  say "systemd is not running here: the units start $PREV at the next boot"
fi
