/*
 * c-uring: an echo server on io_uring (liburing), one thread, one ring.
 *
 * - Accept is one multishot request: a completion per new connection.
 * - Receive is one multishot request per connection that takes its buffer
 *   from a provided-buffer ring only when data arrives, so an idle
 *   connection holds no buffer at all: the model's memory is the pool of
 *   C10K_URING_BUFS buffers, not a buffer per connection.
 * - The echo is a send request straight from the received buffer (no
 *   copy); the buffer goes back to the ring when the send completes. One
 *   send per connection is in flight at a time, so a partial send is
 *   finished before the next chunk and echo order holds.
 * - SIGTERM is a poll request on a signalfd.
 *
 * The contract (models/README.md) comes from models/_c/c10k.h, the work
 * per request from models/_c/work.h: cpu= and block= run on the ring's
 * thread; wait= is an IORING_OP_TIMEOUT per waiting connection while the
 * ring serves the others.
 *
 * A connection is closed by shutdown(2) first, and its descriptor only
 * once no request of its own is left in the kernel, so a completion can
 * never be taken for a newer connection on the same descriptor.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define C10K_MODEL "c-uring"
#include "c10k.h"
#include "work.h"

#define SQ_ENTRIES 4096
#define CQ_ENTRIES 16384
#define BUF_GROUP 1
#define DEFAULT_BUFS 1024
#define DEFAULT_BUF_SIZE 4096
/* After accept fails for want of a resource (EMFILE...), it is re-armed
 * this much later; the connections wait in the listen queue. */
#define ACCEPT_PAUSE_NS (100 * 1000000LL)
/* Ring buffers one connection may hold with its echo unsent; past this its
 * receive is cancelled until the client reads, as a reactor stops reading:
 * a client that sends and never reads must not drain the shared pool. */
#define MAX_HELD 8

/* What a completion is for: the operation in the top byte of user_data,
 * the descriptor below. */
enum op { OP_ACCEPT = 1, OP_RECV, OP_SEND, OP_TIMER, OP_SIGNAL, OP_CANCEL };

static uint64_t tag(enum op op, int fd) { return (uint64_t)op << 56 | (uint32_t)fd; }

/* One piece of echo waiting to be sent: a ring buffer (bid >= 0) or, with
 * work, a request copied out (bid -1, the bytes follow the header). */
struct chunk {
    struct chunk *next;
    char *p;
    uint32_t len, off;
    int bid;
};

struct conn {
    struct chunk *head, *tail; /* echo to send, in order */
    char *in;                  /* with work: bytes received, not handled */
    size_t in_len, in_cap;
    struct __kernel_timespec ts; /* with wait=: the timeout's length */
    int next_starved;          /* the starved list, -1 at its end */
    uint16_t held;             /* ring buffers in its send queue */
    uint8_t open, closing, eof, recv_armed, sending, waiting, starved, paused;
};

struct server {
    struct io_uring ring;
    int lfd, sfd;
    struct conn *conns; /* indexed by descriptor */
    int cap;
    long live;
    struct io_uring_buf_ring *br;
    char *bufs;         /* nbufs buffers of buf_size bytes */
    struct chunk *pool; /* one chunk per ring buffer */
    int nbufs, buf_size, nfree;
    int starved;        /* connections whose receive ran out of buffers */
    long long accept_resume; /* 0: accept armed or broken */
    int accept_broken;
    struct c10k_work work;
};

static struct io_uring_sqe *sqe_get(struct server *s)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
    while (sqe == NULL) { /* the submission queue is full: hand it over */
        io_uring_submit(&s->ring);
        sqe = io_uring_get_sqe(&s->ring);
    }
    return sqe;
}

static void arm_accept(struct server *s)
{
    struct io_uring_sqe *sqe = sqe_get(s);
    io_uring_prep_multishot_accept(sqe, s->lfd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, tag(OP_ACCEPT, s->lfd));
}

static void arm_recv(struct server *s, int fd)
{
    struct io_uring_sqe *sqe = sqe_get(s);
    io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BUF_GROUP;
    io_uring_sqe_set_data64(sqe, tag(OP_RECV, fd));
    s->conns[fd].recv_armed = 1;
}

static void arm_signal(struct server *s)
{
    struct io_uring_sqe *sqe = sqe_get(s);
    io_uring_prep_poll_add(sqe, s->sfd, POLLIN);
    io_uring_sqe_set_data64(sqe, tag(OP_SIGNAL, s->sfd));
}

/* give_back returns a buffer to the ring, and lets a starved connection
 * receive again. */
static void give_back(struct server *s, int bid)
{
    io_uring_buf_ring_add(s->br, s->bufs + (size_t)bid * s->buf_size, (unsigned)s->buf_size, (unsigned short)bid,
                          io_uring_buf_ring_mask((unsigned)s->nbufs), 0);
    io_uring_buf_ring_advance(s->br, 1);
    s->nfree++;
    /* One connection re-armed per buffer returned: re-arming them all at
     * once would only run the ring dry again. */
    while (s->starved >= 0) {
        int fd = s->starved;
        struct conn *c = &s->conns[fd];
        s->starved = c->next_starved;
        c->starved = 0;
        c->next_starved = -1;
        if (c->open && !c->closing && !c->recv_armed && !c->paused) {
            arm_recv(s, fd);
            break;
        }
    }
}

/* reset empties a descriptor's slot; one still on the starved list stays
 * linked (give_back skips it). */
static void reset(struct conn *c)
{
    int starved = c->starved, next = c->next_starved;
    memset(c, 0, sizeof *c);
    c->starved = (uint8_t)starved;
    c->next_starved = starved ? next : -1;
}

static void chunk_free(struct server *s, struct conn *c, struct chunk *k)
{
    if (k->bid >= 0) {
        c->held--;
        give_back(s, k->bid);
    }
    else
        free(k);
}

/* finish closes a closing connection's descriptor once none of its
 * requests is left in the kernel. */
static void finish(struct server *s, int fd)
{
    struct conn *c = &s->conns[fd];
    if (!c->closing || c->recv_armed || c->sending || c->waiting)
        return;
    while (c->head) {
        struct chunk *k = c->head;
        c->head = k->next;
        chunk_free(s, c, k);
    }
    free(c->in);
    reset(c);
    close(fd);
    s->live--;
}

/* conn_close ends a connection: shutdown wakes its receive and fails its
 * send, whose completions let finish close the descriptor. */
static void conn_close(struct server *s, int fd)
{
    struct conn *c = &s->conns[fd];
    if (c->closing)
        return;
    c->closing = 1;
    shutdown(fd, SHUT_RDWR);
    finish(s, fd);
}

static void start_send(struct server *s, int fd)
{
    struct conn *c = &s->conns[fd];
    if (c->sending || c->closing || c->head == NULL)
        return;
    struct chunk *k = c->head;
    struct io_uring_sqe *sqe = sqe_get(s);
    io_uring_prep_send(sqe, fd, k->p + k->off, k->len - k->off, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, tag(OP_SEND, fd));
    c->sending = 1;
}

static int enqueue(struct conn *c, struct chunk *k)
{
    k->next = NULL;
    if (c->tail)
        c->tail->next = k;
    else
        c->head = k;
    c->tail = k;
    return 0;
}

/* copy_out queues a copy of n bytes (a request, or the partial one at EOF). */
static int copy_out(struct server *s, int fd, const char *p, size_t n)
{
    struct chunk *k = malloc(sizeof *k + n);
    if (k == NULL) {
        c10k_report("write", ENOMEM, s->live);
        conn_close(s, fd);
        return -1;
    }
    k->p = (char *)(k + 1);
    memcpy(k->p, p, n);
    k->len = (uint32_t)n;
    k->off = 0;
    k->bid = -1;
    return enqueue(&s->conns[fd], k);
}

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

/* progress moves a connection on: with work, handles complete requests
 * (stopping at a wait); sends; at EOF, once everything is echoed, closes. */
static void progress(struct server *s, int fd)
{
    struct conn *c = &s->conns[fd];
    if (c->closing)
        return;
    size_t size = s->work.size, off = 0;
    while (s->work.on && !c->waiting && c->in_len - off >= size) {
        c10k_work_inline(&s->work);
        if (s->work.wait_ns > 0) {
            c->ts.tv_sec = s->work.wait_ns / 1000000000LL;
            c->ts.tv_nsec = s->work.wait_ns % 1000000000LL;
            struct io_uring_sqe *sqe = sqe_get(s);
            io_uring_prep_timeout(sqe, &c->ts, 0, 0);
            io_uring_sqe_set_data64(sqe, tag(OP_TIMER, fd));
            c->waiting = 1;
            break;
        }
        if (copy_out(s, fd, c->in + off, size) < 0)
            return;
        off += size;
    }
    if (off > 0)
        consume(c, off);
    if (c->eof && !c->waiting && c->in_len > 0) { /* a partial request, echoed as it is */
        if (copy_out(s, fd, c->in, c->in_len) < 0)
            return;
        consume(c, c->in_len);
    }
    start_send(s, fd);
    if (c->eof && !c->waiting && !c->sending && c->head == NULL)
        conn_close(s, fd);
}

/* grow makes the table hold descriptor fd. */
static int grow(struct server *s, int fd)
{
    if (fd < s->cap)
        return 0;
    int cap = s->cap;
    while (cap <= fd)
        cap *= 2;
    struct conn *c = realloc(s->conns, (size_t)cap * sizeof *c);
    if (c == NULL)
        return -1;
    memset(c + s->cap, 0, (size_t)(cap - s->cap) * sizeof *c);
    s->conns = c;
    s->cap = cap;
    return 0;
}

static void on_accept(struct server *s, struct io_uring_cqe *cqe)
{
    int fd = cqe->res;
    if (!(cqe->flags & IORING_CQE_F_MORE) && !s->accept_broken) {
        /* The multishot ended (after an error, or by the kernel's choice):
         * re-arm now, or after a pause when a resource ran out. */
        if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM)
            s->accept_resume = c10k_now_ns(CLOCK_MONOTONIC) + ACCEPT_PAUSE_NS;
        else if (fd == -EBADF || fd == -EINVAL || fd == -ENOTSOCK)
            s->accept_broken = 1;
        else
            arm_accept(s);
    }
    if (fd < 0) {
        if (fd != -EAGAIN && fd != -EINTR)
            c10k_report("accept", -fd, s->live);
        return;
    }
    if (grow(s, fd) < 0) {
        c10k_report("accept", ENOMEM, s->live);
        close(fd);
        return;
    }
    struct conn *c = &s->conns[fd];
    reset(c);
    c->open = 1;
    s->live++;
    arm_recv(s, fd);
}

static void on_recv(struct server *s, struct io_uring_cqe *cqe, int fd)
{
    struct conn *c = &s->conns[fd];
    int more = cqe->flags & IORING_CQE_F_MORE;
    if (!more)
        c->recv_armed = 0;
    if (cqe->flags & IORING_CQE_F_BUFFER) {
        int bid = (int)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        s->nfree--;
        if (cqe->res <= 0 || c->closing) {
            give_back(s, bid);
        } else if (s->work.on) {
            /* Requests are cut from a copy, so the buffer goes back now. */
            size_t n = (size_t)cqe->res;
            if (c->in_len + n > c->in_cap) {
                size_t cap = c->in_len + n < 2 * c->in_cap ? 2 * c->in_cap : c->in_len + n;
                char *in = realloc(c->in, cap);
                if (in == NULL) {
                    give_back(s, bid);
                    c10k_report("read", ENOMEM, s->live);
                    conn_close(s, fd);
                    return;
                }
                c->in = in;
                c->in_cap = cap;
            }
            memcpy(c->in + c->in_len, s->bufs + (size_t)bid * s->buf_size, n);
            c->in_len += n;
            give_back(s, bid);
        } else {
            struct chunk *k = &s->pool[bid];
            k->p = s->bufs + (size_t)bid * s->buf_size;
            k->len = (uint32_t)cqe->res;
            k->off = 0;
            k->bid = bid;
            enqueue(c, k);
            if (++c->held >= MAX_HELD && c->recv_armed && !c->paused) {
                struct io_uring_sqe *sqe = sqe_get(s);
                io_uring_prep_cancel64(sqe, tag(OP_RECV, fd), 0);
                io_uring_sqe_set_data64(sqe, tag(OP_CANCEL, fd));
                c->paused = 1;
            }
        }
    }
    if (c->closing) {
        finish(s, fd);
        return;
    }
    if (cqe->res == 0) {
        c->eof = 1;
    } else if (cqe->res == -ECANCELED) {
        /* Paused: on_send re-arms once the client has read, or here when
         * it read before the cancel landed. */
        if (!c->paused && !more)
            arm_recv(s, fd);
    } else if (cqe->res == -ENOBUFS) {
        /* The ring ran dry: wait for a buffer to come back, then re-arm. */
        if (!c->starved && !more) {
            c->starved = 1;
            c->next_starved = s->starved;
            s->starved = fd;
        }
    } else if (cqe->res < 0) {
        c10k_report("read", -cqe->res, s->live);
        conn_close(s, fd);
        return;
    } else if (!more) {
        arm_recv(s, fd); /* the multishot ended by the kernel's choice */
    }
    progress(s, fd);
}

static void on_send(struct server *s, struct io_uring_cqe *cqe, int fd)
{
    struct conn *c = &s->conns[fd];
    c->sending = 0;
    if (cqe->res < 0) {
        if (!c->closing)
            c10k_report("write", -cqe->res, s->live);
        conn_close(s, fd);
        finish(s, fd);
        return;
    }
    struct chunk *k = c->head;
    k->off += (uint32_t)cqe->res; /* a partial send goes on from here */
    if (k->off == k->len) {
        c->head = k->next;
        if (c->head == NULL)
            c->tail = NULL;
        chunk_free(s, c, k);
    }
    if (c->closing) {
        finish(s, fd);
        return;
    }
    if (c->paused && c->held < MAX_HELD / 2) {
        c->paused = 0;
        if (!c->recv_armed && !c->eof)
            arm_recv(s, fd);
    }
    progress(s, fd);
}

static void on_timer(struct server *s, int fd)
{
    struct conn *c = &s->conns[fd];
    c->waiting = 0;
    if (c->closing) {
        finish(s, fd);
        return;
    }
    /* The front request's wait is over: echo it, go on with the rest. */
    if (copy_out(s, fd, c->in, s->work.size) < 0)
        return;
    consume(c, s->work.size);
    progress(s, fd);
}

static void setup_buffers(struct server *s)
{
    s->nbufs = c10k_int_env("C10K_URING_BUFS", DEFAULT_BUFS);
    s->buf_size = c10k_int_env("C10K_URING_BUF_SIZE", DEFAULT_BUF_SIZE);
    if (s->nbufs < 1 || s->nbufs > 32768 || (s->nbufs & (s->nbufs - 1)) != 0)
        c10k_fatal("C10K_URING_BUFS=%d: want a power of two from 1 to 32768", s->nbufs);
    if (s->buf_size < 16)
        c10k_fatal("C10K_URING_BUF_SIZE=%d: want at least 16 bytes", s->buf_size);
    size_t ring_bytes = (size_t)s->nbufs * sizeof(struct io_uring_buf);
    s->br = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    /* The buffers are mapped untouched: a page costs memory once data
     * has passed through it. */
    s->bufs = mmap(NULL, (size_t)s->nbufs * s->buf_size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    s->pool = calloc((size_t)s->nbufs, sizeof *s->pool);
    if (s->br == MAP_FAILED || s->bufs == MAP_FAILED || s->pool == NULL)
        c10k_fatal("no memory for %d buffers of %d bytes", s->nbufs, s->buf_size);
    io_uring_buf_ring_init(s->br);
    struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)s->br,
                                   .ring_entries = (uint32_t)s->nbufs, .bgid = BUF_GROUP};
    int err = io_uring_register_buf_ring(&s->ring, &reg, 0);
    if (err < 0)
        c10k_fatal("io_uring_register_buf_ring: %s", strerror(-err));
    for (int i = 0; i < s->nbufs; i++)
        io_uring_buf_ring_add(s->br, s->bufs + (size_t)i * s->buf_size, (unsigned)s->buf_size, (unsigned short)i,
                              io_uring_buf_ring_mask((unsigned)s->nbufs), i);
    io_uring_buf_ring_advance(s->br, s->nbufs);
    s->nfree = s->nbufs;
}

static void setup_ring(struct server *s)
{
    struct io_uring_params p = {.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
                                .cq_entries = CQ_ENTRIES};
    int err = io_uring_queue_init_params(SQ_ENTRIES, &s->ring, &p);
    if (err == -EINVAL) { /* an older kernel: no deferred task work */
        p = (struct io_uring_params){.flags = IORING_SETUP_CQSIZE, .cq_entries = CQ_ENTRIES};
        err = io_uring_queue_init_params(SQ_ENTRIES, &s->ring, &p);
    }
    if (err < 0)
        c10k_fatal("io_uring_queue_init: %s", strerror(-err));
}

int main(void)
{
    struct c10k_config cfg;
    c10k_load_config(&cfg);
    struct server s = {.starved = -1};
    c10k_load_work(&s.work);

    s.sfd = c10k_signalfd(0);

    s.cap = c10k_fd_cap();
    s.conns = calloc((size_t)s.cap, sizeof *s.conns);
    if (s.conns == NULL)
        c10k_fatal("out of memory for %d descriptors", s.cap);

    setup_ring(&s);
    setup_buffers(&s);
    s.lfd = c10k_listen(&cfg);
    arm_accept(&s);
    arm_signal(&s);

    for (;;) {
        /* Wake for a completion, or when a coalesced report or the
         * accept pause is due. */
        long long now = c10k_now_ns(CLOCK_MONOTONIC), wait = -1;
        int ms = c10k_flush_reports(0);
        if (ms >= 0)
            wait = ms * 1000000LL;
        if (s.accept_resume > 0) {
            long long d = s.accept_resume - now;
            if (d <= 0) {
                s.accept_resume = 0;
                arm_accept(&s);
            } else if (wait < 0 || d < wait) {
                wait = d;
            }
        }
        struct __kernel_timespec ts = {.tv_sec = wait / 1000000000LL, .tv_nsec = wait % 1000000000LL};
        struct io_uring_cqe *cqe;
        int err = io_uring_submit_and_wait_timeout(&s.ring, &cqe, 1, wait >= 0 ? &ts : NULL, NULL);
        if (err < 0 && err != -ETIME && err != -EINTR && err != -EBUSY)
            c10k_fatal("io_uring_submit_and_wait: %s", strerror(-err));
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&s.ring, head, cqe)
        {
            seen++;
            uint64_t data = io_uring_cqe_get_data64(cqe);
            int fd = (int)(uint32_t)data;
            switch ((enum op)(data >> 56)) {
            case OP_ACCEPT:
                on_accept(&s, cqe);
                break;
            case OP_RECV:
                on_recv(&s, cqe, fd);
                break;
            case OP_SEND:
                on_send(&s, cqe, fd);
                break;
            case OP_TIMER:
                on_timer(&s, fd);
                break;
            case OP_CANCEL:
                break;
            case OP_SIGNAL:
                if (c10k_terminated(s.sfd)) {
                    /* The ring is torn down after the exit, in the
                     * background, and its requests keep their sockets
                     * until then: shut the listener (the port is free at
                     * once) and every connection (clients see the end
                     * now) first. */
                    shutdown(s.lfd, SHUT_RDWR);
                    for (int i = 0; i < s.cap; i++)
                        if (s.conns[i].open)
                            shutdown(i, SHUT_RDWR);
                    c10k_flush_reports(1);
                    return 0;
                }
                arm_signal(&s);
                break;
            }
        }
        io_uring_cq_advance(&s.ring, seen);
    }
}
