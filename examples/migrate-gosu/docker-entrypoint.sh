#!/bin/sh
# The same script; only the lines that exec change: pidguard instead of gosu, and pidguard also when
# started non-root, so that it is PID 1 either way (exec keeps the pid).
set -e
if [ "$(id -u)" = 0 ]; then
    chown -R 65532:65532 /data
fi
exec /pidguard --user 65532 -- "$@"
