/* ab N CMD_A... ::: CMD_B...: runs the two commands N times each, interleaved (A B, then B A, so
 * that a drifting machine weighs on both alike), stdout and stderr to /dev/null, and prints the mean
 * and median wall time of each and their difference in microseconds. For changes smaller than the
 * run-to-run noise of benches/compare.sh (about 5 % on the 2-CPU development VM): e.g.
 *   cc -O2 -o /tmp/ab benches/ab.c
 *   /tmp/ab 1500 ./new --user 65532 -- /bin/true ::: ./old --user 65532 -- /bin/true
 * measured the kept child stack (-15 us) and the guard's signal rules left to Landlock (-70 us). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static double run(char **argv) {
    double t = now_us();
    pid_t p = fork();
    if (p == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    waitpid(p, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "ab: %s did not exit with 0\n", argv[0]);
        exit(1);
    }
    return now_us() - t;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: ab N /path/to/A ARGS... ::: /path/to/B ARGS...\n");
        return 2;
    }
    int n = atoi(argv[1]), sep = 2;
    while (sep < argc && strcmp(argv[sep], ":::")) sep++;
    if (n < 1 || sep >= argc - 1) {
        fprintf(stderr, "ab: give N and both commands, separated by :::\n");
        return 2;
    }
    argv[sep] = NULL;
    char **a = argv + 2, **b = argv + sep + 1;
    double *ra = malloc(n * sizeof *ra), *rb = malloc(n * sizeof *rb), sa = 0, sb = 0;
    for (int k = 0; k < 20; k++) run(a), run(b); /* warm-up */
    for (int k = 0; k < n; k++) {
        if (k & 1) {
            rb[k] = run(b);
            ra[k] = run(a);
        } else {
            ra[k] = run(a);
            rb[k] = run(b);
        }
        sa += ra[k];
        sb += rb[k];
    }
    qsort(ra, n, sizeof *ra, cmp);
    qsort(rb, n, sizeof *rb, cmp);
    printf("A mean %.1f median %.1f us | B mean %.1f median %.1f us | A-B mean %+.1f median %+.1f us\n",
           sa / n, ra[n / 2], sb / n, rb[n / 2], (sa - sb) / n, ra[n / 2] - rb[n / 2]);
    return 0;
}
