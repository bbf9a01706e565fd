# One image for every billing-gates process (api, workers, sandbox, migrate); the command picks
# the role. TypeScript runs through tsx (a runtime dependency), so there is no build step.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false
COPY package.json package-lock.json ./
# Exactly the locked dependencies; dev dependencies (jest, eslint, ...) are left out.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY api ./api
COPY shared ./shared
COPY workers ./workers
COPY sandbox ./sandbox
COPY supabase ./supabase
COPY test/acceptance ./test/acceptance
COPY tsconfig.json ./
USER node
EXPOSE 3000
# Liveness only: readiness (/readyz) is what docker-compose's healthcheck waits for.
CMD ["npx", "--no-install", "tsx", "bin/launch.ts", "all"]
