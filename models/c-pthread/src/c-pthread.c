/*
 * c-pthread: one POSIX thread per connection, blocking I/O, 64 KiB
 * stacks. The main thread accepts; each connection gets a detached thread
 * that echoes it with blocking read(2) / send(2) on a 4 KiB buffer on its
 * own stack, then closes it and ends. Beside Go's `threaded` model, it
 * gives the cost of a thread with no runtime in the way.
 *
 * The contract (models/README.md) comes from models/_c/c10k.h, the work
 * per request from models/_c/work.h (the connection's thread does it; its
 * wait= is that thread's sleep). A thread that cannot be created is
 * reported as kind "thread" with its errno (EAGAIN: a task limit, or
 * ENOMEM); that connection is closed and accepting pauses, 10 ms doubling
 * to 1 s while creation keeps failing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define C10K_MODEL "c-pthread"
#include "c10k.h"
#include "work.h"

/* A thread's stack: enough for the 4 KiB buffer and the C library's
 * calls, a sixteenth of glibc's default 8 MiB reservation. */
#define DEFAULT_STACK (64 * 1024)
#define CONN_BUF 4096
#define MIN_BACKOFF_MS 10
#define MAX_BACKOFF_MS 1000
#define ACCEPT_PAUSE_MS 50
#define ACCEPT_BURST 64

/* What every connection thread shares: read-only but for live. */
struct shared {
    struct c10k_work work;
    atomic_long live;
};

struct job {
    struct shared *sh;
    int fd;
};

static void *serve(void *arg)
{
    struct job j = *(struct job *)arg;
    free(arg);
    char buf[CONN_BUF];
    int err;
    switch (c10k_echo_blocking(j.fd, &j.sh->work, buf, sizeof buf, &err)) {
    case C10K_READ_ERR:
        c10k_report("read", err, atomic_load(&j.sh->live));
        break;
    case C10K_WRITE_ERR:
        c10k_report("write", err, atomic_load(&j.sh->live));
        break;
    case C10K_EOF:
        break;
    }
    close(j.fd);
    atomic_fetch_sub(&j.sh->live, 1);
    return NULL;
}

/* spawn starts conn's thread; 0 or pthread_create's error (the
 * connection is then closed). */
static int spawn(struct shared *sh, const pthread_attr_t *attr, int conn)
{
    struct job *j = malloc(sizeof *j);
    if (j == NULL) {
        close(conn);
        return ENOMEM;
    }
    *j = (struct job){.sh = sh, .fd = conn};
    atomic_fetch_add(&sh->live, 1);
    pthread_t t;
    int err = pthread_create(&t, attr, serve, j);
    if (err != 0) {
        atomic_fetch_sub(&sh->live, 1);
        free(j);
        close(conn);
    }
    return err;
}

int main(void)
{
    struct c10k_config cfg;
    c10k_load_config(&cfg);
    static struct shared sh; /* outlives main's frame for the threads */
    c10k_load_work(&sh.work);
    int stack = c10k_int_env("C10K_PTHREAD_STACK", DEFAULT_STACK);
    if (stack < 16384)
        c10k_fatal("C10K_PTHREAD_STACK=%d: want at least 16384 bytes", stack);

    /* Blocked before any thread exists, so every thread inherits the mask
     * and SIGTERM is read from the signalfd, never delivered to a thread. */
    int sfd = c10k_signalfd(0);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_attr_setstacksize(&attr, (size_t)stack) != 0)
        c10k_fatal("C10K_PTHREAD_STACK=%d: refused by pthread_attr_setstacksize", stack);

    int lfd = c10k_listen(&cfg);
    int backoff = 0, pause_ms = 0, listening = 1;
    for (;;) {
        struct pollfd p[2] = {{.fd = sfd, .events = POLLIN}, {.fd = lfd, .events = POLLIN}};
        int watch = listening && pause_ms == 0;
        int timeout = c10k_flush_reports(0);
        if (pause_ms > 0 && (timeout < 0 || pause_ms < timeout))
            timeout = pause_ms;
        long long before = c10k_now_ns(CLOCK_MONOTONIC);
        int n = poll(p, watch ? 2 : 1, timeout);
        if (pause_ms > 0) {
            pause_ms -= (int)((c10k_now_ns(CLOCK_MONOTONIC) - before) / 1000000);
            if (pause_ms < 0)
                pause_ms = 0;
        }
        if (n < 0 && errno != EINTR)
            c10k_fatal("poll: %s", strerror(errno));
        if (n > 0 && (p[0].revents & POLLIN) && c10k_terminated(sfd)) {
            /* exit_group ends every connection thread, wherever it is
             * blocked; the kernel closes the sockets. */
            c10k_flush_reports(1);
            _exit(0);
        }
        if (!watch || n <= 0 || p[1].revents == 0)
            continue;
        for (int burst = 0; burst < ACCEPT_BURST; burst++) {
            /* Without SOCK_NONBLOCK: the thread's I/O is blocking. */
            int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (conn < 0) {
                int err = errno;
                if (err == EAGAIN || err == EINTR)
                    break;
                c10k_report("accept", err, atomic_load(&sh.live));
                if (err == ECONNABORTED)
                    continue;
                if (err == EBADF || err == EINVAL || err == ENOTSOCK)
                    listening = 0;
                else /* EMFILE, ENFILE, ENOBUFS, ENOMEM */
                    pause_ms = ACCEPT_PAUSE_MS;
                break;
            }
            int err = spawn(&sh, &attr, conn);
            if (err != 0) {
                c10k_report("thread", err, atomic_load(&sh.live));
                backoff = backoff * 2 < MIN_BACKOFF_MS ? MIN_BACKOFF_MS : backoff * 2;
                if (backoff > MAX_BACKOFF_MS)
                    backoff = MAX_BACKOFF_MS;
                pause_ms = backoff;
                break;
            }
            backoff = 0;
        }
    }
}
