# pidguard's image: one static binary, /pidguard, and nothing else. It is meant to be copied into
# your own image rather than run (examples/ has complete images):
#
#   COPY --from=pidguard:0.1.0 /pidguard /pidguard
#   ENTRYPOINT ["/pidguard", "--user", "nonroot", "--"]
#
# Stages, in the order the classic builder (which builds every stage up to the target) needs:
#   runtime  all of the final image except the binary: no files, a numeric non-root USER, the
#            entrypoint, the health check, the labels. Both targets below start FROM it, so they
#            differ only in where /pidguard comes from.
#   local    runtime + a static binary built outside Docker, from the build context. Builds with no
#            registry and with any builder: this is what the test suite builds (tests/examples.rs).
#   build    compiles the static binary on a pinned Rust image, --locked.
#   (last)   runtime + the binary from `build`: the default target, the released image.
#
# Where a registry is reachable (BuildKit, the default builder since Docker 23, skips `local`):
#   docker build -t pidguard .
# From a binary built on the host (no registry, no BuildKit needed):
#   RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" \
#     cargo build --release --locked --target x86_64-unknown-linux-gnu
#   docker build --target local -t pidguard .
# (--build-arg PIDGUARD_BINARY=PATH picks another file of the build context.)

FROM scratch AS runtime
LABEL org.opencontainers.image.title="pidguard" \
      org.opencontainers.image.description="A hardening PID 1 for containers: one static binary at /pidguard" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"
# distroless' nonroot. Numeric, so that it needs no /etc/passwd in the image.
USER 65532:65532
# Inherited by images built FROM this one; an image that only COPYs /pidguard says it again.
HEALTHCHECK CMD ["/pidguard", "probe"]
ENTRYPOINT ["/pidguard"]
CMD ["--help"]

FROM runtime AS local
ARG PIDGUARD_BINARY=target/x86_64-unknown-linux-gnu/release/pidguard
# Owned by root and not writable by the image's user (COPY ignores USER).
COPY ${PIDGUARD_BINARY} /pidguard

# The toolchain the project tests with, pinned by tag and by digest (the multi-arch index).
FROM rust:1.95.0-slim-bookworm@sha256:d7482085ff5b415f84dba5647ae71606650bdef00db7aeb69f4b3d170c3e4082 AS build
WORKDIR /src
# Only what the build reads: no .git, no target/, nothing of the host that could hold a secret.
COPY Cargo.toml Cargo.lock ./
COPY src/ src/
# Static glibc (there is no musl target here): the final image has no libc to load. Not
# position-independent, like tini-static and catatonit: no start-up relocations (faster start, fewer
# dirty pages, 100 KB smaller); stack, heap and mmap are still randomized.
ENV RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static"
RUN cargo build --release --locked --target x86_64-unknown-linux-gnu

FROM runtime
COPY --from=build /src/target/x86_64-unknown-linux-gnu/release/pidguard /pidguard
