# facepipe: one image for every process (index service, workers, producers, the CLI).
#
#   docker build -t facepipe .                 # CPU (default target `runtime`)
#   docker build -t facepipe:gpu --target gpu .  # CUDA + @tensorflow/tfjs-node-gpu (see docker-compose.gpu.yml)
#
# `npm ci` also tries the optional native TensorFlow packages (@tensorflow/tfjs-node and -gpu);
# their install downloads libtensorflow, and where that fails npm skips them and the engine runs
# on wasm. The face models ship inside npm packages: nothing is downloaded at run time.

ARG NODE_IMAGE=node:20-bookworm-slim
# What @tensorflow/tfjs-node-gpu 4.22 is built against: CUDA 11.2, cuDNN 8.1 (Ubuntu 20.04's glibc
# is new enough for the official Node 20 binary copied in below).
ARG CUDA_IMAGE=nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04

# ---- build: compile native addons (hnswlib-node via node-gyp) and the TypeScript --------------
FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY scripts/build-console.mjs ./scripts/
# `prepare` runs tsc into dist/ and bundles the web console into dist/console; then the dev
# dependencies go.
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# ---- gpu: the same app on CUDA, with @tensorflow/tfjs-node-gpu --------------------------------
FROM ${NODE_IMAGE} AS node
FROM ${CUDA_IMAGE} AS gpu
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY scripts/build-console.mjs ./scripts/
# Built here, not copied from `build`: native addons must match this image's libc and libstdc++.
# Without the CPU package, a tfjs-node-gpu that cannot load fails loudly instead of running on CPU.
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/@tensorflow/tfjs-node \
 && npm cache clean --force
RUN ls node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v*/tfjs_binding.node >/dev/null \
 || { echo 'tfjs-node-gpu did not install (could its install reach the libtensorflow download?)' >&2; exit 1; }
ENV NODE_ENV=production \
    FACEPIPE_BACKEND=tensorflow
USER 1000:1000
ENTRYPOINT ["node", "bin/facepipe.js"]
CMD ["--help"]

# ---- runtime (default): CPU, tfjs-node when it installed, else wasm ---------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json /app/package-lock.json ./
COPY --from=build --chown=node:node /app/bin ./bin
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=build --chown=node:node /app/node_modules ./node_modules
USER node
EXPOSE 7070
ENTRYPOINT ["node", "bin/facepipe.js"]
CMD ["--help"]
