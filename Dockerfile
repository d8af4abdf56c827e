# authd in a small image. Untested here (these machines have no container engine); the build
# steps are the ones .ci/run proves: the same Rust toolchain and `cargo build --release --locked`.
#
#   docker build -t authd .
#   docker run -p 127.0.0.1:8080:8080 -e AUTHD_ISSUER=http://localhost:8080 -v authd-data:/data authd
#
# The image listens on every interface (AUTHD_BIND=0.0.0.0:8080), so it needs AUTHD_ISSUER: the
# address clients reach it at (it refuses to start without one).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin authd

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data authd \
    && mkdir -p /data && chown authd /data
COPY --from=build /src/target/release/authd /usr/local/bin/authd
USER authd
WORKDIR /data
# The embedded default keeps SQLite, the generated secret and email files in /data/data; with
# PostgreSQL, set DATABASE_URL and AUTHD_SECRET (or AUTHD_SECRET_FILE) instead.
VOLUME ["/data"]
ENV AUTHD_BIND=0.0.0.0:8080 AUTHD_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/authd"]
CMD ["serve"]
