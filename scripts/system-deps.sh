#!/usr/bin/env bash
# Installs the system binaries some tests compare against (Debian packages):
#   prometheus (prometheus + promtool), prometheus-alertmanager, chromium.
# As root on Debian it installs what is missing; elsewhere it only says what is absent, and the
# tests that need a binary skip with a reason (or fail when CI=true).
set -u
need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || [ -x /usr/bin/prometheus-alertmanager ] || need+=(prometheus-alertmanager)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: installing ${need[*]}"
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Debian's packages start services where systemd runs; tests start their own on 127.0.0.1.
  exit 0
fi
echo "system-deps: ${need[*]} not installed (not root or no apt-get); the tests that need them will skip."
