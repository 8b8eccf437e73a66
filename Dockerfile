# Multi-stage build: compile the release binary, then run it on the bundled data.
# The bundled dataset, framework, region set and map are compiled into the binary, so the
# runtime image needs nothing but the executable and a writable data directory.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY templates ./templates
COPY data ./data
COPY static ./static
RUN cargo build --release --locked --bin nqp

FROM debian:bookworm-slim
# fonts-noto-cjk: the CJK glyphs of PNG figures (without it a PNG download is refused with a
# message naming the package, never drawn with empty boxes).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/nqp --create-home nqp
COPY --from=build /src/target/release/nqp /usr/local/bin/nqp
USER nqp
WORKDIR /var/lib/nqp
# Two malloc arenas instead of eight per core: the cache evicts and recomputes mid-sized values
# all the time, and fewer arenas keep less freed memory resident (docs/benchmarks.md, load check).
ENV MALLOC_ARENA_MAX=2
EXPOSE 8080
VOLUME ["/var/lib/nqp"]
CMD ["nqp", "serve", "--addr", "0.0.0.0:8080", "--data-dir", "/var/lib/nqp"]
