# The cloud image (the control plane arrives with `lobby cloud`; until then this image runs the box, which is
# also what the linux/arm64 box image is). Multi-stage, non-root, with a healthcheck.
# Build: docker build -t motcua-lobby .     Box on arm64: docker buildx build --platform linux/arm64 .
FROM node:22-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY protocol protocol
COPY device device
COPY cloud cloud
COPY provisioning provisioning
COPY hardware-sim hardware-sim
COPY cli cli
COPY web web
COPY test/bench test/bench
COPY test/support test/support
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
ENV NODE_ENV=production
# As in deploy/motcua-lobby.service: two libuv threads, two malloc arenas (about 4 MB less RSS).
ENV UV_THREADPOOL_SIZE=2 MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
COPY config config
# Voice clips for the box's voice driver (device/drivers/voice finds them beside dist/).
COPY assets assets
# The data volume is the box user's only (`lobby device` also sets umask 077 and narrows modes at start).
RUN mkdir -p /data /config && chown node:node /data /config && chmod 0700 /data
USER node
VOLUME ["/data"]
EXPOSE 1883 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD node -e "fetch('http://127.0.0.1:8080/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "--max-semi-space-size=1", "--v8-pool-size=1", "dist/cli/lobby.js", "device", "--config", "/config/office.yaml", "--data-dir", "/data"]
