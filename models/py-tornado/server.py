"""py-tornado: tornado.tcpserver.TCPServer, one coroutine per connection
(handle_stream) reading and writing an IOStream; Tornado 6 runs on
asyncio's event loop, one thread. Each chunk's write is awaited before the
next read, so a client that does not read holds its reader back.

With C10K_WORK set, each C10K_SIZE-byte request is worked on in the
connection's coroutine before its echo: IOStream frames them
(read_bytes(C10K_SIZE)); cpu= and block= run in the loop's thread (block=
stalls the loop, on purpose), wait= is `await asyncio.sleep`. IOStream
closes the stream at the client's FIN, so an incomplete request left at
EOF cannot be echoed (README.md)."""

import asyncio
import os
import sys

from tornado.iostream import StreamClosedError
from tornado.tcpserver import TCPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "_pykit"))
import c10k  # noqa: E402

MODEL = "py-tornado"


class Echo(TCPServer):
    def __init__(self, rep, work=None):
        super().__init__()
        self.rep = rep
        self.live = 0
        self.work = work

    async def handle_stream(self, stream, address):
        self.live += 1
        try:
            while self.work is None:
                data = await stream.read_bytes(65536, partial=True)
                await stream.write(data)
            while True:
                # Exactly one request: IOStream stops reading once it holds
                # one, so a FIN behind it is seen only after its echo.
                req = await stream.read_bytes(self.work.size)
                self.work.before_wait()
                await self.work.await_wait()
                await stream.write(req)
        except StreamClosedError as e:
            # Tornado turns the client's FIN into a closed stream, and a
            # reset too; the errno is kept only for the latter.
            if e.real_error is not None and isinstance(e.real_error, OSError):
                self.rep.report(c10k.KIND_READ, e.real_error, self.live)
        finally:
            self.live -= 1
            stream.close()


def loop_error(rep, srv):
    def handler(loop, context):
        # An accept() error escapes Tornado's accept handler into the loop
        # (already reported by c10k.AcceptReporting); anything else is kept
        # as a report rather than a traceback per event on stderr.
        exc = context.get("exception")
        if not (isinstance(exc, OSError) and getattr(exc, "_c10k_reported", False)):
            rep.report("loop", exc if isinstance(exc, OSError) else None, srv.live)
    return handler


async def run(cfg):
    work = c10k.load_work()
    rep = c10k.Reporter(MODEL, cfg.instance)
    srv = Echo(rep, work)
    asyncio.get_running_loop().set_exception_handler(loop_error(rep, srv))
    sock = c10k.listen(cfg, blocking=False)
    srv.add_sockets([c10k.AcceptReporting(sock, rep, lambda: srv.live)])
    c10k.exit_on_sigterm(rep)
    await asyncio.Event().wait()


def serve():
    asyncio.run(run(c10k.load_config()))


if __name__ == "__main__":
    c10k.main(serve)
