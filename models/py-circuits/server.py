"""py-circuits: circuits' TCPServer, one event-driven component manager in
one thread: the poller (epoll) turns readable sockets into `read` events,
and the echo handler's return value is written back as a `write` event."""

import os
import sys

from circuits import Component, handler
from circuits.net.sockets import TCPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "_pykit"))
import c10k  # noqa: E402

MODEL = "py-circuits"


class Echo(Component):
    def init(self, rep):
        self.rep = rep
        self.live = 0

    def connect(self, sock, *peer):
        self.live += 1

    def disconnect(self, sock):
        self.live -= 1

    def read(self, sock, data):
        return data  # circuits writes a read handler's return value back

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
    rep = c10k.Reporter(MODEL, cfg.instance)
    app = Echo(rep)
    server = TCPServer(c10k.listen(cfg, blocking=False), backlog=cfg.backlog).register(app)
    # circuits returns silently on EMFILE and friends; report them on the way.
    server._sock = c10k.AcceptReporting(server._sock, rep, lambda: app.live)
    app.run()


if __name__ == "__main__":
    c10k.main(serve)
