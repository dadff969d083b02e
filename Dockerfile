# Vesper server image: build TypeScript, run on Node 20 with data in /data.
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
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
EXPOSE 9300
USER node
CMD ["node", "dist/main.js"]
