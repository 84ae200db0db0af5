#!/bin/sh
# Debian post-install for Homeward (electron-builder deb afterInstall; it
# replaces electron-builder's own script, whose two jobs — the /usr/bin link
# and chrome-sandbox — are done here too). electron-builder substitutes
# ${executable} and ${sanitizedProductName} in this file.
#
# Privilege model: the GUI runs as the desktop user, unprivileged. The engine
# runs as the `homeward` system service (resources/homeward.service) under the
# `homeward` system user with ONLY CAP_NET_ADMIN and CAP_NET_RAW. Its control
# socket /run/homeward/control.sock is 0660 homeward:homeward; members of the
# `homeward` group may attach the GUI to it. The one profile, shared by the
# GUI and the service, is /etc/homeward/profile.json (the GUI edits it through
# the control socket).
set -e

APP_DIR='/opt/${sanitizedProductName}'
UNIT_SRC="$APP_DIR/resources/homeward.service"
UNIT=/etc/systemd/system/homeward.service

getent group homeward >/dev/null || groupadd --system homeward
getent passwd homeward >/dev/null || \
  useradd --system --gid homeward --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin homeward

# Add the installing desktop user (if known) to the group; others: `adduser USER homeward`.
if [ -n "${SUDO_USER:-}" ] && [ "${SUDO_USER}" != "root" ]; then
  adduser "${SUDO_USER}" homeward >/dev/null 2>&1 || true
fi

install -d -m 0750 -o homeward -g homeward /etc/homeward
install -m 0644 -o root -g root "$UNIT_SRC" "$UNIT"

# The service (user homeward) points systemd-resolved at the intranet DNS servers on its own TUN
# (resolvectl dns/domain/default-route/revert, docs/ENGINE.md): polkit lets exactly that user do it.
if [ -d /usr/share/polkit-1/rules.d ]; then
  cat > /usr/share/polkit-1/rules.d/50-homeward.rules <<'RULES'
// Homeward's engine (system user homeward) sets per-link DNS on its TUN through systemd-resolved.
polkit.addRule(function (action, subject) {
  if (subject.user == "homeward" && action.id.indexOf("org.freedesktop.resolve1.") == 0) return polkit.Result.YES;
});
RULES
  chmod 0644 /usr/share/polkit-1/rules.d/50-homeward.rules
fi

ln -sf "$APP_DIR/${executable}" '/usr/bin/${executable}'

if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
  # ConditionPathExists keeps it idle until /etc/homeward/profile.json exists.
  systemctl enable homeward.service >/dev/null 2>&1 || true
  systemctl try-restart homeward.service >/dev/null 2>&1 || true
fi

# The sandboxed renderer needs chrome-sandbox setuid where user namespaces are off.
if [ -f "$APP_DIR/chrome-sandbox" ]; then
  chown root:root "$APP_DIR/chrome-sandbox"
  if [ -L /proc/self/ns/user ] && unshare --user true 2>/dev/null; then
    chmod 0755 "$APP_DIR/chrome-sandbox"
  else
    chmod 4755 "$APP_DIR/chrome-sandbox"
  fi
fi

if command -v update-desktop-database >/dev/null 2>&1; then
  update-desktop-database /usr/share/applications || true
fi
exit 0
