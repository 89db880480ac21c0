# o365fwd: the credentials directory for LoadCredential=; reload systemd. The service is
# neither enabled nor started: configure /etc/o365fwd/config.toml first.
[ -d /etc/o365fwd/credentials ] || install -d -m 0700 /etc/o365fwd/credentials
systemctl daemon-reload >/dev/null 2>&1 || :
exit 0
