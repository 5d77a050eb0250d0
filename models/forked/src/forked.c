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
 * The model contract (models/README.md) in this file: C10K_ADDR,
 * C10K_BACKLOG, C10K_REUSEPORT, C10K_INSTANCE, C10K_PRESET (seed),
 * C10K_FORK_CAP; SIGTERM ends the parent and every child; failures are
 * JSON lines on stdout, coalesced to one a second per kind and errno, as
 * models/internal/modelkit's Reporter does for the Go models.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
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

#define MODEL "forked"

/* Contract defaults (models/README.md, modelkit.Default*). */
#define DEFAULT_ADDR "127.0.0.1:9999"
#define DEFAULT_BACKLOG 4096

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

static int instance;

/* ---- failure reports -------------------------------------------------- */

/* One kind and errno, as modelkit.Reporter keys them. */
struct report {
    const char *kind;
    int err;            /* 0: no errno */
    long long last_ns;  /* when a line was last written, 0: never */
    long long pending;  /* events not written yet */
    long pending_conns;
};

#define MAX_REPORTS 16
static struct report reports[MAX_REPORTS];
static int nreports;

static long long now_ns(int clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* write_all writes to fd (stdout) all of p, or gives up when fd is gone:
 * a report nobody reads is not worth stopping the model for. */
static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* emit writes one JSON line in the format of models/README.md. The
 * message is strerror's text, which needs no escaping beyond quotes and
 * backslashes; control characters are dropped. */
static void emit(const struct report *r, long long count, long conns)
{
    char line[512], msg[160], when[40];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);

    char errno_field[64] = "";
    msg[0] = 0;
    if (r->err != 0) {
        const char *name = strerrorname_np(r->err);
        char unknown[24];
        if (name == NULL) {
            snprintf(unknown, sizeof unknown, "errno %d", r->err);
            name = unknown;
        }
        snprintf(errno_field, sizeof errno_field, ",\"errno\":\"%s\"", name);
        const char *text = strerror(r->err);
        size_t j = 0;
        j += (size_t)snprintf(msg, sizeof msg, ",\"msg\":\"%s: ", r->kind);
        for (const char *c = text; *c && j + 3 < sizeof msg; c++) {
            if (*c == '"' || *c == '\\')
                msg[j++] = '\\';
            if ((unsigned char)*c >= 0x20)
                msg[j++] = *c;
        }
        msg[j++] = '"';
        msg[j] = 0;
    }
    int n = snprintf(line, sizeof line,
                     "{\"time\":\"%s.%09ldZ\",\"model\":\"" MODEL "\",\"instance\":%d,"
                     "\"kind\":\"%s\"%s,\"count\":%lld,\"conns\":%ld%s}\n",
                     when, ts.tv_nsec, instance, r->kind, errno_field, count, conns, msg);
    if (n > 0)
        write_all(1, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* report records one event: the first of its kind and errno is written
 * at once, later ones within a second are summed and written by
 * flush_reports, so a model failing accept() in a loop does not flood the
 * runner. */
static void report(const char *kind, int err, long conns)
{
    struct report *r = NULL;
    for (int i = 0; i < nreports; i++)
        if (reports[i].err == err && strcmp(reports[i].kind, kind) == 0)
            r = &reports[i];
    if (r == NULL) {
        if (nreports == MAX_REPORTS)
            return; /* the kinds are fixed below; cannot happen */
        r = &reports[nreports++];
        r->kind = kind;
        r->err = err;
    }
    long long now = now_ns(CLOCK_MONOTONIC);
    if (r->last_ns == 0 || now - r->last_ns >= 1000000000LL) {
        emit(r, r->pending + 1, conns);
        r->pending = 0;
        r->last_ns = now;
        return;
    }
    r->pending++;
    r->pending_conns = conns;
}

/* flush_reports writes what has waited a second or more (all of it when
 * all is set) and returns the milliseconds until the next is due, or -1. */
static int flush_reports(int all)
{
    long long now = now_ns(CLOCK_MONOTONIC);
    long long next = -1;
    for (int i = 0; i < nreports; i++) {
        struct report *r = &reports[i];
        if (r->pending == 0)
            continue;
        long long due = r->last_ns + 1000000000LL;
        if (all || now >= due) {
            emit(r, r->pending, r->pending_conns);
            r->pending = 0;
            r->last_ns = now;
            continue;
        }
        if (next < 0 || due - now < next)
            next = due - now;
    }
    return next < 0 ? -1 : (int)(next / 1000000) + 1;
}

/* ---- configuration ---------------------------------------------------- */

static void fatal(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, MODEL ": ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

/* trimmed returns the variable's value without surrounding blanks (in
 * out), or NULL when it is unset or blank, as modelkit.IntEnv reads it. */
static const char *trimmed(const char *name, char *out, size_t size)
{
    const char *v = getenv(name);
    if (v == NULL)
        return NULL;
    while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r')
        v++;
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\n' || v[n - 1] == '\r'))
        n--;
    if (n == 0)
        return NULL;
    if (n >= size)
        n = size - 1;
    memcpy(out, v, n);
    out[n] = 0;
    return out;
}

static int int_env(const char *name, int def)
{
    char v[64];
    if (trimmed(name, v, sizeof v) == NULL)
        return def;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno != 0 || *end != 0 || end == v || n < INT_MIN || n > INT_MAX)
        fatal("%s=\"%s\": not an integer", name, v);
    return (int)n;
}

/* bool_env accepts what Go's strconv.ParseBool does. */
static int bool_env(const char *name, int def)
{
    static const char *yes[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *no[] = {"0", "f", "F", "false", "FALSE", "False"};
    char v[64];
    if (trimmed(name, v, sizeof v) == NULL)
        return def;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcmp(v, yes[i]) == 0)
            return 1;
        if (strcmp(v, no[i]) == 0)
            return 0;
    }
    fatal("%s=\"%s\": not a boolean", name, v);
    return def;
}

struct config {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    const char *addr_text;
    int backlog;
    int reuseport;
    int fork_cap; /* 0: no cap */
};

/* parse_addr reads "ip:port" or "[ipv6]:port"; never a host name. */
static void parse_addr(const char *s, struct config *c)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *port;
    int v6 = s[0] == '[';
    if (v6) {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':' || (size_t)(close - s - 1) >= sizeof host)
            fatal("C10K_ADDR=\"%s\": want ip:port", s);
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = 0;
        port = close + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (colon == NULL || (size_t)(colon - s) >= sizeof host)
            fatal("C10K_ADDR=\"%s\": want ip:port", s);
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = 0;
        port = colon + 1;
    }
    char *end;
    long p = strtol(port, &end, 10);
    if (*port == 0 || *end != 0 || p < 0 || p > 65535)
        fatal("C10K_ADDR=\"%s\": bad port", s);
    memset(&c->addr, 0, sizeof c->addr);
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&c->addr;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)p);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            fatal("C10K_ADDR=\"%s\": not an IPv6 address (want ip:port, never a host name)", s);
        c->addrlen = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&c->addr;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)p);
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            fatal("C10K_ADDR=\"%s\": not an IPv4 address (want ip:port, never a host name)", s);
        c->addrlen = sizeof *a;
    }
    c->addr_text = s;
}

static void load_config(struct config *c)
{
    const char *addr = getenv("C10K_ADDR");
    parse_addr(addr != NULL && *addr ? addr : DEFAULT_ADDR, c);
    c->backlog = int_env("C10K_BACKLOG", DEFAULT_BACKLOG);
    c->reuseport = bool_env("C10K_REUSEPORT", 0);
    instance = int_env("C10K_INSTANCE", 0);
    if (int_env("C10K_LOOPS", 1) < 1)
        fatal("C10K_LOOPS: need at least one event loop");
    c->fork_cap = 0;
    const char *preset = getenv("C10K_PRESET");
    if (preset != NULL && *preset) {
        if (strcmp(preset, "seed") != 0)
            fatal("C10K_PRESET=\"%s\": unknown preset (known: seed)", preset);
        /* Explicit variables override the preset. */
        char v[64];
        c->fork_cap = SEED_CAP;
        if (trimmed("C10K_BACKLOG", v, sizeof v) == NULL)
            c->backlog = SEED_BACKLOG;
    }
    c->fork_cap = int_env("C10K_FORK_CAP", c->fork_cap);
    if (c->fork_cap < 0)
        fatal("C10K_FORK_CAP=%d: want 0 (no cap) or more", c->fork_cap);
}

static int listen_on(const struct config *c)
{
    int fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        fatal("socket: %s", strerror(errno));
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        fatal("setsockopt SO_REUSEADDR: %s", strerror(errno));
    if (c->reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
        fatal("setsockopt SO_REUSEPORT: %s", strerror(errno));
    if (bind(fd, (const struct sockaddr *)&c->addr, c->addrlen) < 0)
        fatal("bind %s: %s", c->addr_text, strerror(errno));
    if (listen(fd, c->backlog) < 0)
        fatal("listen %s backlog %d: %s", c->addr_text, c->backlog, strerror(errno));
    return fd;
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

    for (;;) {
        ssize_t n = read(CHILD_FD, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            _exit(1);
        if (n == 0) /* EOF: everything received has been echoed */
            _exit(0);
        for (char *p = buf; n > 0;) {
            /* MSG_NOSIGNAL: a reset peer is an error here, not SIGPIPE. */
            ssize_t w = send(CHILD_FD, p, (size_t)n, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                _exit(1);
            p += w;
            n -= w;
        }
    }
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
    long long deadline = now_ns(CLOCK_MONOTONIC) + (long long)ms * 1000000LL;
    for (;;) {
        reap();
        if (nkids == 0)
            return 1;
        long long left = deadline - now_ns(CLOCK_MONOTONIC);
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
    flush_reports(1);
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
            fatal("open /dev/null: %s", strerror(errno));
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
        fatal("sigprocmask: %s", strerror(errno));
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0)
        fatal("signalfd: %s", strerror(errno));
    /* A runner gone from the other end of stdout must not kill the model. */
    signal(SIGPIPE, SIG_IGN);

    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0)
        fatal("open /dev/null: %s", strerror(errno));
    int lfd = listen_on(&cfg);

    int backoff = 0;     /* ms, after failed forks */
    int pause_ms = 0;    /* set to wait before the next accept */
    int listening = 1;   /* 0 once the listener broke: wait for SIGTERM */
    int cap_reported = 0;
    for (;;) {
        int at_cap = cfg.fork_cap > 0 && nkids >= cfg.fork_cap;
        if (at_cap && !cap_reported) {
            /* As ForkingMixIn: stop accepting; new connections wait in the
             * listen queue, and once it is full the kernel drops SYNs. */
            report("fork_cap", 0, nkids);
            cap_reported = 1;
        } else if (!at_cap) {
            cap_reported = 0;
        }
        struct pollfd p[2] = {{.fd = sfd, .events = POLLIN},
                              {.fd = lfd, .events = POLLIN}};
        int watch_listener = listening && !at_cap && pause_ms == 0;
        int timeout = flush_reports(0);
        if (pause_ms > 0 && (timeout < 0 || pause_ms < timeout))
            timeout = pause_ms;
        long long before = now_ns(CLOCK_MONOTONIC);
        int n = poll(p, watch_listener ? 2 : 1, timeout);
        if (pause_ms > 0) {
            pause_ms -= (int)((now_ns(CLOCK_MONOTONIC) - before) / 1000000);
            if (pause_ms < 0)
                pause_ms = 0;
        }
        if (n < 0 && errno != EINTR)
            fatal("poll: %s", strerror(errno));
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
                report("accept", err, nkids);
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
                report("fork", err, nkids);
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
