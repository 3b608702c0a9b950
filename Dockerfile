# syntax=docker/dockerfile:1.7
# reprotect-controller image: static-ish Rust binary on distroless cc (glibc, CA certificates), non-root.
#   make image   (= docker build -t ghcr.io/reprotect/reprotect-controller:<Chart appVersion> ., the chart's default image)
# The build context is the repository root; .dockerignore keeps target/, .git and test tooling out.

ARG RUST_VERSION=1.95
# Packed relative relocations (DT_RELR; glibc >= 2.36, as in distroless cc-debian12): the loader reads
# ~100 KB at start instead of 11 MB of `.rela.dyn` (peak RSS). Same default as the Makefile's RELEASE_RUSTFLAGS.
ARG RELEASE_RUSTFLAGS="-C link-arg=-Wl,-z,pack-relative-relocs"

FROM rust:${RUST_VERSION}-bookworm AS builder
ARG RELEASE_RUSTFLAGS
WORKDIR /src
# Whole workspace: every member's Cargo.toml must exist for --locked resolution.
COPY . .
# Cache the registry and the target dir between builds (BuildKit); copy the binary out of the cache mount.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    RUSTFLAGS="${RELEASE_RUSTFLAGS}" cargo build --release --locked -p reprotect-controller --bin reprotect-controller \
 && install -D -m 0755 target/release/reprotect-controller /out/reprotect-controller

FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="reprotect-controller" \
      org.opencontainers.image.description="Kubernetes controller for Azure Site Recovery reprotect (Azure to on-premises VMware)" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder --chown=65532:65532 /out/reprotect-controller /reprotect-controller
# glibc's allocator: one arena, large buffers mmapped and returned when freed, no fast bins or per-thread caches
# (controller/src/allocator.rs says why;
# the scale bench measures the controller with the same value, a unit test keeps the two equal).
ENV GLIBC_TUNABLES=glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072:glibc.malloc.mxfast=0:glibc.malloc.tcache_count=0
# distroless "nonroot" is uid/gid 65532; numeric so runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/reprotect-controller"]
CMD ["run"]
