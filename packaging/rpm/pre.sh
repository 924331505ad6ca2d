# %pre of the vigil RPM: the vigil user and group, before any file owned by
# them is unpacked. systemd-sysusers from the shipped snippet's text (the
# file itself is not on disk yet); useradd where sysusers is absent.
if command -v systemd-sysusers >/dev/null 2>&1; then
	printf '%s\n' 'u vigil - "Vigil monitoring daemon" /var/lib/vigil /usr/sbin/nologin' |
		systemd-sysusers --replace=/usr/lib/sysusers.d/vigil.conf - || :
fi
getent group vigil >/dev/null || groupadd -r vigil
getent passwd vigil >/dev/null ||
	useradd -r -g vigil -d /var/lib/vigil -s /usr/sbin/nologin -c "Vigil monitoring daemon" vigil
exit 0
