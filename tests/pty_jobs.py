"""Job control through a real terminal with pidguard in front of an interactive shell: Ctrl-Z, fg,
Ctrl-C, and the shell's exit code.

Usage: pty_jobs.py COMMAND...   (a command that starts an interactive shell under pidguard with
PS1="PROMPT> " in its environment: `unshare ... pidguard /bin/bash --norc -i` from tests/pid1.rs,
`docker run -it ... sh -i` from tests/docker.rs). Exits 0 and prints "OK: ..." when every step
worked, 1 with what was seen otherwise.

Runs COMMAND on a real pty, as a user at a terminal would. Without pidguard putting the program in
the terminal's foreground process group, the shell has no job control (bash stops itself with
SIGTTIN): Ctrl-Z and Ctrl-C never reach `sleep` and a step times out. No step depends on timing:
keys are resent until the terminal shows their effect, and every wait is bounded.
"""
import os, pty, select, sys, time

STEP = 30  # seconds any one step may take
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])

buf = b""


def fail(why):
    print("FAIL: %s; last output: %r" % (why, buf[-600:]))
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass
    sys.exit(1)


def expect(token, resend=None):
    """Reads until `token` appears; writes `resend` every half second meanwhile, if given."""
    global buf
    end = time.time() + STEP
    next_send = 0.0
    while token not in buf:
        now = time.time()
        if now > end:
            fail("no %r within %ds" % (token, STEP))
        if resend is not None and now >= next_send:
            os.write(fd, resend)
            next_send = now + 0.5
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            if not data:
                fail("the terminal closed while waiting for %r" % token)
            buf += data
    buf = buf[buf.index(token) + len(token):]


expect(b"PROMPT> ")
# The marker is built at run time so the terminal's echo of the typed line cannot match it. The job
# prints it after the shell made it the foreground group, so Ctrl-Z from then on reaches it.
os.write(fd, b"sh -c 'printf \"RUN%s\\n\" NING; exec sleep 30'\n")
expect(b"RUNNING")
expect(b"Stopped", resend=b"\x1a")  # Ctrl-Z
expect(b"PROMPT> ")
os.write(fd, b"fg\n")
expect(b"sleep 30")
expect(b"PROMPT> ", resend=b"\x03")  # Ctrl-C ends the resumed job, the shell prompts again
os.write(fd, b"exit 7\n")
end = time.time() + STEP
while True:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    if time.time() > end:
        fail("%s did not end after `exit 7`" % sys.argv[1])
    try:
        if select.select([fd], [], [], 0.1)[0]:
            buf += os.read(fd, 4096)
    except OSError:
        time.sleep(0.1)
code = os.waitstatus_to_exitcode(status)
if code != 7:
    fail("%s ended with %d, not the shell's 7" % (sys.argv[1], code))
print("OK: Ctrl-Z stopped the job, fg resumed it, Ctrl-C ended it, exit 7 came through")
