/* sigping: signal round-trip latency through an init process, for benches/compare.sh.
 *
 * The shell cannot time a single signal (every command it runs costs a fork), and the sigrecord
 * fixture answers through a file that would have to be polled, so the two ends live in this one
 * small program:
 *
 *   sigping child FIFO           run under the init: block every signal, take them with
 *                                sigwaitinfo(2), answer each SIGUSR1 with one byte on FIFO; exit on
 *                                SIGTERM/SIGINT/SIGHUP. Writes 'R' once it waits for signals.
 *   sigping drive N W PID FIFO [PID FIFO...]
 *                                from outside: wait for each 'R', then N rounds of: for each pair,
 *                                kill(PID, SIGUSR1) and wait for the answer byte on its FIFO; the
 *                                first W rounds are warm-up and not counted. Prints one line per
 *                                pair: "pid mean_us p50_us p99_us max_us n" or "pid FAIL why".
 *
 * Every wait is bounded (5 s for the ready byte and for each answer): a lost signal fails that init
 * (a FAIL line), not the run, and never hangs. One signal is in flight at a time, so standard
 * signals cannot coalesce.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROUNDS 1000000L
#define WAIT_MS 5000

static int child(const char *fifo) {
    sigset_t all;
    sigfillset(&all);
    if (sigprocmask(SIG_BLOCK, &all, NULL) != 0) {
        perror("sigping: sigprocmask");
        return 1;
    }
    int fd = open(fifo, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        perror("sigping: open fifo for writing");
        return 1;
    }
    if (write(fd, "R", 1) != 1) {
        perror("sigping: write ready");
        return 1;
    }
    for (;;) {
        int sig = sigwaitinfo(&all, NULL);
        if (sig < 0) {
            if (errno == EINTR)
                continue;
            perror("sigping: sigwaitinfo");
            return 1;
        }
        if (sig == SIGUSR1) {
            if (write(fd, "P", 1) != 1)
                return 1; /* the driver went away */
        } else if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
            return 0;
        }
    }
}

/* Reads one byte within WAIT_MS; 0 on success. */
static int read_byte(int fd, char *b) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    for (;;) {
        int r = poll(&p, 1, WAIT_MS);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        ssize_t n = read(fd, b, 1);
        if (n < 0 && errno == EINTR)
            continue;
        return n == 1 ? 0 : -1;
    }
}

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define MAX_PAIRS 16

/* Prints one line per pair: "PID mean_us p50_us p99_us max_us n", or "PID FAIL reason" for an init
 * whose child never got ready or that lost a signal (the other pairs go on). */
static int drive(int pairs, char **argv, long n, long warm) {
    if (n < 1 || n > MAX_ROUNDS || warm < 0 || warm > MAX_ROUNDS || pairs < 1 || pairs > MAX_PAIRS) {
        fprintf(stderr, "sigping: N must be 1..%ld, W 0..%ld, and 1..%d PID FIFO pairs\n", MAX_ROUNDS,
                MAX_ROUNDS, MAX_PAIRS);
        return 2;
    }
    pid_t pid[MAX_PAIRS];
    int fd[MAX_PAIRS];
    double *lat[MAX_PAIRS];
    const char *failed[MAX_PAIRS];
    long failed_at[MAX_PAIRS];
    char b;
    for (int k = 0; k < pairs; k++) {
        pid[k] = (pid_t)atoi(argv[2 * k]);
        failed[k] = NULL;
        lat[k] = calloc((size_t)n, sizeof *lat[k]);
        if (!lat[k]) {
            perror("sigping: calloc");
            return 1;
        }
        /* O_RDWR: the open does not wait for the writer, so the ready wait below stays bounded. */
        fd[k] = open(argv[2 * k + 1], O_RDWR | O_CLOEXEC);
        if (fd[k] < 0)
            failed[k] = "cannot open the fifo";
        else if (read_byte(fd[k], &b) != 0 || b != 'R')
            failed[k] = "the program did not get ready within 5 s";
    }
    /* Round robin, one round trip per init in turn: a change in the machine's load weighs on all
     * of them alike instead of on whichever one happens to be measured at that moment. */
    for (long i = -warm; i < n; i++) {
        for (int k = 0; k < pairs; k++) {
            if (failed[k])
                continue;
            double t0 = now_us();
            if (kill(pid[k], SIGUSR1) != 0) {
                failed[k] = "kill failed (PID 1 is gone)";
                failed_at[k] = i;
                continue;
            }
            if (read_byte(fd[k], &b) != 0) {
                failed[k] = "no answer within 5 s (signal lost)";
                failed_at[k] = i;
                continue;
            }
            if (i >= 0)
                lat[k][i] = now_us() - t0;
        }
    }
    for (int k = 0; k < pairs; k++) {
        if (failed[k]) {
            printf("%d FAIL %s", (int)pid[k], failed[k]);
            if (failed[k][0] == 'k' || failed[k][0] == 'n')
                printf(" at round trip %ld", failed_at[k]);
            printf("\n");
            continue;
        }
        double sum = 0;
        for (long i = 0; i < n; i++)
            sum += lat[k][i];
        qsort(lat[k], (size_t)n, sizeof *lat[k], cmp);
        long p99 = (long)((double)n * 0.99);
        if (p99 >= n)
            p99 = n - 1;
        printf("%d %.1f %.1f %.1f %.1f %ld\n", (int)pid[k], sum / n, lat[k][n / 2], lat[k][p99],
               lat[k][n - 1], n);
        free(lat[k]);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "child") == 0)
        return child(argv[2]);
    if (argc >= 6 && argc % 2 == 0 && strcmp(argv[1], "drive") == 0)
        return drive((argc - 4) / 2, argv + 4, atol(argv[2]), atol(argv[3]));
    fprintf(stderr, "usage: sigping child FIFO | sigping drive N WARMUP PID FIFO [PID FIFO...]\n");
    return 2;
}
