#!/usr/bin/env bash
# System test: `meson install` lays out a complete installation under the build's prefix,
# and the installed programs know where they were installed.
# Usage: install_test.sh BUILD_DIR
set -euo pipefail
build=$1
destdir=$(mktemp -d)
trap 'rm -rf "$destdir"' EXIT
meson install -C "$build" --destdir "$destdir" --quiet
prefix=$(meson introspect "$build" --buildoptions |
  python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
root=$destdir$prefix
passed=0
failed=0
check() {
  local what=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    echo "FAIL: $what"
    failed=$((failed + 1))
  fi
}
check "postconf installed in sbin" test -x "$root/sbin/postconf"
check "postfix installed in sbin" test -x "$root/sbin/postfix"
check "postmap installed in sbin" test -x "$root/sbin/postmap"
check "postalias installed in sbin" test -x "$root/sbin/postalias"
check "newaliases installed in sbin" test -x "$root/sbin/newaliases"
check "postsuper installed in sbin" test -x "$root/sbin/postsuper"
check "main.cf shipped in etc/postfix" test -f "$root/etc/postfix/main.cf"
check "master.cf shipped in etc/postfix" test -f "$root/etc/postfix/master.cf"
check "command_directory follows the prefix" \
  test "$("$root/sbin/postconf" -dh command_directory)" = "$prefix/sbin"
check "daemon_directory follows the prefix" \
  test "$("$root/sbin/postconf" -dh daemon_directory)" = "$prefix/libexec/postern"
check "the shipped main.cf parses" "$root/sbin/postconf" -c "$root/etc/postfix" -n >/dev/null
echo "install: $passed passed, $failed failed"
((failed == 0))
