# o365fwd: the service user, before the files that belong to its group are unpacked.
getent group o365fwd >/dev/null || groupadd -r o365fwd
getent passwd o365fwd >/dev/null || \
    useradd -r -g o365fwd -d /var/lib/o365fwd -M -s /sbin/nologin -c "o365fwd audit forwarder" o365fwd
exit 0
