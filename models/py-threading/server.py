"""py-threading: socketserver.ThreadingMixIn + TCPServer, one OS thread per
connection doing blocking recv/sendall. Python's own defaults are kept
(listen backlog 5, non-daemon threads tracked for server_close) unless
C10K_BACKLOG or C10K_PRESET=raised says otherwise (README.md).

With C10K_WORK set, each C10K_SIZE-byte request is worked on in its
connection's thread before its echo: cpu= burns (holding the GIL but for
its switch interval), block= and wait= are both time.sleep in that thread."""

import os
import socketserver
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "_pykit"))
import c10k  # noqa: E402

MODEL = "py-threading"


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        srv = self.server
        srv.live.add(1)
        try:
            if srv.work is not None:
                try:
                    c10k.echo_requests(self.request, srv.work, time.sleep)
                except OSError as e:
                    srv.rep.report(e.c10k_kind, e, srv.live.n)
                return
            while True:
                try:
                    data = self.request.recv(65536)
                except OSError as e:
                    srv.rep.report(c10k.KIND_READ, e, srv.live.n)
                    return
                if not data:
                    return  # EOF (half-close): shutdown_request sends our FIN
                try:
                    self.request.sendall(data)
                except OSError as e:
                    srv.rep.report(c10k.KIND_WRITE, e, srv.live.n)
                    return
        finally:
            srv.live.add(-1)


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True

    def __init__(self, cfg, rep, work=None):
        self.rep = rep
        self.work = work
        self.live = c10k.Counter()
        self.allow_reuse_port = cfg.reuseport
        self.request_queue_size = cfg.backlog
        super().__init__((cfg.host, cfg.port), Echo)
        # socketserver swallows accept() errors; report them on the way.
        self.socket = c10k.AcceptReporting(self.socket, rep, lambda: self.live.n)

    def process_request(self, request, client_address):
        # ThreadingMixIn.process_request as in Python 3.11, but the thread
        # starts with SIGTERM blocked (c10k.start_thread).
        if self.block_on_close:
            vars(self).setdefault("_threads", socketserver._Threads())
        t = threading.Thread(target=self.process_request_thread, args=(request, client_address))
        t.daemon = self.daemon_threads
        self._threads.append(t)
        try:
            c10k.start_thread(t)
        except RuntimeError as e:
            # "can't start new thread": pthread_create failed (threads-max,
            # pids.max, RLIMIT_NPROC or memory); Python does not say which errno.
            self.rep.report(c10k.KIND_THREAD, e, self.live.n)
            raise  # socketserver closes the connection

    def handle_error(self, request, client_address):
        pass  # reported above; socketserver would print a traceback per connection


def serve():
    cfg = c10k.load_config(default_backlog=socketserver.TCPServer.request_queue_size)
    if cfg.preset == "raised" and not cfg.backlog_set:
        cfg = c10k.dataclasses.replace(cfg, backlog=c10k.DEFAULT_BACKLOG)
    elif cfg.preset not in ("", "raised"):
        raise c10k.ConfigError(f"{c10k.ENV_PRESET}={cfg.preset!r}: presets are raised")
    work = c10k.load_work()
    rep = c10k.Reporter(MODEL, cfg.instance)
    srv = Server(cfg, rep, work)
    c10k.exit_on_sigterm(rep)
    srv.serve_forever()


if __name__ == "__main__":
    c10k.main(serve)
