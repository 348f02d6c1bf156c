/* floor_http PORT: the fastest /healthz this machine can serve, for benches/features.sh.
 *
 * One thread, blocking accept4/recv/send/close, no poll, no parsing: the same 200 response bytes as
 * pidguard's /healthz on 127.0.0.1:PORT. Whatever wrk measures against it is the ceiling that the
 * machine (its CPUs, shared with wrk, and its loopback TCP stack) puts on any HTTP/1.1 server that
 * closes each connection; pidguard's figure is printed as a fraction of it. */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char RESPONSE[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                               "Content-Length: 2\r\nCache-Control: no-store\r\nConnection: close\r\n\r\nok";

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: floor_http PORT\n");
        return 2;
    }
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1])),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 4096) != 0) {
        perror("floor_http");
        return 1;
    }
    char buf[2048];
    for (;;) {
        int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        if (recv(c, buf, sizeof buf, 0) > 0)
            send(c, RESPONSE, sizeof RESPONSE - 1, MSG_NOSIGNAL);
        close(c);
    }
}
