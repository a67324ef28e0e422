# Silverback image: one image for every role (control plane, data plane, all-in-one).
#   docker build -t silverback .
#   docker run --rm -p 8000:8000 -p 127.0.0.1:8001:8001 -e SILVERBACK_ADMIN_TOKENS=rw:<secret> silverback
#       traditional role, embedded PostgreSQL. The Admin API listens on 0.0.0.0 inside the
#       container, so Silverback requires admin tokens (16+ characters) to start.
#   docker run --rm -e SILVERBACK_ROLE=data_plane ... silverback
# A cluster (control plane, scalable data planes, load balancer): docker-compose.yml.
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-slim
# openssl: `silverback cert gen`
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssl ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    SILVERBACK_PREFIX=/var/lib/silverback \
    SILVERBACK_PROXY_LISTEN=0.0.0.0:8000 \
    SILVERBACK_ADMIN_LISTEN=0.0.0.0:8001 \
    SILVERBACK_STATUS_LISTEN=0.0.0.0:8100 \
    SILVERBACK_CLUSTER_LISTEN=0.0.0.0:8005
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/proto ./proto
# Writable by the unprivileged user: the prefix (cache, node id, embedded database) and the
# cluster certificate volume of docker-compose.yml.
RUN mkdir -p /var/lib/silverback /certs && chown node:node /var/lib/silverback /certs
USER node
EXPOSE 8000 8001 8005 8100
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["node", "bin/silverback.js", "health"]
ENTRYPOINT ["node", "bin/silverback.js"]
CMD ["start"]
