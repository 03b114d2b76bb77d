#!/bin/sh
# Serve /www on $PORT: GET /health -> "ok", GET /version -> $IMAGE_TAG. SIGTERM stops it with status 0.
if [ -n "$EXIT_AT_START" ]; then
    echo "serve.sh: exiting with $EXIT_AT_START at start (EXIT_AT_START)" >&2
    exit "$EXIT_AT_START"
fi
echo "$IMAGE_TAG" > /www/version
httpd -f -p "${PORT:-8080}" -h /www &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; exit 0' TERM INT
echo "serve.sh: version $IMAGE_TAG on port ${PORT:-8080}"
wait "$pid"
