# syntax=docker/dockerfile:1
# authd in a small image. Untested here (these machines have no container engine); the build
# step is the one .ci/run proves: the same Rust toolchain and `cargo build --release --locked`.
#
#   docker build -t authd .
#   docker run -p 127.0.0.1:8080:8080 -e AUTHD_ISSUER=http://localhost:8080 -v authd-data:/data authd
#
# The image listens on every interface (AUTHD_BIND=0.0.0.0:8080), so it needs AUTHD_ISSUER: the
# address clients reach it at (it refuses to start without one).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# The registry and the build folder are cache mounts (BuildKit): a change to the source
# rebuilds authd, not its few hundred dependencies.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin authd \
    && cp target/release/authd /authd

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data authd \
    && mkdir -p /data && chown authd /data
COPY --from=build /authd /usr/local/bin/authd
USER authd
WORKDIR /data
# The embedded default keeps SQLite, the generated secret and email files in /data/data; with
# PostgreSQL, set DATABASE_URL and AUTHD_SECRET (or AUTHD_SECRET_FILE) instead.
VOLUME ["/data"]
ENV AUTHD_BIND=0.0.0.0:8080 AUTHD_LOG_FORMAT=json
EXPOSE 8080
# Asks the server in the container for /readyz (no curl needed in the image).
HEALTHCHECK --interval=10s --timeout=6s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/authd", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/authd"]
CMD ["serve"]
