"""pingpong: CPU per echo of a model, apart from the swarm.

    /usr/bin/python3 models/_pykit/pingpong.py models/py-asyncio/run [conns] [seconds] [KEY=VALUE...]

Starts the model on a free loopback port, opens `conns` connections, keeps
one 12-byte message in flight on each for `seconds`, and prints the echoes
per second and the model's CPU time (user+system, from /proc) per 1,000
echoes. Used to choose between py-asyncio's Protocol and streams APIs
(models/py-asyncio/README.md); the client is one Python thread, so the
throughput is the client's as much as the model's, the CPU per echo is the
model's own.
"""

import os
import selectors
import signal
import socket
import subprocess
import sys
import time


def cpu_seconds(pgid):
    """CPU time of the model's process group: every live thread of every
    member to the nanosecond (/proc/PID/task/TID/schedstat), plus what the
    members' reaped children used (cutime, cstime: clock ticks), so forked
    children count. Threads that ended in a live process are not counted.
    Not utime+stime of each member: those are whole clock ticks per
    process, and ten forked children that burnt 10 ms each read 40 ms
    (measured), where the threads' run time reads 100 ms."""
    hz = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            total += (int(fields[13]) + int(fields[14])) / hz
            for tid in os.listdir(f"/proc/{d}/task"):
                with open(f"/proc/{d}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0]) / 1e9
        except (OSError, IndexError, ValueError):
            continue  # exited meanwhile
    return total


def start(run, env):
    """Starts the model `run` on a free loopback port, in a session (and
    process group) of its own, with extra environment env (a dict), and
    returns the process and the port once the port accepts connections."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = subprocess.Popen([run], env=dict(os.environ, C10K_ADDR=f"127.0.0.1:{port}", **env),
                         start_new_session=True, stdout=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                return p, port
            except OSError:
                if p.poll() is not None or time.time() > deadline:
                    raise
                time.sleep(0.05)
    except BaseException:
        stop(p)
        raise


def stop(p):
    """Ends the model's process group (SIGTERM, then SIGKILL after 5 s)."""
    try:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(5)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def main():
    run = sys.argv[1]
    conns = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 5
    p, port = start(run, dict(kv.split("=", 1) for kv in sys.argv[4:]))
    try:
        msg = b"0123456789\r\n"
        sel = selectors.DefaultSelector()
        for _ in range(conns):
            c = socket.create_connection(("127.0.0.1", port))
            c.setblocking(False)
            sel.register(c, selectors.EVENT_READ, bytearray())
            c.send(msg)
        echoes, cpu0, t0 = 0, cpu_seconds(p.pid), time.time()
        while time.time() - t0 < seconds:
            for key, _ in sel.select(1):
                got = key.data
                got += key.fileobj.recv(4096)
                if len(got) >= len(msg):
                    del got[: len(msg)]
                    echoes += 1
                    key.fileobj.send(msg)
        took, cpu = time.time() - t0, cpu_seconds(p.pid) - cpu0
        print(f"{run} {' '.join(sys.argv[4:])}: {conns} conns, {echoes / took:.0f} echoes/s, "
              f"model CPU {1000 * 1000 * cpu / max(echoes, 1):.1f} ms per 1,000 echoes")
    finally:
        stop(p)


if __name__ == "__main__":
    main()
