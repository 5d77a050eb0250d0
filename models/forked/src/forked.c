/*
 * forked: the process-per-connection model with a real fork(2).
 *
 * The parent accepts; each connection gets a child process of its own,
 * made by fork(2) with no exec, which echoes it with blocking read(2) /
 * send(2) on one static buffer and exits at EOF or error. The parent
 * reaps children on SIGCHLD and counts the live ones; with a cap on
 * children it stops accepting while the cap is reached, as Python's
 * ForkingMixIn does.
 *
 * It is C because the child must be nothing but the kernel's copy of the
 * parent: one task, sharing every page copy-on-write, so that it costs
 * only the pages it touches (README.md has the reasons and the measured
 * cost). The parent therefore keeps its writable memory small and
 * allocates nothing: every page it writes after a fork is a page some
 * children keep a private copy of.
 *
 * The model contract (models/README.md): the common variables and the
 * failure reports come from models/_c/c10k.h, the work per request
 * (C10K_WORK, C10K_SIZE: the child does it, wait= as its own sleep) from
 * models/_c/work.h; this file adds C10K_PRESET (seed) and C10K_FORK_CAP.
 * SIGTERM ends the parent and every child.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define C10K_MODEL "forked"
#include "c10k.h"
#include "work.h"

/* The seed preset: Python socketserver's ForkingMixIn.max_children and
 * TCPServer.request_queue_size, the original experiment. */
#define SEED_CAP 40
#define SEED_BACKLOG 5

/* Children get KILL_GRACE_MS to exit on SIGTERM, then SIGKILL and at most
 * REAP_GRACE_MS more to be reaped: the contract allows the model 2 s. */
#define KILL_GRACE_MS 1000
#define REAP_GRACE_MS 700

/* Back-off after a failed fork (EAGAIN, ENOMEM): the resource comes back
 * only as children exit, so retrying at once would spin. */
#define MIN_BACKOFF_MS 10
#define MAX_BACKOFF_MS 1000
/* Pause after accept fails for want of a resource (EMFILE, ENOBUFS...). */
#define ACCEPT_PAUSE_MS 50
/* Connections accepted between two looks at the signals. */
#define ACCEPT_BURST 64

/* The child's descriptor for its connection, after stdin, stdout, stderr. */
#define CHILD_FD 3

/* PID_MAX_LIMIT on 64-bit Linux: no pid is larger. */
#define PID_LIMIT (4 * 1024 * 1024)

/* ---- state ------------------------------------------------------------ */

/* Live children, one bit per pid: no allocation, O(1) add and remove, and
 * a bitmap of 512 KiB of which only the pages of pids in use ever exist. */
static uint64_t kids[PID_LIMIT / 64];
static long nkids;

/* The child's only buffer: in BSS, so a child's first read materialises
 * one fresh page of its own and shares nothing it writes. */
static char buf[4096];

/* ---- configuration ---------------------------------------------------- */

/* The contract's common variables (c10k.h), and this model's own. */
struct config {
    struct c10k_config common;
    int fork_cap; /* 0: no cap */
};

/* What each child does before echoing a request (work.h); read-only after
 * start-up, so the parent writes no page of it after a fork. */
static struct c10k_work work;

static void load_config(struct config *c)
{
    c10k_load_config(&c->common);
    c10k_load_work(&work);
    c->fork_cap = 0;
    const char *preset = getenv("C10K_PRESET");
    if (preset != NULL && *preset) {
        if (strcmp(preset, "seed") != 0)
            c10k_fatal("C10K_PRESET=\"%s\": unknown preset (known: seed)", preset);
        /* Explicit variables override the preset. */
        char v[64];
        c->fork_cap = SEED_CAP;
        if (c10k_trimmed("C10K_BACKLOG", v, sizeof v) == NULL)
            c->common.backlog = SEED_BACKLOG;
    }
    c->fork_cap = c10k_int_env("C10K_FORK_CAP", c->fork_cap);
    if (c->fork_cap < 0)
        c10k_fatal("C10K_FORK_CAP=%d: want 0 (no cap) or more", c->fork_cap);
}

/* ---- the child -------------------------------------------------------- */

/* child runs in the forked process: it keeps only its connection (as
 * CHILD_FD, with /dev/null on 0-2), dies with the parent, takes SIGTERM's
 * default action, and echoes until EOF. It never returns. */
static void child(int conn, int devnull, pid_t parent, const sigset_t *mask)
{
    /* conn and devnull are above 2 (main made sure); move devnull off
     * CHILD_FD before conn takes it. */
    if (devnull == CHILD_FD && (devnull = dup(devnull)) < 0)
        _exit(1);
    if (conn != CHILD_FD && dup2(conn, CHILD_FD) < 0)
        _exit(1);
    for (int fd = 0; fd < 3; fd++)
        if (devnull != fd)
            dup2(devnull, fd);
    /* The listener, the signalfd, the stdout pipe the runner reads until
     * EOF: none may outlive the parent in a child. */
    close_range(CHILD_FD + 1, ~0U, 0);
    /* PR_SET_PDEATHSIG fires when the parent's thread ends; the parent has
     * one thread. If it is gone already, the child was reparented. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    /* The parent blocked SIGTERM, SIGINT and SIGCHLD to read them from a
     * signalfd; their dispositions were never changed, so unblocking gives
     * the defaults back: SIGTERM ends the child at once. */
    sigprocmask(SIG_UNBLOCK, mask, NULL);

    /* Blocking echo until EOF, with the work per request if any: this
     * process is the connection's own, so wait= is simply its sleep. */
    int err;
    _exit(c10k_echo_blocking(CHILD_FD, &work, buf, sizeof buf, &err) == C10K_EOF ? 0 : 1);
}

/* ---- the parent ------------------------------------------------------- */

static void add_kid(pid_t pid)
{
    kids[pid / 64] |= 1ULL << (pid % 64);
    nkids++;
}

/* reap collects every child that has exited (signals coalesce: one
 * SIGCHLD may stand for many exits). */
static void reap(void)
{
    for (;;) {
        pid_t pid = waitpid(-1, NULL, WNOHANG);
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid <= 0) /* ECHILD, or the rest still running */
            return;
        if (pid < PID_LIMIT && (kids[pid / 64] & (1ULL << (pid % 64)))) {
            kids[pid / 64] &= ~(1ULL << (pid % 64));
            nkids--;
        }
    }
}

static void signal_kids(int sig)
{
    for (size_t w = 0; w < sizeof kids / sizeof kids[0]; w++)
        for (uint64_t bits = kids[w]; bits != 0; bits &= bits - 1)
            kill((pid_t)(w * 64 + (size_t)__builtin_ctzll(bits)), sig);
}

/* drain_signals reads the signalfd and says whether SIGTERM or SIGINT was
 * among what it read; a SIGCHLD reaps. */
static int drain_signals(int sfd)
{
    int term = 0;
    struct signalfd_siginfo si[16];
    for (;;) {
        ssize_t n = read(sfd, si, sizeof si);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (size_t i = 0; i < (size_t)n / sizeof si[0]; i++) {
            if (si[i].ssi_signo == SIGCHLD)
                reap();
            else
                term = 1;
        }
    }
    return term;
}

/* wait_no_kids reaps until no child is left or ms have passed. */
static int wait_no_kids(int sfd, int ms)
{
    long long deadline = c10k_now_ns(CLOCK_MONOTONIC) + (long long)ms * 1000000LL;
    for (;;) {
        reap();
        if (nkids == 0)
            return 1;
        long long left = deadline - c10k_now_ns(CLOCK_MONOTONIC);
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = sfd, .events = POLLIN};
        poll(&p, 1, (int)(left / 1000000) + 1);
        drain_signals(sfd);
    }
}

/* stop ends accepting, asks every child to exit, kills those that do not
 * within KILL_GRACE_MS and waits until they are reaped, so no child
 * outlives the model. */
static void stop(int lfd, int sfd)
{
    close(lfd); /* new connections are refused from now on */
    signal_kids(SIGTERM);
    if (!wait_no_kids(sfd, KILL_GRACE_MS)) {
        signal_kids(SIGKILL);
        wait_no_kids(sfd, REAP_GRACE_MS);
    }
    c10k_flush_reports(1);
}

/* spawn forks a child for conn and closes the parent's copy whatever
 * happens: a connection whose child could not start is closed at once.
 * Returns 0 or the errno of fork(2). */
static int spawn(int conn, int devnull, const sigset_t *mask)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0)
        child(conn, devnull, parent, mask);
    int err = pid < 0 ? errno : 0;
    close(conn);
    if (pid > 0)
        add_kid(pid);
    return err;
}

int main(void)
{
    /* Descriptors 0-2 must be taken, so that no descriptor opened below
     * can be one the child puts /dev/null on. */
    for (;;) {
        int fd = open("/dev/null", O_RDWR);
        if (fd < 0)
            c10k_fatal("open /dev/null: %s", strerror(errno));
        if (fd > 2) {
            close(fd);
            break;
        }
    }
    struct config cfg;
    load_config(&cfg);

    /* Signals are read from a signalfd, so the loop below never runs in a
     * handler; blocked before anything can fork. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
        c10k_fatal("sigprocmask: %s", strerror(errno));
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0)
        c10k_fatal("signalfd: %s", strerror(errno));
    /* A runner gone from the other end of stdout must not kill the model. */
    signal(SIGPIPE, SIG_IGN);

    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0)
        c10k_fatal("open /dev/null: %s", strerror(errno));
    int lfd = c10k_listen(&cfg.common);

    int backoff = 0;     /* ms, after failed forks */
    int pause_ms = 0;    /* set to wait before the next accept */
    int listening = 1;   /* 0 once the listener broke: wait for SIGTERM */
    int cap_reported = 0;
    for (;;) {
        int at_cap = cfg.fork_cap > 0 && nkids >= cfg.fork_cap;
        if (at_cap && !cap_reported) {
            /* As ForkingMixIn: stop accepting; new connections wait in the
             * listen queue, and once it is full the kernel drops SYNs. */
            c10k_report("fork_cap", 0, nkids);
            cap_reported = 1;
        } else if (!at_cap) {
            cap_reported = 0;
        }
        struct pollfd p[2] = {{.fd = sfd, .events = POLLIN},
                              {.fd = lfd, .events = POLLIN}};
        int watch_listener = listening && !at_cap && pause_ms == 0;
        int timeout = c10k_flush_reports(0);
        if (pause_ms > 0 && (timeout < 0 || pause_ms < timeout))
            timeout = pause_ms;
        long long before = c10k_now_ns(CLOCK_MONOTONIC);
        int n = poll(p, watch_listener ? 2 : 1, timeout);
        if (pause_ms > 0) {
            pause_ms -= (int)((c10k_now_ns(CLOCK_MONOTONIC) - before) / 1000000);
            if (pause_ms < 0)
                pause_ms = 0;
        }
        if (n < 0 && errno != EINTR)
            c10k_fatal("poll: %s", strerror(errno));
        if (n > 0 && (p[0].revents & POLLIN) && drain_signals(sfd)) {
            stop(lfd, sfd);
            return 0;
        }
        if (!watch_listener || n <= 0 || p[1].revents == 0)
            continue;

        /* Accept what is queued, a child each, up to the cap; at most
         * ACCEPT_BURST at a time, so SIGTERM and SIGCHLD are read between. */
        for (int burst = 0; burst < ACCEPT_BURST && (cfg.fork_cap == 0 || nkids < cfg.fork_cap); burst++) {
            int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (conn < 0) {
                int err = errno;
                if (err == EAGAIN || err == EINTR)
                    break;
                c10k_report("accept", err, nkids);
                if (err == ECONNABORTED)
                    continue;
                if (err == EBADF || err == EINVAL || err == ENOTSOCK)
                    listening = 0;
                else /* EMFILE, ENFILE, ENOBUFS, ENOMEM */
                    pause_ms = ACCEPT_PAUSE_MS;
                break;
            }
            int err = spawn(conn, devnull, &mask);
            if (err != 0) {
                c10k_report("fork", err, nkids);
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
