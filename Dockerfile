# Enclave: build the single binary with Bun, ship only the binary on a small base.
# docker build -t enclave . && docker run -p 8080:8080 -v enclave-data:/data enclave

FROM oven/bun:1.4.5-debian AS build
WORKDIR /src
COPY package.json package-lock.json bunfig.toml tsconfig.json ./
RUN bun install --frozen-lockfile
COPY src ./src
COPY static ./static
COPY scripts ./scripts
RUN bun scripts/build.ts /src/dist/enclave

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home enclave \
 && mkdir -p /data && chown enclave:enclave /data && chmod 0700 /data
COPY --from=build /src/dist/enclave /usr/local/bin/enclave
USER enclave
ENV HOST=0.0.0.0 PORT=8080 DATA_DIR=/data
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s CMD ["enclave", "healthcheck"]
ENTRYPOINT ["enclave"]
CMD ["serve"]
