/* floor_start MODE PROGRAM [ARGS...]: the least any init can do to start PROGRAM hardened as
 * pidguard does, for benches/compare.sh.
 *
 * tini's job (block signals, become a subreaper when not PID 1, start the child in its own process
 * group, wait, exit with its status) plus exactly the kernel calls of pidguard's hardening, with
 * nothing else: no option parsing, no logging, no checks, no status socket, the passwd and group
 * files read but not parsed. MODE:
 *   user        what `pidguard --user 65532` asks of the kernel: read /etc/passwd and /etc/group,
 *               switch to uid/gid 65532, empty every capability set (bounding set one by one, as
 *               the kernel only allows), lock securebits, no_new_privs, core limit 0, the seccomp
 *               filter;
 *   root        the same without the user switch (`pidguard --allow-root`);
 *   unconfined  `root` without the seccomp filter (`pidguard --allow-root --seccomp unconfined`).
 * The filter is pidguard's own default, compiled into floor_filter.h from src/seccomp/prebuilt.rs
 * by compare.sh. Start-up of this program against tini-static is the floor that the hardening
 * itself puts on the start-up ratio; pidguard's figure is printed next to it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "floor_filter.h" /* static struct sock_filter FILTER[] */

#define ID 65532

static void die(const char *what) {
    perror(what);
    _exit(125);
}

static void slurp(const char *path) {
    char buf[8192];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die(path);
    while (read(fd, buf, sizeof buf) > 0) {
    }
    close(fd);
}

static int capset3(unsigned long long set) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2] = {{(unsigned)set, (unsigned)set, 0},
                                          {(unsigned)(set >> 32), (unsigned)(set >> 32), 0}};
    return syscall(SYS_capset, &h, d);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: floor_start user|root|unconfined PROGRAM [ARGS...]\n");
        return 125;
    }
    int user = !strcmp(argv[1], "user"), seccomp = strcmp(argv[1], "unconfined") != 0;
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    /* Not PID 1 (as in these runs), pidguard registers as a child subreaper: so does the floor. */
    if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) die("subreaper");

    if (user) {
        slurp("/etc/passwd");
        slurp("/etc/group");
    }
    struct rlimit core = {0, 0};
    if (setrlimit(RLIMIT_CORE, &core)) die("setrlimit");
    if (user) {
        gid_t g = ID;
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) || setgroups(1, &g) || setresgid(ID, ID, ID) ||
            setresuid(ID, ID, ID))
            die("user switch");
    }
    if (capset3(1ULL << CAP_SETPCAP)) die("capset");
    for (int cap = 0;; cap++) {
        int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
        if (in < 0) break; /* past the last capability this kernel knows */
        if (in == 1 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)) die("bounding set");
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)) die("ambient");
    /* NOROOT, NOROOT_LOCKED, NO_SETUID_FIXUP_LOCKED, KEEP_CAPS_LOCKED, NO_CAP_AMBIENT_RAISE(_LOCKED) */
    if (prctl(PR_SET_SECUREBITS, 0xeb, 0, 0, 0)) die("securebits");
    if (capset3(0)) die("capset");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) die("no_new_privs");
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)) die("dumpable");
    if (seccomp) {
        struct sock_fprog prog = {sizeof FILTER / sizeof FILTER[0], FILTER};
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)) die("seccomp");
    }

    pid_t child = vfork();
    if (child == 0) {
        setpgid(0, 0);
        sigprocmask(SIG_SETMASK, &old, NULL);
        execvp(argv[2], argv + 2);
        _exit(127);
    }
    if (child < 0) die("vfork");
    int status;
    while (waitpid(child, &status, 0) < 0) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
