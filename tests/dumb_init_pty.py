"""Terminal scenarios for tests/dumb_init.rs, run the same way for pidguard and for Debian's dumb-init.

Prints one line of facts (no pids, no tty numbers), so that the Rust test compares the two inits'
lines as they are.

  dumb_init_pty.py session leader|member INIT [ARG...]
      INIT runs as PID 1 of a new PID namespace on a fresh pty, as the session leader holding the
      terminal (`setsid -c`: what `docker run -it` gives) or as a member of the session of
      `unshare`; the program prints its place: session and group leader, controlling terminal,
      foreground, and whether PID 1 kept the terminal.
  dumb_init_pty.py job INIT [ARG...]
      An interactive bash on a pty runs `INIT sh -c '...; exec sleep 30'` as a job: Ctrl-Z, fg, Ctrl-C; prints whether
      the job stopped, came back, and its exit status.
"""
import os, pty, select, signal, sys, time

# A test run from a script's background job inherits SIGINT and SIGQUIT ignored, and bash passes an
# ignored signal on to its jobs: start from the defaults a terminal user has.
for sig in (signal.SIGINT, signal.SIGQUIT):
    signal.signal(sig, signal.SIG_DFL)

mode, init = sys.argv[1], sys.argv[2:]

PROBE = r'''
set -- $(cat /proc/$$/stat); pid=$1 pgrp=$5 sid=$6 tty=$7 tpgid=$8
set -- $(cat /proc/1/stat); init_tty=$7
yn() { if [ "$1" = "$2" ]; then echo yes; else echo no; fi; }
echo "FACTS session_leader=$(yn $pid $sid) group_leader=$(yn $pid $pgrp)" \
     "has_tty=$( [ "$tty" != 0 ] && echo yes || echo no) foreground=$(yn $tpgid $pgrp)" \
     "init_has_tty=$( [ "$init_tty" != 0 ] && echo yes || echo no) END"
'''

buf = b""
def upto(fd, token, timeout=20):
    """Reads until token; returns what came before it (None on timeout or EOF)."""
    global buf
    end = time.time() + timeout
    while token not in buf:
        left = end - time.time()
        if left <= 0:
            return None
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            if not data:
                return None
            buf += data
    i = buf.index(token)
    before, buf = buf[:i], buf[i + len(token):]
    return before

if mode == "session":
    where, init = init[0], init[1:]
    lead = ["setsid", "-c"] if where == "leader" else []
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("unshare", ["unshare", "--pid", "--fork", "--mount-proc", "--net", "--kill-child"]
                  + lead + init + ["sh", "-c", PROBE])
    facts = None
    if upto(fd, b"FACTS ") is not None:
        facts = upto(fd, b" END")
    _, status = os.waitpid(pid, 0)
    if facts is None:
        facts = b"none: " + buf[-300:]
    print("%s exit=%d" % (facts.decode(errors="replace"), os.waitstatus_to_exitcode(status)))
    sys.exit(0)

if mode == "job":
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["PS1"] = "PROMPT> "
        os.execv("/bin/bash", ["bash", "--norc", "--noprofile", "-i"])
    upto(fd, b"PROMPT> ")
    # The job says when the program runs (the typed line echoes the printf, not the word).
    os.write(fd, (" ".join(init) + " sh -c \"printf 'RUN%sING\\\\n' N; exec sleep 30\"\n").encode())
    upto(fd, b"RUNNING")
    time.sleep(0.5)
    os.write(fd, b"\x1a")                                # Ctrl-Z
    stopped = upto(fd, b"Stopped") is not None and upto(fd, b"PROMPT> ") is not None
    os.write(fd, b"fg\n")
    time.sleep(1)
    os.write(fd, b"\x03")                                # Ctrl-C
    back = upto(fd, b"PROMPT> ") is not None
    os.write(fd, b"echo RC=$((1000+$?))\n")
    # The typed line echoes "RC=$((...", the output is RC=1000+status.
    rc = upto(fd, b"RC=1") is not None and upto(fd, b"\r\n")
    os.write(fd, b"exit 0\n")
    os.waitpid(pid, 0)
    print("stopped=%s back=%s rc=%s" % (stopped, back, rc and rc.decode()))
    sys.exit(0)

sys.exit("unknown mode %r" % mode)
