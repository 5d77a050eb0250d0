"""py-gevent: gevent.server.StreamServer, one greenlet per connection doing
blocking-style recv/sendall on gevent's cooperative sockets; greenlets
switch on libev's event loop (epoll) in one OS thread. No monkey-patching:
the server uses gevent's own socket API."""

import os
import signal
import sys

import gevent
import gevent.socket
from gevent.server import StreamServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "_pykit"))
import c10k  # noqa: E402

MODEL = "py-gevent"


class Server(StreamServer):
    def __init__(self, sock, rep):
        super().__init__(sock, self.echo)
        self.rep = rep
        self.live = 0

    def do_read(self):
        # StreamServer logs accept() errors (EMFILE...) and pauses accepting
        # for max_delay; report them on the way.
        try:
            return super().do_read()
        except OSError as e:
            self.rep.report(c10k.KIND_ACCEPT, e, self.live)
            raise

    def echo(self, conn, addr):
        self.live += 1
        kind = c10k.KIND_READ
        try:
            while data := conn.recv(65536):
                kind = c10k.KIND_WRITE
                conn.sendall(data)
                kind = c10k.KIND_READ
            # EOF (half-close): everything read was written; close sends our FIN
        except OSError as e:
            self.rep.report(kind, e, self.live)
        finally:
            self.live -= 1
            conn.close()


def serve():
    cfg = c10k.load_config()
    rep = c10k.Reporter(MODEL, cfg.instance)
    # A gevent socket: a stdlib one would block the whole loop in accept().
    listener = gevent.socket.socket(fileno=c10k.listen(cfg, blocking=False).detach())
    srv = Server(listener, rep)
    gevent.signal_handler(signal.SIGTERM, c10k.terminate, rep)
    srv.serve_forever()


if __name__ == "__main__":
    c10k.main(serve)
