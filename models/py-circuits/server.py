"""py-circuits: circuits' TCPServer, one event-driven component manager in
one thread: the poller (epoll) turns readable sockets into `read` events,
and the echo handler's return value is written back as a `write` event.

With C10K_WORK set, each C10K_SIZE-byte request is worked on before its
echo, one request of a connection after another: cpu= and block= in the
manager's thread (block= stalls every component, on purpose), wait= as a
circuits Timer that fires an `echo_later` event, whose handler fires the
`write` and starts the connection's next request."""

import collections
import os
import sys

from circuits import Component, Event, Timer, handler
from circuits.net.events import write
from circuits.net.sockets import TCPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "_pykit"))
import c10k  # noqa: E402

MODEL = "py-circuits"


class echo_later(Event):  # noqa: N801 (circuits names a handler by its event's class name)
    """A request's wait is over: echo it (args: the socket)."""


class Echo(Component):
    def init(self, rep, work=None):
        self.rep = rep
        self.live = 0
        self.work = work
        # With work: per connection, its framer and its queue of requests
        # (the head is the one being worked on).
        self.framers = {}
        self.queues = {}

    def connect(self, sock, *peer):
        self.live += 1
        if self.work is not None:
            self.framers[sock] = c10k.Framer(self.work.size)
            self.queues[sock] = collections.deque()

    def disconnect(self, sock):
        self.live -= 1
        self.framers.pop(sock, None)
        self.queues.pop(sock, None)

    def read(self, sock, data):
        if self.work is None:
            return data  # circuits writes a read handler's return value back
        queue = self.queues.get(sock)
        if queue is None:
            return None
        idle = not queue
        queue.extend(self.framers[sock].feed(data))
        if idle and queue:
            self.start(sock)
        return None

    def start(self, sock):
        """Works on the connection's request at the head of its queue."""
        self.work.before_wait()
        if self.work.wait_ns:
            Timer(self.work.wait, echo_later(sock)).register(self)
        else:
            self.echo_later(sock)

    @handler("echo_later")
    def echo_later(self, sock):
        queue = self.queues.get(sock)
        if not queue:
            return  # the connection closed during the wait
        self.fire(write(sock, queue.popleft()), self.server_channel)
        if queue:
            self.start(sock)

    def error(self, *args):
        # circuits fires `error` for socket errors; keep the errno if any.
        err = next((a for a in args if isinstance(a, OSError)), None)
        if err is not None:
            self.rep.report(c10k.KIND_READ, err, self.live)

    @handler("started")
    def _started(self, manager):
        # Manager.run installs a SIGTERM handler that only fires an event;
        # the contract wants a prompt exit.
        c10k.exit_on_sigterm(self.rep)


def serve():
    cfg = c10k.load_config()
    work = c10k.load_work()
    rep = c10k.Reporter(MODEL, cfg.instance)
    app = Echo(rep, work)
    server = TCPServer(c10k.listen(cfg, blocking=False), backlog=cfg.backlog).register(app)
    app.server_channel = server.channel
    # circuits returns silently on EMFILE and friends; report them on the way.
    server._sock = c10k.AcceptReporting(server._sock, rep, lambda: app.live)
    app.run()


if __name__ == "__main__":
    c10k.main(serve)
