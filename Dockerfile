# pidguard's image: one static binary, /pidguard, and nothing else. It is meant to be copied into
# your own image rather than run (examples/ has complete images):
#
#   COPY --from=pidguard:0.1.0 /pidguard /pidguard
#   ENTRYPOINT ["/pidguard", "--user", "nonroot", "--"]
#
# Stages, in the order the classic builder (which builds every stage up to the target) needs:
#   local        linux/amd64 from a static binary built outside Docker, from the build context.
#   local-arm64  the same for linux/arm64. Both build with no registry and with any builder: this is
#                what the test suite builds (tests/examples.rs, tests/arm64.rs).
#   build        compiles the static binary on a pinned Rust image, --locked, on the build machine's
#                own architecture: an arm64 image is cross-compiled, never built by an emulated
#                compiler.
#   (last)       the binary from `build`: the default target, the released image.
# Every image is FROM scratch, /pidguard first, then the same lines (a numeric non-root USER, the
# entrypoint, the health check, the labels; tests/arm64.rs checks they stay the same). Not one shared
# metadata-only stage, and no ARG before a local COPY: the classic builder records such a step as the
# host's architecture and then refuses to build an arm64 image on top of it.
#
# Where a registry is reachable (BuildKit, the default builder since Docker 23, skips the local ones):
#   docker buildx build --platform linux/amd64,linux/arm64 -t pidguard:0.1.0 .
# Offline, from binaries built on the host (`.ci/release` builds both; no BuildKit needed):
#   docker build --target local -t pidguard:0.1.0 .
#   docker build --target local-arm64 --platform linux/arm64 -t pidguard:0.1.0-arm64 .
# The classic builder builds `local` on its way to `local-arm64`: that build's context needs both
# binaries.

FROM scratch AS local
# Owned by root and not writable by the image's user (COPY ignores USER).
COPY target/x86_64-unknown-linux-gnu/release/pidguard /pidguard
LABEL org.opencontainers.image.title="pidguard" \
      org.opencontainers.image.description="A hardening PID 1 for containers: one static binary at /pidguard" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"
# distroless' nonroot. Numeric, so that it needs no /etc/passwd in the image.
USER 65532:65532
# Inherited by images built FROM this one; an image that only COPYs /pidguard says it again.
HEALTHCHECK CMD ["/pidguard", "probe"]
ENTRYPOINT ["/pidguard"]
CMD ["--help"]

FROM scratch AS local-arm64
COPY target/aarch64-unknown-linux-gnu/release/pidguard /pidguard
LABEL org.opencontainers.image.title="pidguard" \
      org.opencontainers.image.description="A hardening PID 1 for containers: one static binary at /pidguard" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"
# distroless' nonroot. Numeric, so that it needs no /etc/passwd in the image.
USER 65532:65532
# Inherited by images built FROM this one; an image that only COPYs /pidguard says it again.
HEALTHCHECK CMD ["/pidguard", "probe"]
ENTRYPOINT ["/pidguard"]
CMD ["--help"]

# The toolchain the project tests with (rust-toolchain.toml), pinned by tag and by digest (the
# multi-arch index), run on the build machine's platform whatever the target platform.
FROM --platform=$BUILDPLATFORM rust:1.95.0-slim-bookworm@sha256:d7482085ff5b415f84dba5647ae71606650bdef00db7aeb69f4b3d170c3e4082 AS build
ARG TARGETARCH
# `pidguard --version` names the commit; there is no .git in here (docker build --build-arg
# RELEASE_COMMIT=$(git rev-parse --short=12 HEAD)).
ARG RELEASE_COMMIT=unknown
WORKDIR /src
# Only what the build reads: no .git, no target/, nothing of the host that could hold a secret.
COPY Cargo.toml Cargo.lock build.rs ./
COPY src/ src/
# Static glibc (there is no musl target here): the final image has no libc to load. Not
# position-independent, like tini-static and catatonit: no start-up relocations (faster start, fewer
# dirty pages, 100 KB smaller); stack, heap and mmap are still randomized.
ENV RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static"
# The target's triple from Docker's architecture name; a cross linker and the target's std only when
# it is not the build machine's own. The binary ends at /src/pidguard whatever the target.
# hadolint ignore=DL3008
RUN set -eu; \
    case "${TARGETARCH:-amd64}" in \
      amd64) triple=x86_64-unknown-linux-gnu cc=gcc-x86-64-linux-gnu libc=libc6-dev-amd64-cross \
             linker=CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER=x86_64-linux-gnu-gcc ;; \
      arm64) triple=aarch64-unknown-linux-gnu cc=gcc-aarch64-linux-gnu libc=libc6-dev-arm64-cross \
             linker=CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc ;; \
      *) echo "pidguard builds for linux/amd64 and linux/arm64, not $TARGETARCH" >&2; exit 1 ;; \
    esac; \
    if [ "$(uname -m)" != "${triple%%-*}" ]; then \
      apt-get update; \
      apt-get install -y --no-install-recommends "$cc" "$libc"; \
      rm -rf /var/lib/apt/lists/*; \
      rustup target add "$triple"; \
      export "${linker?}"; \
    fi; \
    cargo build --release --locked --target "$triple"; \
    cp "target/$triple/release/pidguard" pidguard

FROM scratch
COPY --from=build /src/pidguard /pidguard
LABEL org.opencontainers.image.title="pidguard" \
      org.opencontainers.image.description="A hardening PID 1 for containers: one static binary at /pidguard" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"
# distroless' nonroot. Numeric, so that it needs no /etc/passwd in the image.
USER 65532:65532
# Inherited by images built FROM this one; an image that only COPYs /pidguard says it again.
HEALTHCHECK CMD ["/pidguard", "probe"]
ENTRYPOINT ["/pidguard"]
CMD ["--help"]
