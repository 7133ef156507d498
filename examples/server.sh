#!/usr/bin/env bash
# server.sh: the README's example. tpm finds PORT in the line below and names it server-3000.
export PORT=3000

echo "Starting server on port $PORT"
while true; do
  echo "Server heartbeat at $(date)"
  sleep 5
done
