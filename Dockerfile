# One image for every Orderly process; docker-compose picks the process with `command`.
# Node 24, the current LTS: `npm test` runs the unit tests and an e2e file on it too (scripts/test-on-lts.ts).
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
COPY tsconfig.json ./
COPY src ./src
COPY emails ./emails
COPY migrations ./migrations
USER node
# Processes run their TypeScript through tsx (a runtime dependency); the workflow bundle is built at worker start.
CMD ["node", "--import", "tsx", "src/bin/workflow-worker.ts"]
