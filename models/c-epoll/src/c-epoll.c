/*
 * c-epoll: the floor. The cheapest echo server this kernel allows: one
 * thread, one edge-triggered epoll set, non-blocking sockets, one fixed
 * read buffer for every connection, and per connection a 64-byte slot in
 * a table indexed by descriptor. A connection holds memory of its own only
 * while its echo is waiting for the client to read (the rest of a partial
 * write) or, with C10K_WORK, while a request is incomplete or waiting.
 *
 * Every other model's CPU per echo and memory per connection is read
 * against this one (README.md).
 *
 * The contract (models/README.md) comes from models/_c/c10k.h, the work
 * per request from models/_c/work.h: cpu= and block= run on the loop's
 * thread (block= stalls every connection, on purpose); wait= is a timer,
 * a min-heap of due times that bounds epoll_pwait2's timeout, while the
 * loop serves the others.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define C10K_MODEL "c-epoll"
#include "c10k.h"
#include "work.h"

/* One read buffer for the loop: a read is echoed before the next, so no
 * connection needs one of its own. */
#define READ_BUF (64 * 1024)
#define MAX_EVENTS 512
/* Reads of one connection per turn, so one fast sender cannot hold the
 * loop: past this it waits on the ready list for the next turn. */
#define READS_PER_TURN 16
/* After accept fails for want of a resource (EMFILE...), accepting pauses
 * this long; the connections wait in the listen queue. */
#define ACCEPT_PAUSE_NS (100 * 1000000LL)

/* One connection: 64 bytes, in the table slot of its descriptor. */
struct conn {
    char *out;          /* echo the socket did not take yet, or NULL */
    size_t out_len, out_off;
    char *in;           /* with work: bytes read, not yet handled, or NULL */
    size_t in_len, in_cap;
    long long due;      /* with wait=: when the front request's wait ends */
    int heap;           /* index in the timer heap, -1 when not waiting */
    uint8_t open, eof, waiting, ready;
};

struct loop {
    int epfd, lfd, sfd;
    struct conn *conns; /* indexed by descriptor */
    int cap;            /* descriptors the tables hold */
    int *heap;          /* descriptors waiting, by due time */
    int nheap;
    int *ready;         /* descriptors with more to read this turn */
    int nready;
    long live;
    long long accept_resume; /* 0: accepting */
    int accept_broken;
    struct c10k_work work;
    char *buf;
};

/* ---- the timer heap (wait=) ---------------------------------------- */

static void heap_set(struct loop *l, int i, int fd)
{
    l->heap[i] = fd;
    l->conns[fd].heap = i;
}

static void heap_up(struct loop *l, int i)
{
    int fd = l->heap[i];
    while (i > 0) {
        int p = (i - 1) / 2;
        if (l->conns[l->heap[p]].due <= l->conns[fd].due)
            break;
        heap_set(l, i, l->heap[p]);
        i = p;
    }
    heap_set(l, i, fd);
}

static void heap_down(struct loop *l, int i)
{
    int fd = l->heap[i];
    for (;;) {
        int k = 2 * i + 1;
        if (k >= l->nheap)
            break;
        if (k + 1 < l->nheap && l->conns[l->heap[k + 1]].due < l->conns[l->heap[k]].due)
            k++;
        if (l->conns[l->heap[k]].due >= l->conns[fd].due)
            break;
        heap_set(l, i, l->heap[k]);
        i = k;
    }
    heap_set(l, i, fd);
}

static void heap_push(struct loop *l, int fd)
{
    l->heap[l->nheap++] = fd;
    heap_up(l, l->nheap - 1);
}

static void heap_remove(struct loop *l, int fd)
{
    int i = l->conns[fd].heap;
    l->conns[fd].heap = -1;
    int last = l->heap[--l->nheap];
    if (i == l->nheap)
        return;
    heap_set(l, i, last);
    heap_down(l, i);
    heap_up(l, l->conns[last].heap);
}

/* ---- connections ----------------------------------------------------- */

/* grow makes the tables hold descriptor fd (the open-files limit may be
 * raised while the model runs). */
static int grow(struct loop *l, int fd)
{
    if (fd < l->cap)
        return 0;
    int cap = l->cap;
    errno = ENOMEM;
    while (cap <= fd)
        cap *= 2;
    struct conn *c = realloc(l->conns, (size_t)cap * sizeof *c);
    int *h = c ? realloc(l->heap, (size_t)cap * sizeof *h) : NULL;
    int *r = h ? realloc(l->ready, (size_t)cap * sizeof *r) : NULL;
    if (c)
        l->conns = c;
    if (h)
        l->heap = h;
    if (r == NULL)
        return -1;
    l->ready = r;
    memset(l->conns + l->cap, 0, (size_t)(cap - l->cap) * sizeof *c);
    l->cap = cap;
    return 0;
}

static void conn_close(struct loop *l, int fd)
{
    struct conn *c = &l->conns[fd];
    if (c->heap >= 0)
        heap_remove(l, fd);
    free(c->out);
    free(c->in);
    memset(c, 0, sizeof *c);
    close(fd); /* also takes it out of the epoll set */
    l->live--;
}

/* flush writes pending echo: 0 when none is left, 1 when the socket is
 * full (EPOLLOUT resumes), -1 when the connection was closed. */
static int flush(struct loop *l, int fd, struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = send(fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN)
            return 1;
        if (w < 0) {
            c10k_report("write", errno, l->live);
            conn_close(l, fd);
            return -1;
        }
        c->out_off += (size_t)w;
    }
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = 0;
    return 0;
}

/* echo sends p, keeping what the socket does not take; -1 when the
 * connection was closed. Echo order holds: with echo pending, p queues. */
static int echo(struct loop *l, int fd, struct conn *c, const char *p, size_t n)
{
    if (c->out == NULL) {
        for (;;) {
            ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0 && errno != EAGAIN) {
                c10k_report("write", errno, l->live);
                conn_close(l, fd);
                return -1;
            }
            if (w > 0) {
                p += w;
                n -= (size_t)w;
            }
            break;
        }
        if (n == 0)
            return 0;
    }
    char *out = realloc(c->out, c->out_len + n);
    if (out == NULL) {
        c10k_report("write", ENOMEM, l->live);
        conn_close(l, fd);
        return -1;
    }
    memcpy(out + c->out_len, p, n);
    c->out = out;
    c->out_len += n;
    return 0;
}

/* take appends what was read to the connection's unhandled input. */
static int take(struct loop *l, int fd, struct conn *c, const char *p, size_t n)
{
    if (c->in_len + n > c->in_cap) {
        size_t cap = c->in_len + n < 2 * c->in_cap ? 2 * c->in_cap : c->in_len + n;
        char *in = realloc(c->in, cap);
        if (in == NULL) {
            c10k_report("read", ENOMEM, l->live);
            conn_close(l, fd);
            return -1;
        }
        c->in = in;
        c->in_cap = cap;
    }
    memcpy(c->in + c->in_len, p, n);
    c->in_len += n;
    return 0;
}

/* consume drops n handled bytes from the input; the buffer goes when it
 * is empty, so an idle connection holds none. */
static void consume(struct conn *c, size_t n)
{
    c->in_len -= n;
    if (c->in_len == 0) {
        free(c->in);
        c->in = NULL;
        c->in_cap = 0;
        return;
    }
    memmove(c->in, c->in + n, c->in_len);
}

/* handle does the work of each complete request and echoes it; with
 * wait= it starts the front request's timer and stops there. -1 when the
 * connection was closed. */
static int handle(struct loop *l, int fd, struct conn *c)
{
    size_t size = l->work.size, off = 0;
    while (c->in_len - off >= size) {
        c10k_work_inline(&l->work);
        if (l->work.wait_ns > 0) {
            c->due = c10k_now_ns(CLOCK_MONOTONIC) + l->work.wait_ns;
            c->waiting = 1;
            heap_push(l, fd);
            break;
        }
        if (echo(l, fd, c, c->in + off, size) < 0)
            return -1;
        off += size;
    }
    if (off > 0)
        consume(c, off);
    return 0;
}

/* pump moves a connection as far as it can go without blocking: flush
 * pending echo, handle complete requests, read. Edge-triggered, it reads
 * until EAGAIN, or until its turn's budget (then the ready list). */
static void pump(struct loop *l, int fd)
{
    struct conn *c = &l->conns[fd];
    int reads = 0;
    for (;;) {
        if (c->out != NULL && flush(l, fd, c) != 0)
            return; /* closed, or the client is not reading: EPOLLOUT resumes */
        if (c->waiting)
            return; /* the timer resumes */
        if (l->work.on && c->in_len >= l->work.size) {
            if (handle(l, fd, c) < 0)
                return;
            continue;
        }
        if (c->eof) {
            /* Everything before the FIN is echoed; a partial request
             * goes back as it is. */
            if (c->in_len > 0) {
                if (echo(l, fd, c, c->in, c->in_len) < 0)
                    return;
                consume(c, c->in_len);
                continue;
            }
            conn_close(l, fd);
            return;
        }
        if (reads++ == READS_PER_TURN) {
            if (!c->ready) {
                c->ready = 1;
                l->ready[l->nready++] = fd;
            }
            return;
        }
        ssize_t n = read(fd, l->buf, READ_BUF);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN) {
                c10k_report("read", errno, l->live);
                conn_close(l, fd);
            }
            return;
        }
        if (n == 0)
            c->eof = 1;
        else if (!l->work.on) {
            if (echo(l, fd, c, l->buf, (size_t)n) < 0)
                return;
        } else if (take(l, fd, c, l->buf, (size_t)n) < 0)
            return;
    }
}

/* expire ends the waits that are due: each front request is echoed and
 * its connection moves on. */
static void expire(struct loop *l)
{
    long long now = c10k_now_ns(CLOCK_MONOTONIC);
    while (l->nheap > 0 && l->conns[l->heap[0]].due <= now) {
        int fd = l->heap[0];
        struct conn *c = &l->conns[fd];
        heap_remove(l, fd);
        c->waiting = 0;
        if (echo(l, fd, c, c->in, l->work.size) < 0)
            continue;
        consume(c, l->work.size);
        pump(l, fd);
    }
}

static void accept_all(struct loop *l)
{
    for (;;) {
        int fd = accept4(l->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            if (err == EAGAIN || err == EINTR)
                return;
            c10k_report("accept", err, l->live);
            if (err == ECONNABORTED)
                continue;
            if (err == EBADF || err == EINVAL || err == ENOTSOCK)
                l->accept_broken = 1;
            else /* EMFILE, ENFILE, ENOBUFS, ENOMEM */
                l->accept_resume = c10k_now_ns(CLOCK_MONOTONIC) + ACCEPT_PAUSE_NS;
            return;
        }
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.fd = fd};
        if (grow(l, fd) < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            c10k_report("accept", errno ? errno : ENOMEM, l->live);
            close(fd);
            continue;
        }
        l->conns[fd] = (struct conn){.open = 1, .heap = -1};
        l->live++;
    }
}

/* next_timeout is how long epoll may sleep: until the first wait is due,
 * accepting resumes, or a coalesced report is due; NULL for no limit. */
static struct timespec *next_timeout(struct loop *l, struct timespec *ts)
{
    long long now = c10k_now_ns(CLOCK_MONOTONIC), wait = -1;
    long long dues[3] = {LLONG_MIN, LLONG_MIN, LLONG_MIN}; /* MIN: none */
    if (l->nready > 0)
        dues[0] = 0;
    if (l->nheap > 0)
        dues[1] = l->conns[l->heap[0]].due - now;
    if (l->accept_resume > 0)
        dues[2] = l->accept_resume - now;
    int ms = c10k_flush_reports(0);
    if (ms >= 0)
        wait = ms * 1000000LL;
    for (int i = 0; i < 3; i++) {
        long long d = dues[i];
        if (d == LLONG_MIN)
            continue;
        if (d < 0)
            d = 0; /* overdue */
        if (wait < 0 || d < wait)
            wait = d;
    }
    if (wait < 0)
        return NULL;
    ts->tv_sec = wait / 1000000000LL;
    ts->tv_nsec = wait % 1000000000LL;
    return ts;
}

int main(void)
{
    struct c10k_config cfg;
    c10k_load_config(&cfg);
    struct loop l = {.lfd = -1};
    c10k_load_work(&l.work);

    l.sfd = c10k_signalfd(0);

    /* The tables hold every descriptor the open-files limit allows; calloc
     * maps them untouched, so a slot costs memory once a connection has
     * used it. */
    l.cap = c10k_fd_cap();
    l.conns = calloc((size_t)l.cap, sizeof *l.conns);
    l.heap = calloc((size_t)l.cap, sizeof *l.heap);
    l.ready = calloc((size_t)l.cap, sizeof *l.ready);
    l.buf = malloc(READ_BUF);
    if (!l.conns || !l.heap || !l.ready || !l.buf)
        c10k_fatal("out of memory for %d descriptors", l.cap);

    l.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l.epfd < 0)
        c10k_fatal("epoll_create1: %s", strerror(errno));
    l.lfd = c10k_listen(&cfg);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = l.lfd};
    if (epoll_ctl(l.epfd, EPOLL_CTL_ADD, l.lfd, &ev) < 0)
        c10k_fatal("epoll_ctl listener: %s", strerror(errno));
    ev = (struct epoll_event){.events = EPOLLIN, .data.fd = l.sfd};
    if (epoll_ctl(l.epfd, EPOLL_CTL_ADD, l.sfd, &ev) < 0)
        c10k_fatal("epoll_ctl signalfd: %s", strerror(errno));

    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        struct timespec ts;
        int n = epoll_pwait2(l.epfd, events, MAX_EVENTS, next_timeout(&l, &ts), NULL);
        if (n < 0 && errno != EINTR)
            c10k_fatal("epoll_pwait2: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == l.sfd) {
                if (c10k_terminated(l.sfd)) {
                    /* Exit closes every socket; nothing else to undo. */
                    c10k_flush_reports(1);
                    return 0;
                }
            } else if (fd == l.lfd) {
                if (l.accept_resume == 0 && !l.accept_broken)
                    accept_all(&l);
            } else if (fd < l.cap && l.conns[fd].open) {
                pump(&l, fd);
            }
        }
        /* Connections past their read budget, in the order they ran out. */
        int nready = l.nready;
        for (int i = 0; i < nready; i++) {
            int fd = l.ready[i];
            l.conns[fd].ready = 0;
            if (l.conns[fd].open)
                pump(&l, fd);
        }
        memmove(l.ready, l.ready + nready, (size_t)(l.nready - nready) * sizeof *l.ready);
        l.nready -= nready;
        expire(&l);
        if (l.accept_resume > 0 && c10k_now_ns(CLOCK_MONOTONIC) >= l.accept_resume) {
            /* Edge-triggered: what queued during the pause raised no new
             * event, so accept now. */
            l.accept_resume = 0;
            accept_all(&l);
        }
    }
}
