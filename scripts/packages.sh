# The Debian packages Postern needs, in one place. Sourced by the other scripts.
# Build: compiler, meson, and the libraries DESIGN.md names.
BUILD_PACKAGES=(
  g++ meson ninja-build pkg-config python3
  libevent-dev libssl-dev libc-ares-dev libsystemd-dev libdb-dev catch2
)
# Tests: libFuzzer needs clang and its runtime; the system tests' real peers join here
# as the issues that use them land.
TEST_PACKAGES=(
  clang libclang-rt-14-dev clang-format
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
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
