"""py-asyncio: one event loop (asyncio's standard selector loop on epoll) in
one thread; each connection is an asyncio.Protocol whose data_received
writes the bytes back, with the transport's flow control pausing reads
while a client does not read. py-uvloop runs this same file on uvloop.

C10K_ASYNCIO_API=streams (or C10K_PRESET=streams) serves with asyncio
streams (StreamReader / StreamWriter) instead, to compare the two APIs
(README.md)."""

import asyncio
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "_pykit"))
import c10k  # noqa: E402

ENV_API = "C10K_ASYNCIO_API"


class Echo(asyncio.Protocol):
    def __init__(self, srv):
        self.srv = srv
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        self.srv.live += 1

    def data_received(self, data):
        self.transport.write(data)

    def eof_received(self):
        return False  # the transport writes what is buffered, then closes

    def pause_writing(self):
        self.transport.pause_reading()  # the client is not reading: stop reading it

    def resume_writing(self):
        self.transport.resume_reading()

    def connection_lost(self, exc):
        self.srv.live -= 1
        if exc is not None:
            self.srv.rep.report(c10k.KIND_READ, exc, self.srv.live)


class Server:
    def __init__(self, rep, listener):
        self.rep = rep
        self.listener = listener.fileno()
        self.live = 0

    async def stream_echo(self, reader, writer):
        self.live += 1
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError as e:
            self.rep.report(c10k.KIND_READ, e, self.live)
        finally:
            self.live -= 1
            writer.close()

    def exception_handler(self, loop, context):
        # The loop's own accept() errors (EMFILE...) arrive here; it then
        # stops accepting for a second (asyncio's ACCEPT_RETRY_DELAY).
        exc = context.get("exception")
        sock = context.get("socket")
        kind = "loop"
        if sock is not None and sock.fileno() == self.listener:
            kind = c10k.KIND_ACCEPT
        self.rep.report(kind, exc if isinstance(exc, OSError) else None, self.live)


async def run(model, cfg):
    # The preset names the API too, so one run can compare both:
    # --models py-asyncio:protocol,py-asyncio:streams.
    if cfg.preset not in ("", "protocol", "streams"):
        raise c10k.ConfigError(f"{c10k.ENV_PRESET}={cfg.preset!r}: presets are protocol and streams")
    api = os.environ.get(ENV_API, "").strip() or cfg.preset or "protocol"
    rep = c10k.Reporter(model, cfg.instance)
    sock = c10k.listen(cfg, blocking=False)
    srv = Server(rep, sock)
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(srv.exception_handler)
    loop.add_signal_handler(signal.SIGTERM, c10k.terminate, rep)
    if api == "protocol":
        server = await loop.create_server(lambda: Echo(srv), sock=sock, backlog=cfg.backlog)
    elif api == "streams":
        server = await asyncio.start_server(srv.stream_echo, sock=sock, backlog=cfg.backlog)
    else:
        raise c10k.ConfigError(f"{ENV_API}={api!r}: want protocol or streams")
    await server.serve_forever()


def main(model, loop="asyncio"):
    def serve():
        cfg = c10k.load_config()
        if loop == "uvloop":
            import uvloop
            uvloop.install()
        asyncio.run(run(model, cfg))
    c10k.main(serve)


if __name__ == "__main__":
    main("py-asyncio")
