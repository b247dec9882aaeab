#!/usr/bin/env bash
# Start the stack in the foreground with honcho; Ctrl-C stops every process it started.
# Redis is started only when none answers at REDIS_URL.
set -euo pipefail
cd "$(dirname "$0")/.."

export XS_ENV=${XS_ENV:-development}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
export RASA_PORT=${RASA_PORT:-5005} ACTIONS_PORT=${ACTIONS_PORT:-5055}
export SHOP_HOST=${SHOP_HOST:-127.0.0.1} SHOP_PORT=${SHOP_PORT:-8100}
export SERVICE_HOST=${SERVICE_HOST:-127.0.0.1} SERVICE_PORT=${SERVICE_PORT:-8000}
export RASA_URL=${RASA_URL:-http://127.0.0.1:$RASA_PORT}
export ACTION_SERVER_URL=${ACTION_SERVER_URL:-http://127.0.0.1:$ACTIONS_PORT/webhook}
export SHOP_API_URL=${SHOP_API_URL:-http://127.0.0.1:$SHOP_PORT/api/v1}
export PYTHONPATH=$PWD
# One secret shared by all processes of this run, so a token stays valid across restarts of one.
export APP_TOKEN_SECRET=${APP_TOKEN_SECRET:-$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(32))')}

processes=(rasa actions shop service)
if .venv/bin/python -c "import redis,sys; redis.Redis.from_url(sys.argv[1], socket_timeout=1).ping()" "$REDIS_URL" 2>/dev/null; then
  echo "using the Redis at $REDIS_URL"
else
  host_port=${REDIS_URL#redis://}; host_port=${host_port#*@}; host_port=${host_port%%/*}
  case "$host_port" in
    127.0.0.1:*|localhost:*) export REDIS_PORT=${host_port##*:} ;;
    127.0.0.1|localhost) export REDIS_PORT=6379 ;;
    *) echo "error: no Redis answers at $REDIS_URL and it is not local, so it cannot be started here" >&2; exit 1 ;;
  esac
  command -v redis-server >/dev/null || { echo "error: no Redis at $REDIS_URL and redis-server is not installed (apt-get install redis-server)" >&2; exit 1; }
  mkdir -p var/redis
  echo "no Redis at $REDIS_URL: starting one on port $REDIS_PORT (data in var/redis)"
  processes=(redis "${processes[@]}")
fi

base="http://$SERVICE_HOST:$SERVICE_PORT"
cat <<MSG

  小售 Xiaoshou is starting (Rasa needs ~20 s to load its model):
    web chat      $base/chat
    API docs      $base/docs
    health        $base/healthz   ready: $base/readyz
    demo shop API http://$SHOP_HOST:$SHOP_PORT/docs
  Ctrl-C stops everything.

MSG
exec .venv/bin/honcho start -f Procfile "${processes[@]}"
