#!/bin/bash
# Keep one command running: start it, and whenever it exits (Redis went away and rq gave up, a
# SIGKILL, an OOM) start it again after a short pause — 1 s, doubling to 30 s while it keeps
# failing fast, back to 1 s once it has run for a minute. TERM or INT stops the command and this
# script. `make run` supervises its worker and cron with it; in production systemd does the same
# (deploy/systemd/*.service, Restart=always).
#
#   deploy/supervise.sh NAME COMMAND [ARGS…]
#
# The command runs in a process group of its own, and the whole group is stopped after each exit,
# so what the command left behind (rq's scheduler process, a work-horse) never outlives it.
set -u
name=$1
shift
child=0
stopping=0

stop() {
  stopping=1
  if [ "$child" -ne 0 ]; then
    kill -TERM -- "-$child" 2>/dev/null
    wait "$child" 2>/dev/null
  fi
  exit 0
}
trap stop TERM INT

pause=1
while [ "$stopping" -eq 0 ]; do
  started=$(date +%s)
  setsid "$@" &
  child=$!
  wait "$child"
  status=$?
  [ "$stopping" -eq 1 ] && break
  kill -KILL -- "-$child" 2>/dev/null  # leftovers of the group (an orphaned scheduler)
  child=0
  if [ $(( $(date +%s) - started )) -ge 60 ]; then pause=1; fi
  echo "supervise: $name exited with status $status; restarting in ${pause}s" >&2
  sleep "$pause" &
  wait $!
  pause=$(( pause * 2 > 30 ? 30 : pause * 2 ))
done
