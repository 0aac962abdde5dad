#!/usr/bin/env bash
# Builds the Debian package, installs it on this machine with dpkg, checks what it installed,
# then removes it (dpkg -r keeps the edited conffile, --purge removes it). Run as root on a
# Debian-like machine; it changes the system (installs and removes a package). Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."

packaging/build-deb.sh
deb=$(ls -1t target/debian/policy-watch_*.deb | head -n1)
echo "== installing $deb"
dpkg -i "$deb"

fail() { echo "FAIL: $*" >&2; exit 1; }
check() { "$@" || fail "$*"; }

echo "== installed files"
check test -x /usr/bin/policy-watch
/usr/bin/policy-watch --version | grep -q "^policy-watch [0-9].* (" || fail "--version names no commit"
check test -f /etc/policy-watch/config.toml
dpkg-query -W -f='${Conffiles}\n' policy-watch | grep -q /etc/policy-watch/config.toml \
    || fail "config.toml is not a conffile"
check test -f /lib/systemd/system/policy-watch.service
grep -q "^ExecStart=/usr/bin/policy-watch run" /lib/systemd/system/policy-watch.service \
    || fail "the unit does not run /usr/bin/policy-watch"
check test -f /usr/share/man/man1/policy-watch.1.gz
zcat /usr/share/man/man1/policy-watch.1.gz | grep -q "check\\\\-sources" || fail "the man page lacks check-sources"
check test -f /usr/share/bash-completion/completions/policy-watch
check test -f /usr/share/zsh/vendor-completions/_policy-watch
check test -f /usr/share/fish/vendor_completions.d/policy-watch.fish
check test -f /usr/share/doc/policy-watch/README.md
check test -f /usr/share/doc/policy-watch/copyright
if systemctl is-enabled --quiet policy-watch.service 2>/dev/null; then
    fail "the service was enabled before a token is in place"
fi

echo "== systemd-analyze verify"
systemd-analyze verify /lib/systemd/system/policy-watch.service
echo "== check-config on the installed config"
/usr/bin/policy-watch check-config --config /etc/policy-watch/config.toml

echo "== an edited config survives reinstalling"
echo "# edited by the operator" >> /etc/policy-watch/config.toml
dpkg -i "$deb"
grep -q "edited by the operator" /etc/policy-watch/config.toml || fail "the edited conffile was overwritten"

echo "== dpkg -r keeps the conffile"
dpkg -r policy-watch
check test ! -e /usr/bin/policy-watch
check test -f /etc/policy-watch/config.toml
echo "== dpkg --purge removes it"
dpkg --purge policy-watch
check test ! -e /etc/policy-watch/config.toml
echo "test-deb: all checks passed"
