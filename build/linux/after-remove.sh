#!/bin/sh
# Debian post-remove for Homeward (electron-builder deb afterRemove): stops and
# removes the service and the /usr/bin link. The profile in /etc/homeward and
# the `homeward` user and group stay (an administrator's data); `apt purge`
# leaves them too, remove them by hand if wanted.
set -e

# dpkg calls this on upgrades too: keep the service then (the new version's
# after-install reinstalls the unit and restarts a running service)
case "${1:-remove}" in
  upgrade|failed-upgrade|abort-install|abort-upgrade|disappear) exit 0 ;;
esac

UNIT=/etc/systemd/system/homeward.service

if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now homeward.service >/dev/null 2>&1 || true
fi
rm -f "$UNIT" /usr/share/polkit-1/rules.d/50-homeward.rules
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
fi

rm -f '/usr/bin/${executable}'
exit 0
