# o365fwd: reload systemd; after an upgrade, restart the service if it was running.
systemctl daemon-reload >/dev/null 2>&1 || :
if [ "$1" -ge 1 ]; then
    systemctl try-restart o365fwd.service >/dev/null 2>&1 || :
fi
exit 0
