# Build: docker build -t tessera:latest .   (or: docker compose up --build)
# Migrations (and later templates and static files) are embedded in the binary; only the binary is copied.
FROM rust:1-bookworm AS builder
WORKDIR /src
COPY . .
RUN cargo build --release --locked

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# Fixed numeric uid so orchestrators can verify runAsNonRoot.
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /var/lib/tessera \
        --shell /usr/sbin/nologin tessera
COPY --from=builder /src/target/release/tessera /usr/local/bin/tessera
USER 10001:10001
WORKDIR /var/lib/tessera
ENV TESSERA_BIND=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["tessera"]
CMD ["serve"]
