"""Drives an interactive shell under pidguard (as PID 1) through a real pty: Ctrl-Z, fg, Ctrl-C, exit.

Without pidguard putting the program in the terminal's foreground process group, an interactive shell
has no job control: bash stops itself with SIGTTIN, Ctrl-Z and Ctrl-C never reach `sleep`, and this
script times out. Usage: pty_jobs.py PIDGUARD
"""
import os, pty, select, sys, time

pidguard = sys.argv[1]
pid, fd = pty.fork()
if pid == 0:
    os.environ["PS1"] = "PROMPT> "
    os.execv("/usr/bin/unshare", ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", pidguard,
                                  "/bin/bash", "--norc", "--noprofile", "-i"])

buf = b""
def expect(token, timeout=20):
    global buf
    end = time.time() + timeout
    while token not in buf:
        left = end - time.time()
        if left <= 0:
            print("TIMEOUT waiting for %r; got %r" % (token, buf[-400:]))
            os.kill(pid, 9)
            sys.exit(1)
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            if not data:
                print("EOF waiting for %r; got %r" % (token, buf[-400:]))
                sys.exit(1)
            buf += data
    i = buf.index(token) + len(token)
    buf = buf[i:]

expect(b"PROMPT> ")
os.write(fd, b"sleep 30\n")
time.sleep(0.5)
os.write(fd, b"\x1a")            # Ctrl-Z
expect(b"Stopped")
expect(b"PROMPT> ")
os.write(fd, b"fg\n")
expect(b"sleep 30")
time.sleep(0.5)
os.write(fd, b"\x03")            # Ctrl-C
expect(b"PROMPT> ")
os.write(fd, b"exit 7\n")
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
if code != 7:
    print("exit code %d, want 7" % code)
    sys.exit(1)
print("OK")
