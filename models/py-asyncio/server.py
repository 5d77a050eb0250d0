"""py-asyncio: one event loop (asyncio's standard selector loop on epoll) in
one thread; each connection is an asyncio.Protocol whose data_received
writes the bytes back, with the transport's flow control pausing reads
while a client does not read. py-uvloop runs this same file on uvloop.

C10K_ASYNCIO_API=streams (or C10K_PRESET=streams) serves with asyncio
streams (StreamReader / StreamWriter) instead, to compare the two APIs
(README.md).

With C10K_WORK set, each C10K_SIZE-byte request is worked on before its
echo: cpu= and block= in the loop's thread (block= stalls the whole loop,
on purpose), wait= as `await asyncio.sleep`, one request of a connection
after another. C10K_PRESET=executor sends block= to a thread pool
(loop.run_in_executor) instead, the remedy (README.md)."""

import asyncio
import collections
import concurrent.futures
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "_pykit"))
import c10k  # noqa: E402

ENV_API = "C10K_ASYNCIO_API"
ENV_EXECUTOR_THREADS = "C10K_EXECUTOR_THREADS"
PRESET_EXECUTOR = "executor"


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


class WorkEcho(Echo):
    """Echo with the work per request (C10K_WORK): complete requests queue
    up and one task per busy connection works through them in order, so
    the loop serves other connections while one waits. Reading pauses while
    requests wait their turn, as a thread-per-connection server does not
    read while it works: the client's further bytes stay in the kernel."""

    def __init__(self, srv):
        super().__init__(srv)
        self.framer = c10k.Framer(srv.work.size)
        self.queue = collections.deque()
        self.busy = False
        self.task = None  # drain's task: the loop keeps only a weak reference
        self.eof = False
        self.write_paused = False

    def data_received(self, data):
        self.queue.extend(self.framer.feed(data))
        if self.queue and not self.busy:
            self.busy = True
            self.task = asyncio.get_running_loop().create_task(self.drain())
        if self.busy:
            self.transport.pause_reading()

    async def drain(self):
        while self.queue:
            req = self.queue.popleft()
            await self.srv.do_work()
            if self.transport.is_closing():
                return  # reset or closed meanwhile: nothing to echo to
            self.transport.write(req)
        self.busy = False
        if self.eof:
            self.finish()
        elif not self.write_paused:
            self.transport.resume_reading()

    def eof_received(self):
        self.eof = True
        if not self.busy:
            self.finish()
        return True  # keep the transport: queued requests still get their echo

    def finish(self):
        # EOF: the incomplete request goes back as it is, then the
        # transport writes what is buffered and closes.
        rest = self.framer.rest()
        if rest:
            self.transport.write(rest)
        self.transport.close()

    def pause_writing(self):
        self.write_paused = True
        super().pause_writing()

    def resume_writing(self):
        self.write_paused = False
        if not self.busy:
            self.transport.resume_reading()


class Server:
    def __init__(self, rep, listener, work=None, executor=None):
        self.rep = rep
        self.listener = listener.fileno()
        self.live = 0
        self.work = work
        # The remedy preset's pool for block=; None: block= runs in the loop.
        self.executor = executor

    async def do_work(self):
        """One request's work: cpu= in the loop's thread; block= in the
        loop's thread too, or in the executor's; wait= as a coroutine sleep."""
        w = self.work
        if w.cpu_ns:
            c10k.burn_ns(w.cpu_ns)
        if w.block_ns:
            if self.executor is None:
                c10k.block_ns(w.block_ns)
            else:
                await asyncio.get_running_loop().run_in_executor(self.executor, c10k.block_ns, w.block_ns)
        await w.await_wait()

    async def stream_work_echo(self, reader, writer):
        """stream_echo with the work per request (C10K_WORK)."""
        self.live += 1
        framer = c10k.Framer(self.work.size)
        try:
            while data := await reader.read(65536):
                for req in framer.feed(data):
                    await self.do_work()
                    writer.write(req)
                    await writer.drain()
            writer.write(framer.rest())  # EOF: the incomplete request as it is
            await writer.drain()
        except OSError as e:
            self.rep.report(c10k.KIND_READ, e, self.live)
        finally:
            self.live -= 1
            writer.close()

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
    if cfg.preset not in ("", "protocol", "streams", PRESET_EXECUTOR):
        raise c10k.ConfigError(f"{c10k.ENV_PRESET}={cfg.preset!r}: presets are protocol, streams and executor")
    api = os.environ.get(ENV_API, "").strip() or (cfg.preset if cfg.preset != PRESET_EXECUTOR else "") or "protocol"
    work = c10k.load_work()
    executor = None
    if cfg.preset == PRESET_EXECUTOR:
        # None: Python's default size, min(32, os.cpu_count() + 4), which
        # is what loop.run_in_executor(None, ...) would use (README.md).
        threads = c10k.int_env(ENV_EXECUTOR_THREADS, None)
        if threads is not None and threads < 1:
            raise c10k.ConfigError(f"{ENV_EXECUTOR_THREADS}={threads}: want at least 1")
        executor = concurrent.futures.ThreadPoolExecutor(max_workers=threads, thread_name_prefix="block")
    rep = c10k.Reporter(model, cfg.instance)
    sock = c10k.listen(cfg, blocking=False)
    srv = Server(rep, sock, work, executor)
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(srv.exception_handler)
    loop.add_signal_handler(signal.SIGTERM, c10k.terminate, rep)
    if api == "protocol":
        proto = Echo if work is None else WorkEcho
        server = await loop.create_server(lambda: proto(srv), sock=sock, backlog=cfg.backlog)
    elif api == "streams":
        handle = srv.stream_echo if work is None else srv.stream_work_echo
        server = await asyncio.start_server(handle, sock=sock, backlog=cfg.backlog)
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
