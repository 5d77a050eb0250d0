"""py-gevent: gevent.server.StreamServer, one greenlet per connection doing
blocking-style recv/sendall on gevent's cooperative sockets; greenlets
switch on libev's event loop (epoll) in one OS thread. No monkey-patching:
the server uses gevent's own socket API.

With C10K_WORK set, each C10K_SIZE-byte request is worked on in its
connection's greenlet before its echo: cpu= burns, block= calls
time.sleep, wait= is gevent.sleep. Unpatched (the default) time.sleep is
the real one and stalls the hub with every greenlet on it;
C10K_PRESET=patched monkey-patches time, so block= becomes gevent's
cooperative sleep (README.md)."""

import os
import signal
import sys

import gevent
import gevent.socket
from gevent.server import StreamServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "_pykit"))
import c10k  # noqa: E402

MODEL = "py-gevent"
# C10K_PRESET=patched: gevent.monkey.patch_time(), nothing else patched.
PRESET_PATCHED = "patched"


class Server(StreamServer):
    def __init__(self, sock, rep, work=None):
        super().__init__(sock, self.echo if work is None else self.work_echo)
        self.rep = rep
        self.live = 0
        self.work = work

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

    def work_echo(self, conn, addr):
        """echo with the work per request (C10K_WORK), requests of the
        connection one after another in its greenlet."""
        self.live += 1
        try:
            c10k.echo_requests(conn, self.work, gevent.sleep)
        except OSError as e:
            self.rep.report(e.c10k_kind, e, self.live)
        finally:
            self.live -= 1
            conn.close()


def serve():
    cfg = c10k.load_config()
    if cfg.preset == PRESET_PATCHED:
        from gevent import monkey
        monkey.patch_time()  # time.sleep is gevent.sleep from here on
    elif cfg.preset:
        raise c10k.ConfigError(f"{c10k.ENV_PRESET}={cfg.preset!r}: presets are {PRESET_PATCHED}")
    work = c10k.load_work()
    rep = c10k.Reporter(MODEL, cfg.instance)
    # A gevent socket: a stdlib one would block the whole loop in accept().
    listener = gevent.socket.socket(fileno=c10k.listen(cfg, blocking=False).detach())
    srv = Server(listener, rep, work)
    gevent.signal_handler(signal.SIGTERM, c10k.terminate, rep)
    srv.serve_forever()


if __name__ == "__main__":
    c10k.main(serve)
