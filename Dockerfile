# syntax=docker/dockerfile:1.7
# steward's image: a release build on the official Rust image, run on distroless as non-root.
# Base images are pinned by tag; to bump them, change RUST_IMAGE / RUNTIME_IMAGE (keep the Rust
# version at or above rust-version in Cargo.toml), rebuild, and run ./bootstrap/test.
ARG RUST_IMAGE=rust:1.95.0-slim-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${RUST_IMAGE} AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock rustfmt.toml askama.toml ./
COPY src ./src
COPY derive ./derive
COPY emulator ./emulator
# BuildKit cache mounts keep the crates.io index, the sources and the compiled dependencies
# between builds, so only steward's own code recompiles after a source change.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p steward --bin steward \
    && cp target/release/steward /steward

FROM ${RUNTIME_IMAGE}
COPY --from=build /steward /steward
USER nonroot
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["/steward", "healthcheck"]
ENTRYPOINT ["/steward"]
CMD ["run", "--http-addr", "0.0.0.0:8080"]
