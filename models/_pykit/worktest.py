"""worktest: the work per request (C10K_WORK) of the Python models, over
loopback, each case against a model started on a free port.

    /usr/bin/python3 -I models/_pykit/worktest.py MODELS_DIR CASE...

A case is MODEL[:PRESET]/KIND:

- wait: C10K_WORK=cpu=5ms,wait=50ms, ten connections sending two requests
  each, the first cut off after 5 bytes for 20 ms (so the model must frame
  them), and one more that sends a request and a half and half-closes. No
  echo may come back before its wait, each connection's echoes come back
  intact and in order, the ten connections' waits overlap (their first
  echoes all back sooner than ten waits one after another could be), the
  half request comes back after the whole one, then EOF (py-tornado
  echoes only the whole one and py-circuits is not half-closed: their
  READMEs say why); and the model's CPU time grows by about 5 ms a request
  (0.8x to 3x, plus 100 ms for the echoes).
- block: C10K_WORK=block=20ms, ten connections, one request each, sent at
  once. Where the blocking call stalls the model (an event loop, a green
  thread hub without monkey-patching) the last echo comes back no sooner
  than ten blocks (200 ms); where it does not (a thread or process per
  connection, the remedy presets) all are back sooner than that.

Only lower bounds are tight (a sleep never ends early). "Overlapped" is
"sooner than one after another can be", nothing tighter: overlapped, the
ten are back in ~100 ms (wait) and 21-44 ms (block) here, but with the
machine's load average at 214 a model took 435 ms for the ten waits.
Prints one line of figures per case; exits 1 when a case fails.
"""

import os
import selectors
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves the script's folder out
import pingpong  # noqa: E402

SIZE = 16
CONNS = 10
WAIT = 0.050
CPU = 0.005
BLOCK = 0.020
# Models whose handler runs on a thread or process of its own: a blocking
# call there stalls only its own connection.
OWN_THREAD = {"py-threading", "py-forking"}
# Remedy presets that keep block= from stalling the others.
REMEDIES = {"py-asyncio:executor", "py-uvloop:executor", "py-gevent:patched"}
# Models that close at the client's FIN before an incomplete request can
# go back (their READMEs say why): only the whole request is echoed.
NO_REST_AT_EOF = {"py-tornado"}
# Models that lose what they have not written yet at the client's FIN
# (py-circuits: refused by conformance's half_close): no half-close here.
NO_HALF_CLOSE = {"py-circuits"}


def request(conn, i):
    """The i-th request of connection conn: SIZE bytes, unique in the test."""
    return (f"c{conn:03d}r{i:03d}-" + "x" * SIZE)[:SIZE].encode()


def start(models, spec, work):
    name, _, preset = spec.partition(":")
    # The backlog is raised for socketserver's models, whose own (5) would
    # drop some of the eleven connects here and delay them a second: that
    # is their finding, not this test's.
    env = {"C10K_WORK": work, "C10K_SIZE": str(SIZE), "C10K_BACKLOG": "64"}
    if preset:
        env["C10K_PRESET"] = preset
    return pingpong.start(os.path.join(models, name, "run"), env)


def read_echoes(socks, want, deadline):
    """Reads every socket until it has its wanted bytes (then EOF when the
    wanted entry says so); returns, per socket, the times at which each
    SIZE-byte piece was complete and the bytes received."""
    sel = selectors.DefaultSelector()
    got = {}
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        got[s] = (bytearray(), [])
    open_ = set(socks)
    while open_:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{len(open_)} connections still waiting for echoes at the deadline")
        for key, _ in sel.select(left):
            s = key.fileobj
            buf, times = got[s]
            data = s.recv(65536)
            now = time.monotonic()
            buf += data
            while len(times) < len(buf) // SIZE:
                times.append(now)
            data_wanted, eof_wanted = want[s]
            if not data and not (eof_wanted and len(buf) == len(data_wanted)):
                raise AssertionError(f"EOF after {len(buf)} of {len(data_wanted)} bytes: {bytes(buf)!r}")
            if not data or (not eof_wanted and len(buf) >= len(data_wanted)):
                if len(buf) % SIZE:
                    times.append(now)  # the incomplete request, echoed at EOF
                sel.unregister(s)
                open_.discard(s)
    return got


def case_wait(models, spec):
    p, port = start(models, spec, f"cpu={CPU * 1000:g}ms,wait={WAIT * 1000:g}ms")
    try:
        socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(CONNS + 1)]
        for s in socks:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        time.sleep(0.1)  # let a forking model fork its children before the clock starts
        cpu0 = pingpong.cpu_seconds(p.pid)
        want = {}
        for i, s in enumerate(socks[:CONNS]):
            want[s] = (request(i, 0) + request(i, 1), False)
            s.sendall(want[s][0][:5])
        half, model = socks[CONNS], spec.partition(":")[0]
        whole, sent_half = request(CONNS, 0), request(CONNS, 0) + request(CONNS, 1)[:SIZE // 2]
        if model in NO_HALF_CLOSE:
            want[half] = (whole, False)
        else:
            want[half] = (whole if model in NO_REST_AT_EOF else sent_half, True)
        time.sleep(0.02)
        sent = time.monotonic()
        for s in socks[:CONNS]:
            s.sendall(want[s][0][5:])
        half.sendall(sent_half)
        if want[half][1]:
            half.shutdown(socket.SHUT_WR)
        got = read_echoes(socks, want, sent + 10)
        cpu = pingpong.cpu_seconds(p.pid) - cpu0
    finally:
        pingpong.stop(p)
    fails = []
    for s in socks:
        buf, times = got[s]
        if bytes(buf) != want[s][0]:
            fails.append(f"echo {bytes(buf)!r}, want {want[s][0]!r}")
        s.close()
    firsts = [got[s][1][0] - sent for s in socks[:CONNS]]
    seconds = [got[s][1][1] - sent for s in socks[:CONNS]]
    if min(firsts) < WAIT:
        fails.append(f"a first echo came back after {min(firsts) * 1000:.1f} ms, before the {WAIT * 1000:g} ms wait")
    if min(seconds) < 2 * WAIT:
        fails.append(f"a second echo came back after {min(seconds) * 1000:.1f} ms, before two waits")
    if max(firsts) >= CONNS * WAIT:
        fails.append(f"the last first echo took {max(firsts) * 1000:.0f} ms: the waits did not overlap")
    half_times = got[half][1]
    if half_times[0] - sent < WAIT:
        fails.append("the last connection's whole request came back before its wait")
    requests = 2 * CONNS + 1
    if not 0.8 * requests * CPU <= cpu <= 3 * requests * CPU + 0.1:
        fails.append(f"model CPU {cpu * 1000:.0f} ms for {requests} requests of cpu={CPU * 1000:g}ms")
    print(f"{spec}/wait: first echoes {min(firsts) * 1000:.0f}-{max(firsts) * 1000:.0f} ms, "
          f"second {min(seconds) * 1000:.0f}-{max(seconds) * 1000:.0f} ms, last connection "
          f"{(half_times[-1] - sent) * 1000:.0f} ms; CPU {cpu * 1000:.0f} ms for {requests} requests "
          f"(want {requests * CPU * 1000:.0f})")
    return fails


def case_block(models, spec):
    p, port = start(models, spec, f"block={BLOCK * 1000:g}ms")
    try:
        socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(CONNS)]
        time.sleep(0.1)
        want = {s: (request(i, 0), False) for i, s in enumerate(socks)}
        sent = time.monotonic()
        for s in socks:
            s.sendall(want[s][0])
        got = read_echoes(socks, want, sent + 10)
    finally:
        pingpong.stop(p)
    fails = [f"echo {bytes(got[s][0])!r}, want {want[s][0]!r}" for s in socks if bytes(got[s][0]) != want[s][0]]
    for s in socks:
        s.close()
    took = max(got[s][1][0] for s in socks) - sent
    first = min(got[s][1][0] for s in socks) - sent
    serial = CONNS * BLOCK
    overlaps = spec.partition(":")[0] in OWN_THREAD or spec in REMEDIES
    if first < BLOCK:
        fails.append(f"an echo came back after {first * 1000:.1f} ms, before the {BLOCK * 1000:g} ms block")
    if overlaps and took >= serial:
        fails.append(f"the last echo took {took * 1000:.0f} ms: the blocks did not overlap")
    if not overlaps and took < serial:
        fails.append(f"the last echo took {took * 1000:.0f} ms, less than {CONNS} blocks one after another")
    print(f"{spec}/block: echoes {first * 1000:.0f}-{took * 1000:.0f} ms for {CONNS} connections "
          f"({'overlapping' if overlaps else 'one after another'} expected: "
          f"{'<' if overlaps else '>='} {serial * 1000:.0f} ms)")
    return fails


CASES = {"wait": case_wait, "block": case_block}


def main():
    models, failed = sys.argv[1], False
    for case in sys.argv[2:]:
        spec, _, kind = case.rpartition("/")
        try:
            fails = CASES[kind](models, spec)
        except (AssertionError, OSError) as e:
            fails = [f"{type(e).__name__}: {e}"]
        for f in fails:
            print(f"FAIL {case}: {f}")
        failed = failed or bool(fails)
        sys.stdout.flush()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
