"""py-eventlet: eventlet.listen and one green thread per connection doing
blocking-style recv/sendall on eventlet's green sockets; green threads
switch in eventlet's hub (epoll) in one OS thread. No monkey-patching.

With C10K_WORK set, each C10K_SIZE-byte request is worked on in its
connection's green thread before its echo: cpu= burns, block= calls the
real time.sleep (stalling the hub), wait= is eventlet.sleep."""

import errno
import os
import signal
import sys

import eventlet

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "_pykit"))
import c10k  # noqa: E402

MODEL = "py-eventlet"
# Back-off after a failing accept() (EMFILE...), doubling up to a second as
# the Go models do: retrying at once would spin on the readable listener.
ACCEPT_BACKOFF_MAX = 1.0


class Server:
    def __init__(self, rep, work=None):
        self.rep = rep
        self.live = 0
        self.work = work
        self.pool = eventlet.GreenPool(size=1 << 30)  # no cap: one green thread per connection

    def echo(self, conn):
        self.live += 1
        kind = c10k.KIND_READ
        try:
            while data := conn.recv(65536):
                kind = c10k.KIND_WRITE
                conn.sendall(data)
                kind = c10k.KIND_READ
        except OSError as e:
            self.rep.report(kind, e, self.live)
        finally:
            self.live -= 1
            conn.close()

    def work_echo(self, conn):
        """echo with the work per request (C10K_WORK), requests of the
        connection one after another in its green thread."""
        self.live += 1
        try:
            c10k.echo_requests(conn, self.work, eventlet.sleep)
        except OSError as e:
            self.rep.report(e.c10k_kind, e, self.live)
        finally:
            self.live -= 1
            conn.close()

    def serve(self, listener):
        backoff = 0.0
        while True:
            try:
                conn, _ = listener.accept()
            except OSError as e:
                if e.errno in (errno.ECONNABORTED, errno.EINTR):
                    continue
                self.rep.report(c10k.KIND_ACCEPT, e, self.live)
                backoff = min(max(2 * backoff, 0.005), ACCEPT_BACKOFF_MAX)
                eventlet.sleep(backoff)
                continue
            backoff = 0.0
            self.pool.spawn_n(self.echo if self.work is None else self.work_echo, conn)


def serve():
    cfg = c10k.load_config()
    work = c10k.load_work()
    rep = c10k.Reporter(MODEL, cfg.instance)
    listener = eventlet.listen((cfg.host, cfg.port), family=cfg.family, backlog=cfg.backlog,
                               reuse_addr=True, reuse_port=cfg.reuseport)
    c10k.exit_on_sigterm(rep)
    Server(rep, work).serve(listener)


if __name__ == "__main__":
    c10k.main(serve)
