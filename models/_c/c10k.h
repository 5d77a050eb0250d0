/*
 * c10k.h: the model contract (models/README.md) for the C models, written
 * once: the common variables (C10K_ADDR, C10K_BACKLOG, C10K_REUSEPORT,
 * C10K_INSTANCE, C10K_LOOPS), the listening socket, start-up errors (one
 * line on stderr, exit status 2) and the failure-report lines on stdout,
 * coalesced to at most one a second per kind and errno as
 * models/internal/modelkit's Reporter does for the Go models.
 *
 * Header only, every function static: each model is one translation unit
 * (models/_c/run-c compiles one .c file and hashes this folder with it).
 * Define C10K_MODEL ("c-epoll"...) before including it.
 *
 * Reports may come from several threads (c-pthread's connection threads),
 * so the table is behind a mutex; uncontended, as in the single-threaded
 * models, it costs two atomic operations per report.
 */
#ifndef C10K_H
#define C10K_H

#ifndef _GNU_SOURCE
#error "define _GNU_SOURCE before any include (strerrorname_np, GNU strerror_r)"
#endif

#ifndef C10K_MODEL
#error "define C10K_MODEL before including c10k.h"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Contract defaults (contract.Default*). */
#define C10K_DEFAULT_ADDR "127.0.0.1:9999"
#define C10K_DEFAULT_BACKLOG 4096

static int c10k_instance;

static long long c10k_now_ns(int clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* c10k_fatal ends the model before it serves: one line on stderr naming
 * the model, status 2 (what the runner shows when a model fails to start). */
__attribute__((noreturn, format(printf, 1, 2))) static void c10k_fatal(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, C10K_MODEL ": ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

/* ---- failure reports -------------------------------------------------- */

/* One kind and errno, as modelkit.Reporter keys them. */
struct c10k_report {
    const char *kind;
    int err;            /* 0: no errno */
    long long last_ns;  /* when a line was last written, 0: never */
    long long pending;  /* events not written yet */
    long pending_conns;
};

#define C10K_MAX_REPORTS 16
static struct c10k_report c10k_reports[C10K_MAX_REPORTS];
static int c10k_nreports;
static pthread_mutex_t c10k_report_mu = PTHREAD_MUTEX_INITIALIZER;

/* c10k_write_all writes to fd (stdout) all of p, or gives up when fd is
 * gone: a report nobody reads is not worth stopping the model for. */
static void c10k_write_all(int fd, const char *p, size_t n)
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

/* c10k_emit writes one JSON line in the format of models/README.md. The
 * message is strerror's text, which needs no escaping beyond quotes and
 * backslashes; control characters are dropped. */
static void c10k_emit(const struct c10k_report *r, long long count, long conns)
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
        char text[96];
        /* GNU strerror_r: returns the text, in text or a static string. */
        const char *t = strerror_r(r->err, text, sizeof text);
        size_t j = 0;
        j += (size_t)snprintf(msg, sizeof msg, ",\"msg\":\"%s: ", r->kind);
        for (const char *c = t; *c && j + 3 < sizeof msg; c++) {
            if (*c == '"' || *c == '\\')
                msg[j++] = '\\';
            if ((unsigned char)*c >= 0x20)
                msg[j++] = *c;
        }
        msg[j++] = '"';
        msg[j] = 0;
    }
    int n = snprintf(line, sizeof line,
                     "{\"time\":\"%s.%09ldZ\",\"model\":\"" C10K_MODEL "\",\"instance\":%d,"
                     "\"kind\":\"%s\"%s,\"count\":%lld,\"conns\":%ld%s}\n",
                     when, ts.tv_nsec, c10k_instance, r->kind, errno_field, count, conns, msg);
    if (n > 0)
        c10k_write_all(1, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* c10k_report records one event: the first of its kind and errno is
 * written at once, later ones within a second are summed and written by
 * c10k_flush_reports, so a model failing accept() in a loop does not flood
 * the runner. kind must be a string constant. */
static void c10k_report(const char *kind, int err, long conns)
{
    pthread_mutex_lock(&c10k_report_mu);
    struct c10k_report *r = NULL;
    for (int i = 0; i < c10k_nreports; i++)
        if (c10k_reports[i].err == err && strcmp(c10k_reports[i].kind, kind) == 0)
            r = &c10k_reports[i];
    if (r == NULL && c10k_nreports < C10K_MAX_REPORTS) {
        r = &c10k_reports[c10k_nreports++];
        r->kind = kind;
        r->err = err;
    }
    if (r != NULL) { /* NULL: more kinds and errnos than slots; dropped */
        long long now = c10k_now_ns(CLOCK_MONOTONIC);
        if (r->last_ns == 0 || now - r->last_ns >= 1000000000LL) {
            c10k_emit(r, r->pending + 1, conns);
            r->pending = 0;
            r->last_ns = now;
        } else {
            r->pending++;
            r->pending_conns = conns;
        }
    }
    pthread_mutex_unlock(&c10k_report_mu);
}

/* c10k_flush_reports writes what has waited a second or more (all of it
 * when all is set) and returns the milliseconds until the next is due, or
 * -1 when nothing waits. */
static int c10k_flush_reports(int all)
{
    pthread_mutex_lock(&c10k_report_mu);
    long long now = c10k_now_ns(CLOCK_MONOTONIC);
    long long next = -1;
    for (int i = 0; i < c10k_nreports; i++) {
        struct c10k_report *r = &c10k_reports[i];
        if (r->pending == 0)
            continue;
        long long due = r->last_ns + 1000000000LL;
        if (all || now >= due) {
            c10k_emit(r, r->pending, r->pending_conns);
            r->pending = 0;
            r->last_ns = now;
            continue;
        }
        if (next < 0 || due - now < next)
            next = due - now;
    }
    pthread_mutex_unlock(&c10k_report_mu);
    return next < 0 ? -1 : (int)(next / 1000000) + 1;
}

/* ---- configuration ---------------------------------------------------- */

/* c10k_trimmed returns the variable's value without surrounding blanks (in
 * out), or NULL when it is unset or blank, as contract.Int reads it. */
static const char *c10k_trimmed(const char *name, char *out, size_t size)
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

static int c10k_int_env(const char *name, int def)
{
    char v[64];
    if (c10k_trimmed(name, v, sizeof v) == NULL)
        return def;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno != 0 || *end != 0 || end == v || n < INT_MIN || n > INT_MAX)
        c10k_fatal("%s=\"%s\": not an integer", name, v);
    return (int)n;
}

/* c10k_bool_env accepts what Go's strconv.ParseBool does. */
static int c10k_bool_env(const char *name, int def)
{
    static const char *yes[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *no[] = {"0", "f", "F", "false", "FALSE", "False"};
    char v[64];
    if (c10k_trimmed(name, v, sizeof v) == NULL)
        return def;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcmp(v, yes[i]) == 0)
            return 1;
        if (strcmp(v, no[i]) == 0)
            return 0;
    }
    c10k_fatal("%s=\"%s\": not a boolean", name, v);
}

/* The common variables, as contract.Load reads them. */
struct c10k_config {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    const char *addr_text;
    int backlog;
    int reuseport;
    int loops;
};

/* c10k_parse_addr reads "ip:port" or "[ipv6]:port"; never a host name. */
static void c10k_parse_addr(const char *s, struct c10k_config *c)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *port;
    int v6 = s[0] == '[';
    if (v6) {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':' || (size_t)(close - s - 1) >= sizeof host)
            c10k_fatal("C10K_ADDR=\"%s\": want ip:port", s);
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = 0;
        port = close + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (colon == NULL || (size_t)(colon - s) >= sizeof host)
            c10k_fatal("C10K_ADDR=\"%s\": want ip:port", s);
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = 0;
        port = colon + 1;
    }
    char *end;
    long p = strtol(port, &end, 10);
    if (*port == 0 || *end != 0 || p < 0 || p > 65535)
        c10k_fatal("C10K_ADDR=\"%s\": bad port", s);
    memset(&c->addr, 0, sizeof c->addr);
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&c->addr;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)p);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            c10k_fatal("C10K_ADDR=\"%s\": not an IPv6 address (want ip:port, never a host name)", s);
        c->addrlen = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&c->addr;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)p);
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            c10k_fatal("C10K_ADDR=\"%s\": not an IPv4 address (want ip:port, never a host name)", s);
        c->addrlen = sizeof *a;
    }
    c->addr_text = s;
}

static void c10k_load_config(struct c10k_config *c)
{
    const char *addr = getenv("C10K_ADDR");
    c10k_parse_addr(addr != NULL && *addr ? addr : C10K_DEFAULT_ADDR, c);
    c->backlog = c10k_int_env("C10K_BACKLOG", C10K_DEFAULT_BACKLOG);
    c->reuseport = c10k_bool_env("C10K_REUSEPORT", 0);
    c10k_instance = c10k_int_env("C10K_INSTANCE", 0);
    c->loops = c10k_int_env("C10K_LOOPS", 1);
    if (c->loops < 1)
        c10k_fatal("C10K_LOOPS: need at least one event loop");
}

/* c10k_listen opens the listening socket, non-blocking and close-on-exec. */
static int c10k_listen(const struct c10k_config *c)
{
    int fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        c10k_fatal("socket: %s", strerror(errno));
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        c10k_fatal("setsockopt SO_REUSEADDR: %s", strerror(errno));
    if (c->reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
        c10k_fatal("setsockopt SO_REUSEPORT: %s", strerror(errno));
    if (bind(fd, (const struct sockaddr *)&c->addr, c->addrlen) < 0)
        c10k_fatal("bind %s: %s", c->addr_text, strerror(errno));
    if (listen(fd, c->backlog) < 0)
        c10k_fatal("listen %s backlog %d: %s", c->addr_text, c->backlog, strerror(errno));
    return fd;
}

/* c10k_signalfd blocks SIGTERM, SIGINT and extra (0: none) and returns a
 * non-blocking signalfd that reads them, so a model's loop learns of them
 * among its other events and never runs in a handler. Called before any
 * thread or child exists, every one inherits the mask. SIGPIPE is ignored:
 * a runner gone from stdout must not kill the model. */
static inline int c10k_signalfd(int extra)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    if (extra)
        sigaddset(&mask, extra);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
        c10k_fatal("sigprocmask: %s", strerror(errno));
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0)
        c10k_fatal("signalfd: %s", strerror(errno));
    signal(SIGPIPE, SIG_IGN);
    return sfd;
}

/* c10k_terminated drains the signalfd: 1 when SIGTERM or SIGINT came. */
static inline int c10k_terminated(int sfd)
{
    struct signalfd_siginfo si;
    while (read(sfd, &si, sizeof si) == sizeof si)
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
            return 1;
    return 0;
}

/* c10k_fd_cap is how many descriptors the open-files limit allows (at
 * least 64), the size of a model's per-descriptor tables. */
static inline int c10k_fd_cap(void)
{
    struct rlimit rl;
    int cap = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (1 << 24) ? (int)rl.rlim_cur : 1024;
    return cap < 64 ? 64 : cap;
}

#endif /* C10K_H */
