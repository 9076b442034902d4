# Wharf as a container: the compiled build on Node 24 LTS, as a non-root user, with all state in
# one volume (/data) so the root filesystem can be mounted read-only. The same steps CI runs:
# `npm ci`, the build (`scripts/build.mjs`), `node dist/main.js`. See docs/packaging.md.

FROM node:24-bookworm-slim AS build
# better-sqlite3 is built from source when no prebuilt binary can be fetched.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts && npm rebuild better-sqlite3
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
# git serves the repositories (smart HTTP) and reads tags; tini reaps git's children and
# passes SIGTERM on, so in-flight requests finish on `docker stop`.
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates tini && rm -rf /var/lib/apt/lists/* \
  && mkdir /data && chown node:node /data && chmod 0700 /data
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin
# HOME: git looks for its global configuration there; /tmp is the only other writable place.
ENV NODE_ENV=production HOME=/tmp \
  WHARF_DATA_DIR=/data WHARF_HOST=0.0.0.0 WHARF_PORT=8080 WHARF_LOG_FORMAT=json
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/main.js"]
