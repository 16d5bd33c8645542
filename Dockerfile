# Switchyard's image: the gateway (`switchyard`) and the demo services (`switchyard-mock`),
# built in a Rust image and run from a distroless one (glibc, no shell, non-root).
#
#   docker build -t switchyard .
#   docker run -p 4000:4000 switchyard demo --listen 0.0.0.0:4000

FROM rust:1.89-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p switchyard -p switchyard-mock \
 && mkdir -p /out \
 && cp target/release/switchyard target/release/switchyard-mock /out/

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/switchyard /out/switchyard-mock /usr/local/bin/
COPY schema/examples/shop.graphql /etc/switchyard/schema.graphql
USER nonroot
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s CMD ["switchyard", "healthcheck"]
ENTRYPOINT ["switchyard"]
CMD ["serve", "--config", "/etc/switchyard/switchyard.toml"]
