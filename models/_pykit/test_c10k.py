"""Unit tests of c10k's work per request (C10K_WORK, C10K_SIZE): parsing,
the CPU burn, the blocking call, the framer. Run by the Go test
models/internal/modeltest (TestPyKit), or by hand:

    /usr/bin/python3 -I models/_pykit/test_c10k.py
"""

import os
import sys
import threading
import time
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves the script's folder out
import c10k  # noqa: E402

MS = 1000_000


class ParseDuration(unittest.TestCase):
    def test_valid(self):
        for text, ns in [
            ("200us", 200_000),
            ("200\u00b5s", 200_000),  # micro sign, as Go prints it
            ("200\u03bcs", 200_000),  # Greek mu, which Go also reads
            ("1.5ms", 1_500_000),
            (".5ms", 500_000),
            ("1.ms", MS),
            ("7ns", 7),
            ("2s", 2_000_000_000),
            ("1s500ms", 1_500_000_000),
            ("0.0000015ms", 1),  # fractions of a nanosecond are cut, as Go does
        ]:
            with self.subTest(text=text):
                self.assertEqual(c10k.parse_duration(text), ns)

    def test_invalid(self):
        for text in ["", "5", "ms", "5 ms", "-5ms", "+5ms", "0s", "0.0001ns", "1m", "1h", "5msx", "1e3ms", "five"]:
            with self.subTest(text=text), self.assertRaises(ValueError) as cm:
                c10k.parse_duration(text)
            self.assertIn(repr(text), str(cm.exception))


class ParseWork(unittest.TestCase):
    def test_valid(self):
        for text, want in [
            ("", None),
            ("  ", None),
            ("cpu=200us", c10k.Work(cpu_ns=200_000)),
            ("wait=50ms", c10k.Work(wait_ns=50 * MS)),
            ("block=5ms", c10k.Work(block_ns=5 * MS)),
            ("cpu=100us,wait=20ms", c10k.Work(cpu_ns=100_000, wait_ns=20 * MS)),
            (" wait = 1ms , block=2ms,cpu=3ms ", c10k.Work(cpu_ns=3 * MS, block_ns=2 * MS, wait_ns=MS)),
        ]:
            with self.subTest(text=text):
                self.assertEqual(c10k.parse_work(text), want)

    def test_invalid_names_variable_and_part(self):
        for text, part in [
            ("cpu=abc", "'abc'"),
            ("cpu=0ms", "'0ms'"),
            ("cpu", "'cpu'"),
            ("sleep=5ms", "'sleep=5ms'"),
            ("cpu=1ms,cpu=2ms", "cpu given twice"),
            ("cpu=1ms,", "''"),
            ("wait=5ms;cpu=1ms", "'5ms;cpu=1ms'"),
        ]:
            with self.subTest(text=text), self.assertRaises(c10k.ConfigError) as cm:
                c10k.parse_work(text)
            msg = str(cm.exception)
            self.assertTrue(msg.startswith(c10k.ENV_WORK + "="), msg)
            self.assertIn(part, msg)
            self.assertNotIn("\n", msg)

    def test_load_work(self):
        for env, want in [
            ({}, None),
            ({"C10K_WORK": "cpu=1ms"}, c10k.Work(size=16, cpu_ns=MS)),
            ({"C10K_WORK": "cpu=1ms", "C10K_SIZE": "12"}, c10k.Work(size=12, cpu_ns=MS)),
        ]:
            with self.subTest(env=env), mock.patch.dict(os.environ, env, clear=True):
                self.assertEqual(c10k.load_work(), want)
        for size in ["0", "-1", "x", "1.5"]:
            env = {"C10K_WORK": "cpu=1ms", "C10K_SIZE": size}
            with self.subTest(size=size), mock.patch.dict(os.environ, env, clear=True), \
                    self.assertRaisesRegex(c10k.ConfigError, "^" + c10k.ENV_SIZE):
                c10k.load_work()


class Framer(unittest.TestCase):
    def test_cuts_requests(self):
        for name, size, chunks, want, rest in [
            ("one whole", 4, [b"abcd"], [b"abcd"], b""),
            ("two in one chunk", 4, [b"abcdefgh"], [b"abcd", b"efgh"], b""),
            ("split across chunks", 4, [b"ab", b"cdef", b"gh"], [b"abcd", b"efgh"], b""),
            ("byte by byte", 3, [b"a", b"b", b"c", b"d"], [b"abc"], b"d"),
            ("incomplete left", 4, [b"abcdef"], [b"abcd"], b"ef"),
            ("nothing", 4, [b""], [], b""),
        ]:
            with self.subTest(name):
                f = c10k.Framer(size)
                got = [req for chunk in chunks for req in f.feed(chunk)]
                self.assertEqual(got, want)
                self.assertEqual(f.rest(), rest)
                self.assertEqual(f.rest(), b"", "rest() takes the bytes out")


class Burn(unittest.TestCase):
    def test_burns_the_threads_cpu(self):
        t0 = time.thread_time_ns()
        c10k.burn(0.02)
        self.assertGreaterEqual(time.thread_time_ns() - t0, 20 * MS)

    def test_another_threads_cpu_does_not_count(self):
        # While another thread burns, this one's clock does not move: the
        # burn is of the handling thread, however the threads share a CPU.
        other = threading.Thread(target=c10k.burn, args=(0.05,))
        t0, w0 = time.thread_time_ns(), time.monotonic_ns()
        other.start()
        c10k.burn(0.02)
        other.join()
        self.assertGreaterEqual(time.thread_time_ns() - t0, 20 * MS)
        # Both burnt on a GIL: the wall time holds both burns.
        self.assertGreaterEqual(time.monotonic_ns() - w0, 70 * MS)


class Block(unittest.TestCase):
    def test_sleeps(self):
        w0, t0 = time.monotonic_ns(), time.thread_time_ns()
        c10k.block(0.02)
        self.assertGreaterEqual(time.monotonic_ns() - w0, 20 * MS)
        self.assertLess(time.thread_time_ns() - t0, 15 * MS, "a block is a sleep, not a burn")

    def test_uses_time_sleep_at_each_call(self):
        # A monkey-patched time.sleep (py-gevent:patched) is what block calls.
        calls = []
        with mock.patch("time.sleep", calls.append):
            c10k.block_ns(5 * MS)
        self.assertEqual(calls, [0.005])


class WorkRun(unittest.TestCase):
    def test_order_cpu_block_wait(self):
        events = []
        w = c10k.Work(cpu_ns=MS, block_ns=2 * MS, wait_ns=3 * MS)
        with mock.patch.object(c10k, "burn_ns", lambda ns: events.append(("cpu", ns))), \
                mock.patch.object(c10k, "block_ns", lambda ns: events.append(("block", ns))):
            w.run(lambda s: events.append(("wait", s)))
        self.assertEqual(events, [("cpu", MS), ("block", 2 * MS), ("wait", 0.003)])

    def test_only_what_is_asked(self):
        events = []
        with mock.patch.object(c10k, "burn_ns", lambda ns: events.append("cpu")), \
                mock.patch.object(c10k, "block_ns", lambda ns: events.append("block")):
            c10k.Work(wait_ns=MS).run(lambda s: events.append("wait"))
        self.assertEqual(events, ["wait"])


if __name__ == "__main__":
    unittest.main()
