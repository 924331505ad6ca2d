# %preun of the vigil RPM, as %systemd_preun: on removal (not upgrade),
# disable and stop the units.
if [ "$1" -eq 0 ] && command -v systemctl >/dev/null 2>&1; then
	systemctl --no-reload disable --now vigild.service vigild.socket >/dev/null 2>&1 || :
fi
exit 0
