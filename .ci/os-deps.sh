#!/usr/bin/env bash
# Install the Debian packages the collection's tests and lab need, only when missing.
set -euo pipefail
need=()
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v ethtool >/dev/null 2>&1 || [ -x /usr/sbin/ethtool ] || need+=(ethtool)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
[ -x /usr/bin/python3 ] || need+=(python3)
command -v git >/dev/null 2>&1 || need+=(git)
command -v sysctl >/dev/null 2>&1 || [ -x /usr/sbin/sysctl ] || need+=(procps)    # persist-file test
command -v chattr >/dev/null 2>&1 || need+=(e2fsprogs)                            # failed-write test
command -v flock >/dev/null 2>&1 || need+=(util-linux)                            # gate scripts
[ -x /usr/bin/time ] || need+=(time)                                               # bench: peak RSS
command -v netplan >/dev/null 2>&1 || need+=(netplan.io)     # boot facts: netplan generate --root-dir
[ -x /lib/systemd/systemd-networkd ] || need+=(systemd)       # boot facts: Lab.reboot runs networkd
# boot facts: keyfiles from `nmcli --offline`. Only where no init system can start the daemon:
# with systemd as PID 1 the package would start NetworkManager on the machine itself.
if ! command -v nmcli >/dev/null 2>&1 && [ ! -d /run/systemd/system ]; then
  need+=(network-manager)
fi
# apt-get install with invoke-rc.d refusing to start services (policy-rc.d exit 101, Debian's
# mechanism; an image may already have one): no package here may start a daemon on the
# machine itself (NetworkManager, redis-server, memcached).
apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: $* (run as root, or install them)" >&2
    exit 1
  fi
  echo "installing Debian packages (services not started): $*"
  export DEBIAN_FRONTEND=noninteractive
  local guard="" status=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    guard=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' >"$guard"
    chmod 755 "$guard"
  fi
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@" >/dev/null; } || status=$?
  [ -z "$guard" ] || rm -f "$guard"
  [ "$status" -eq 0 ] || exit "$status"
}
if [ "${#need[@]}" -gt 0 ]; then
  apt_install "${need[@]}"
fi
# fleet audit: the Redis fact cache test runs its own redis-server on a free loopback port.
# Installed with invoke-rc.d refusing to start services (policy-rc.d exit 101, Debian's
# mechanism), so the package never leaves a daemon on the root namespace's port 6379.
if [ ! -x /usr/bin/redis-server ]; then
  apt_install redis-server
  if [ -d /run/systemd/system ]; then
    systemctl disable --now redis-server >/dev/null 2>&1 || true   # not at the next boot either
  fi
fi
# fleet audit: the memcached fact cache test (community.general.memcached) runs a memcached of
# its own on a free loopback port, in the foreground; the package's daemon is never started
# (policy-rc.d) nor enabled, as for redis-server.
if [ ! -x /usr/bin/memcached ]; then
  apt_install memcached
  if [ -d /run/systemd/system ]; then
    systemctl disable --now memcached >/dev/null 2>&1 || true   # not at the next boot either
  fi
fi
# boot facts: ifquery reads ifupdown files exactly as ifup does. Extracted into .build, never
# installed: the package's postinst writes /etc/network/interfaces and enables networking.service.
ifq_dir="$(cd "$(dirname "$0")/.." && pwd)/.build/ifupdown"
if ! command -v ifquery >/dev/null 2>&1 && [ ! -x "$ifq_dir/sbin/ifquery" ] && command -v apt-get >/dev/null 2>&1; then
  tmp=$(mktemp -d)
  mkdir -p "$ifq_dir"
  if (cd "$tmp" && apt-get download -qq ifupdown 2>/dev/null) && dpkg-deb -x "$tmp"/ifupdown_*.deb "$ifq_dir"; then
    echo "extracted ifquery into $ifq_dir (ifupdown is not installed)"
  else
    echo "could not extract ifupdown's ifquery; the boot tests skip that check" >&2
  fi
  rm -rf "$tmp"
fi
if ! ip -json link show lo >/dev/null 2>&1; then
  echo "iproute2 'ip' does not support -json; iproute2 >= 4.14 is required" >&2
  exit 1
fi
