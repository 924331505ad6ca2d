# %postun of the vigil RPM, as %systemd_postun_with_restart: reload units,
# and on upgrade restart vigild if it was running. The store in
# /var/lib/vigil is kept on removal (RPM has no purge; delete it by hand).
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || :
	if [ "$1" -ge 1 ]; then
		systemctl try-restart vigild.service >/dev/null 2>&1 || :
	fi
fi
exit 0
