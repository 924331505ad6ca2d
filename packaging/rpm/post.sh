# %post of the vigil RPM, as %systemd_post and %tmpfiles_create do it:
# directories, then on first install enable the units per the presets
# (not start them), and say how to start.
if command -v systemd-tmpfiles >/dev/null 2>&1; then
	systemd-tmpfiles --create vigil.conf >/dev/null 2>&1 || :
fi
[ -d /var/lib/vigil ] || install -d -m 0700 -o vigil -g vigil /var/lib/vigil
chgrp vigil /etc/vigil && chmod 0750 /etc/vigil || :
if [ "$1" -eq 1 ]; then
	if command -v systemctl >/dev/null 2>&1; then
		systemctl --no-reload preset vigild.socket vigild.service >/dev/null 2>&1 || :
	fi
	cat <<'MSG'
vigil is installed. Review /etc/vigil/vigil.toml, then enable and start it
with: systemctl enable --now vigild.socket vigild.service
(the preset shipped in /usr/lib/systemd/system-preset/50-vigil.preset enables
it at the next boot unless your distribution's presets say otherwise).

At its first start vigild creates its store in /var/lib/vigil/store and writes
the verification key to /var/lib/vigil/verification.key. Copy that key off this
host and delete it here. See /usr/share/doc/vigil/install.md.
MSG
fi
exit 0
