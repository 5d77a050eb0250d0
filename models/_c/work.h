/*
 * work.h: the work per request (C10K_WORK, C10K_SIZE; models/README.md,
 * contract/work.go) for the C models, written once: parsing, the CPU burn
 * on the thread's CPU clock, the blocking sleep, and the blocking echo
 * loop that the thread- and process-per-connection models share.
 *
 * With C10K_WORK set, a connection's byte stream is cut into requests of
 * exactly C10K_SIZE bytes; before echoing one a model burns cpu= of its
 * handling thread's CPU time, then sleeps block= (blocking the thread,
 * even in a reactor), then waits wait= in its own non-blocking idiom.
 * Header only, after c10k.h.
 */
#ifndef C10K_WORK_H
#define C10K_WORK_H

#include <sys/socket.h>
#include <time.h>

struct c10k_work {
    int on;            /* 0: no work, a pure echo */
    long long cpu_ns;  /* 0: none */
    long long block_ns;
    long long wait_ns;
    size_t size;       /* bytes per request; set only when on */
};

/* c10k_unit_ns gives the nanoseconds of a unit C10K_WORK allows (Go's
 * time.ParseDuration units less m and h, as contract.ParseWork), or 0. */
static long long c10k_unit_ns(const char *u, size_t n)
{
    static const struct {
        const char *name;
        long long ns;
    } units[] = {
        {"ns", 1}, {"us", 1000}, {"\xc2\xb5s", 1000} /* U+00B5 */, {"\xce\xbcs", 1000} /* U+03BC */,
        {"ms", 1000000}, {"s", 1000000000},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strlen(units[i].name) == n && memcmp(units[i].name, u, n) == 0)
            return units[i].ns;
    return 0;
}

/* c10k_parse_duration reads Go duration syntax limited to those units
 * ("200us", "1.5ms", "1s500ms", "+2ms") into *ns. It returns NULL, or why
 * s is not one, as contract.ParseWork words it. */
static const char *c10k_parse_duration(const char *s, long long *ns, char *why, size_t whysize)
{
    int neg = 0;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    if (strcmp(s, "0") == 0) { /* Go's one unitless duration */
        *ns = 0;
        return "duration must be > 0";
    }
    if (*s == 0)
        return "not a duration (e.g. 200us, 1.5ms, 50ms)";
    long double total = 0;
    while (*s) {
        const char *start = s;
        long double whole = 0, frac = 0, scale = 1;
        while (*s >= '0' && *s <= '9')
            whole = whole * 10 + (*s++ - '0');
        int digits = s > start;
        if (*s == '.') {
            s++;
            const char *f = s;
            while (*s >= '0' && *s <= '9') {
                scale /= 10;
                frac += (*s++ - '0') * scale;
            }
            digits |= s > f;
        }
        if (!digits)
            return "not a duration (e.g. 200us, 1.5ms, 50ms)";
        const char *u = s;
        while (*s && *s != '.' && (*s < '0' || *s > '9'))
            s++;
        if (s == u)
            return "not a duration (e.g. 200us, 1.5ms, 50ms)";
        long long unit = c10k_unit_ns(u, (size_t)(s - u));
        if (unit == 0) {
            snprintf(why, whysize, "unit \"%.*s\" (want ns, us, ms or s)", (int)(s - u), u);
            return why;
        }
        total += (whole + frac) * unit;
    }
    if (total > 9.2e18L)
        return "not a duration (e.g. 200us, 1.5ms, 50ms)";
    *ns = (long long)total;
    if (neg || *ns <= 0)
        return "duration must be > 0";
    return NULL;
}

/* c10k_load_work reads C10K_WORK and C10K_SIZE (only when there is work)
 * into w; a malformed value ends the model with one line naming the
 * variable and the bad part, and status 2. */
static void c10k_load_work(struct c10k_work *w)
{
    memset(w, 0, sizeof *w);
    char v[256];
    if (c10k_trimmed("C10K_WORK", v, sizeof v) == NULL)
        return;
    char items[256];
    memcpy(items, v, sizeof items);
    int seen[3] = {0, 0, 0};
    char *item = items;
    for (;;) {
        char *comma = strchr(item, ',');
        if (comma != NULL)
            *comma = 0;
        /* Each item trimmed of blanks, as contract.ParseWork does. */
        while (*item == ' ' || *item == '\t')
            item++;
        size_t n = strlen(item);
        while (n > 0 && (item[n - 1] == ' ' || item[n - 1] == '\t'))
            item[--n] = 0;
        char *eq = strchr(item, '=');
        if (eq == NULL)
            c10k_fatal("C10K_WORK=\"%s\": \"%s\": want kind=duration", v, item);
        *eq = 0;
        static const char *kinds[] = {"cpu", "block", "wait"};
        long long *slots[] = {&w->cpu_ns, &w->block_ns, &w->wait_ns};
        int k = -1;
        for (int i = 0; i < 3; i++)
            if (strcmp(item, kinds[i]) == 0)
                k = i;
        if (k < 0)
            c10k_fatal("C10K_WORK=\"%s\": \"%s\": unknown kind (want cpu, wait or block)", v, item);
        if (seen[k]++)
            c10k_fatal("C10K_WORK=\"%s\": \"%s\": kind given twice", v, item);
        char why[96];
        const char *bad = c10k_parse_duration(eq + 1, slots[k], why, sizeof why);
        if (bad != NULL)
            c10k_fatal("C10K_WORK=\"%s\": \"%s=%s\": %s", v, item, eq + 1, bad);
        if (comma == NULL)
            break;
        item = comma + 1;
    }
    int size = c10k_int_env("C10K_SIZE", 16);
    if (size < 1)
        c10k_fatal("C10K_SIZE=%d: want a positive number of bytes", size);
    w->size = (size_t)size;
    w->on = 1;
}

/* c10k_burn_cpu spins until the calling thread has used ns more of CPU
 * time, read from its own CPU clock: what the request costs is CPU the
 * thread really spent, however often it is preempted, with no calibration
 * loop to go stale. */
static void c10k_burn_cpu(long long ns)
{
    long long end = c10k_now_ns(CLOCK_THREAD_CPUTIME_ID) + ns;
    while (c10k_now_ns(CLOCK_THREAD_CPUTIME_ID) < end)
        ;
}

/* c10k_sleep sleeps ns, blocking the calling thread, through EINTR. */
static void c10k_sleep(long long ns)
{
    struct timespec ts = {.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* c10k_work_inline does what every model does on the handling thread
 * itself: the cpu burn, then the blocking sleep. wait= is the model's own. */
static void c10k_work_inline(const struct c10k_work *w)
{
    if (w->cpu_ns > 0)
        c10k_burn_cpu(w->cpu_ns);
    if (w->block_ns > 0)
        c10k_sleep(w->block_ns);
}

/* c10k_send_all sends all of p on a blocking socket; 0 or the errno.
 * MSG_NOSIGNAL: a reset peer is an error here, not SIGPIPE. */
static int c10k_send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* What ended a blocking echo. */
enum c10k_end { C10K_EOF, C10K_READ_ERR, C10K_WRITE_ERR };

/* c10k_echo_blocking echoes a blocking socket until EOF or an error, in
 * buf (cap bytes; a request larger than that gets a buffer of its own).
 * With work, each complete request gets its work, and for a thread or
 * process of its own wait= is simply that thread's sleep; at EOF a partial
 * request is echoed as it is. *err is the errno of an error. */
static inline enum c10k_end c10k_echo_blocking(int fd, const struct c10k_work *w, char *buf, size_t cap, int *err)
{
    *err = 0;
    char *big = NULL;
    if (w->on && w->size > cap) {
        big = malloc(w->size);
        if (big == NULL) {
            *err = ENOMEM;
            return C10K_READ_ERR;
        }
        buf = big;
        cap = w->size;
    }
    enum c10k_end end = C10K_EOF;
    size_t have = 0; /* bytes of an incomplete request at buf's start */
    for (;;) {
        ssize_t n = read(fd, buf + have, cap - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *err = errno;
            end = C10K_READ_ERR;
            break;
        }
        if (n == 0) { /* EOF: echo what is left, unworked */
            if ((*err = c10k_send_all(fd, buf, have)) != 0)
                end = C10K_WRITE_ERR;
            break;
        }
        if (!w->on) {
            if ((*err = c10k_send_all(fd, buf, (size_t)n)) != 0) {
                end = C10K_WRITE_ERR;
                break;
            }
            continue;
        }
        have += (size_t)n;
        size_t off = 0;
        for (; have - off >= w->size; off += w->size) {
            c10k_work_inline(w);
            if (w->wait_ns > 0)
                c10k_sleep(w->wait_ns);
            if ((*err = c10k_send_all(fd, buf + off, w->size)) != 0)
                break;
        }
        if (*err != 0) {
            end = C10K_WRITE_ERR;
            break;
        }
        memmove(buf, buf + off, have - off);
        have -= off;
    }
    free(big);
    return end;
}

#endif /* C10K_WORK_H */
