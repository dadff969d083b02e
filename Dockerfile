# Vesper server image: build TypeScript, run the compiled JavaScript on Node 20 with data in /data.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci
COPY src ./src
COPY rules ./rules
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=9300 VESPER_DATA=/data
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/rules ./rules
COPY package.json ./
# The CLI on the PATH (`docker exec <container> vesper …`); `npm run rules:load` runs dist/ too.
RUN chmod +x dist/cli/vesper.js && ln -s /app/dist/cli/vesper.js /usr/local/bin/vesper \
 && mkdir -p /data && chown node:node /data
VOLUME ["/data"]
EXPOSE 9300
USER node
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 9300) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
