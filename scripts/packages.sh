# The Debian packages Postern needs, in one place. Sourced by the other scripts.
# Build: compiler, meson, and the libraries DESIGN.md names.
BUILD_PACKAGES=(
  g++ meson ninja-build pkg-config python3
  libevent-dev libssl-dev libc-ares-dev libsystemd-dev libdb-dev catch2
)
# Tests: libFuzzer needs clang and its runtime; the system tests' real peers join here
# as the issues that use them land.
# postfix is real Postfix, the reference the compatibility tests compare with (its
# postmap reads what Postern's writes and the other way round); it is installed with
# "No configuration", so nothing of it runs.
TEST_PACKAGES=(
  clang libclang-rt-14-dev clang-format
  postfix db5.3-util
  dovecot-core openssl
  swaks  # smtpd's system test
  dnsmasq-base  # the binary alone: the dnsmasq package would start a system resolver
)

# install_packages NAME...: installs what is missing, with one apt-get update first.
install_packages() {
  local missing=()
  local package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$package")
  done
  ((${#missing[@]})) || return 0
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if printf '%s\n' "${missing[@]}" | grep -qx postfix; then
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
