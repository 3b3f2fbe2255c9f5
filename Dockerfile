# storecast: one image for `serve` (the default) and the one-shot commands (`migrate`, `import`,
# `backup`, `tokens`, ...). docs/deploy.md says how to build, run and deploy it.
#
# The base is a build argument so a machine without a registry can build on an equivalent base
# of its own (.ci/image builds one from Debian's mirror and the npm registry); the default is
# the official Node 24 image on Debian bookworm, which carries Node's headers in
# /usr/local/include/node (node-gyp builds node-canvas against them, without a download).
ARG BASE_IMAGE=docker.io/library/node:24-bookworm-slim

FROM ${BASE_IMAGE} AS build
# node-canvas has no prebuilt binary for every platform: compile it against cairo/pango here,
# so the final stage needs only their runtime libraries.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential python3 pkg-config libcairo2-dev libpango1.0-dev libjpeg-dev libgif-dev librsvg2-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# patches/: npm ci's postinstall applies them (patch-package; the postgres driver fix).
COPY package.json package-lock.json ./
COPY patches ./patches
# Production dependencies only (tsx among them: bin/storecast.js compiles the TypeScript
# sources on load). Then what Node never loads at run time goes: @tensorflow/tfjs-node (optional,
# ~400 MB of libtensorflow; the image trains on the wasm backend, src/forecast/tf.ts), source
# maps and type declarations (~270 MB, tfjs' mostly), tfjs' browser bundles (Node loads the
# *.node.js builds named in their "main"), canvas' compiler intermediates.
RUN npm_config_nodedir=/usr/local npm ci --omit=dev --no-audit --no-fund --no-update-notifier \
 && rm -rf node_modules/@tensorflow/tfjs-node node_modules/canvas/build/Release/obj.target \
           node_modules/canvas/build/Release/.deps node_modules/canvas/src \
 && find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \) -delete \
 && find node_modules/@tensorflow/*/dist -maxdepth 1 -type f \( -name 'tf.*js' -o -name 'tf-*.js' \) ! -name '*.node.js' -delete \
 && npm cache clean --force
# bin/, src/, commands/, charts/, drizzle/: .dockerignore admits nothing else. One layer.
COPY . .

FROM ${BASE_IMAGE}
# Runtime libraries of node-canvas, the DejaVu fonts charts are drawn with, and tini: Node as
# PID 1 ignores SIGTERM until `serve` has installed its handler (after the database opened and
# migrated), so a pod stopped while starting would wait for SIGKILL; tini forwards the signal
# to Node (not PID 1), which then stops at once or, once serving, shuts down gracefully.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libcairo2 libpango-1.0-0 libpangocairo-1.0-0 libjpeg62-turbo libgif7 librsvg2-2 fonts-dejavu-core tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && groupadd --gid 10001 storecast \
 && useradd --no-log-init --no-create-home --uid 10001 --gid 10001 --home-dir /var/lib/storecast --shell /usr/sbin/nologin storecast \
 && install -d -o 10001 -g 10001 -m 0700 /var/lib/storecast /var/lib/storecast/data \
 && ln -s /app/bin/storecast.js /usr/local/bin/storecast
WORKDIR /app
# Owned by root and not writable by the user: with a read-only root filesystem the only
# writable places are the data directory and /tmp (tsx's compile cache).
COPY --from=build /app /app
# MALLOC_ARENA_MAX: glibc gives each thread that allocates its own malloc arena (libuv's pool,
# V8's helpers, worker threads), and memory freed in one stays with it: two arenas kept a
# 4,600-store serving replica 50-100 MB lower after the day's summaries and ingests
# (docs/scale.md). Read by glibc, not by storecast.
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    HOST=0.0.0.0 \
    PORT=3000 \
    STORECAST_DATA_DIR=/var/lib/storecast/data \
    LOG_FORMAT=json \
    HOME=/var/lib/storecast
USER 10001:10001
EXPOSE 3000
VOLUME ["/var/lib/storecast"]
# Last: CREATED and REVISION change every build and would void the cache of every step after them.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="storecast" \
      org.opencontainers.image.description="Chat-ops bot with retail analytics: forecasts, holiday impact and sales answers in Slack, Discord and webhooks." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.documentation="docs/deploy.md"
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/storecast.js"]
CMD ["serve"]
