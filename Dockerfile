# Enclave: build the single binary with Bun, ship only the binary on a small base.
#   docker build --build-arg ENCLAVE_COMMIT=$(git rev-parse --short=12 HEAD) -t enclave .
#   docker run -p 127.0.0.1:8080:8080 -v enclave-data:/data --add-host=host.docker.internal:host-gateway enclave
# Ollama: 127.0.0.1 inside a container is the container itself, so the image looks for the host's
# Ollama at host.docker.internal (Docker Desktop names it; on Linux, --add-host above does), which
# must then listen beyond its loopback (OLLAMA_HOST=0.0.0.0). docker-compose.yml sets the service name.
# No secret is baked in: the master key and session secret are generated into the volume on the
# first start, or given at run time (ENCRYPTION_KEY_FILE=/run/secrets/..., see docker-compose.yml).
# test/binary/dockerfile.test.ts checks these invariants and runs the final command line.

FROM oven/bun:1.4.5-debian AS build
WORKDIR /src
COPY package.json package-lock.json bunfig.toml tsconfig.json ./
# note: every dependency, dev ones included: the UI's libraries are bundled at build time, and only
# the compiled binary reaches the final stage.
RUN bun install --frozen-lockfile
COPY src ./src
COPY static ./static
COPY scripts ./scripts
# The build has no .git: the commit comes in as a build argument (validated; "unknown" otherwise).
ARG ENCLAVE_COMMIT=unknown
RUN ENCLAVE_COMMIT=$ENCLAVE_COMMIT bun scripts/build.ts /src/dist/enclave

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin enclave \
 && mkdir -p /data && chown enclave:enclave /data && chmod 0700 /data
COPY --from=build /src/dist/enclave /usr/local/bin/enclave
USER enclave
WORKDIR /data
ENV HOST=0.0.0.0 PORT=8080 DATA_DIR=/data OLLAMA_BASE_URL=http://host.docker.internal:11434
# Bun's allocator (mimalloc) returns freed memory to the system 1 s after it is freed rather than at
# once: each sign-in's argon2id hash takes 19 MiB, and returned at once it was faulted in and zeroed
# again by the next sign-in (~4,900 page faults, 5-12 ms of system CPU each when sign-ins come a few
# hundred ms apart, as they do on each of several instances). Memory goes back after an idle second.
ENV MIMALLOC_PURGE_DELAY=1000
VOLUME /data
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["enclave", "healthcheck"]
ENTRYPOINT ["enclave"]
CMD ["serve"]
