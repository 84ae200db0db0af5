#!/bin/sh
# Debian post-install for Homeward (electron-builder deb afterInstall).
#
# Privilege model: the GUI runs as the desktop user, unprivileged. The engine
# (`homeward run`) runs as the `homeward` system service with ONLY the
# capabilities it needs: CAP_NET_ADMIN (TUN device, routes, rules) and
# CAP_NET_RAW (Mobile IP raw sockets: IP-in-IP, ICMP agent discovery).
# Its control socket /run/homeward/control.sock is 0660 root:homeward; members
# of the `homeward` group may attach the GUI to it.
set -e

APP_DIR="/opt/Homeward"
UNIT=/etc/systemd/system/homeward.service

getent group homeward >/dev/null || groupadd --system homeward

# Add the installing desktop user (if known) to the group; others: `adduser USER homeward`.
if [ -n "${SUDO_USER:-}" ] && [ "${SUDO_USER}" != "root" ]; then
  adduser "${SUDO_USER}" homeward >/dev/null 2>&1 || true
fi

install -d -m 0750 -o root -g homeward /etc/homeward

cat > "$UNIT" <<UNIT
[Unit]
Description=Homeward mobile node (RFC 5266: Mobile IPv4 + IKEv2/MOBIKE)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=${APP_DIR}/resources/app/bin/homeward.mjs run --profile /etc/homeward/profile.json --control /run/homeward/control.sock --control-group homeward
RuntimeDirectory=homeward
RuntimeDirectoryMode=0750
Group=homeward
AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW
CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ReadWritePaths=/run/homeward
DeviceAllow=/dev/net/tun rw
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
UNIT

if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
  # Not started until an administrator installs /etc/homeward/profile.json.
  systemctl enable homeward.service >/dev/null 2>&1 || true
fi

# The sandboxed renderer needs chrome-sandbox setuid where user namespaces are off.
if [ -f "${APP_DIR}/chrome-sandbox" ]; then
  chown root:root "${APP_DIR}/chrome-sandbox"
  chmod 4755 "${APP_DIR}/chrome-sandbox"
fi
exit 0
