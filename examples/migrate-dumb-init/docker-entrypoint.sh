#!/bin/sh
# The usual official-image entrypoint: root work only when started as root, then drop with gosu.
set -e
if [ "$(id -u)" = 0 ]; then
    chown -R 65532:65532 /data
    exec gosu 65532:65532 "$@"
fi
exec "$@"
