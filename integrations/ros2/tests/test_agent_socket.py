import json
import os
import socket
import tempfile
import time
import unittest

from rewind_ros2.agent_socket import AgentSocket

from .server import LineServer


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class AgentSocketTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "agent.sock")
        self.clock = FakeClock()
        self.log = []
        self.out = AgentSocket(self.path, timeout_s=1.0, clock=self.clock, log=self.log.append)

    def tearDown(self) -> None:
        self.out.close()
        self.dir.cleanup()

    def test_lines_reach_a_real_unix_socket(self):
        server = LineServer(self.path)
        try:
            lines = ['{"type":"heartbeat","node":"/a","ttl_s":3.0}', '{"type":"topic","topic":"/t","count":1}']
            self.assertTrue(self.out.send_lines(lines))
            self.assertTrue(self.out.send_lines(["", lines[0]]), "empty lines are skipped")
            self.assertEqual(server.take(3), [lines[0], lines[1], lines[0]])
            self.assertEqual((self.out.sent, self.out.dropped), (3, 0))
        finally:
            server.close()

    def test_without_an_agent_lines_are_dropped_and_retries_back_off(self):
        self.assertFalse(self.out.send_lines(["a"]))
        self.assertFalse(self.out.send_lines(["b", "c"]), "within the backoff: not even tried")
        self.assertEqual(self.out.dropped, 3)
        tries = sum("cannot connect" in m for m in self.log)
        self.assertEqual(tries, 1)
        self.clock.t += 0.5
        self.out.send_lines(["d"])
        self.assertIn("retrying in 1.0 s", self.log[-1], "the delay doubles")
        for _ in range(20):
            self.clock.t += 60
            self.out.send_lines(["e"])
        self.assertIn("retrying in 30.0 s", self.log[-1], "up to the maximum")

    def test_reconnects_when_the_agent_comes_back(self):
        server = LineServer(self.path)
        self.assertTrue(self.out.send_lines(["one"]))
        self.assertEqual(server.take(1), ["one"])
        server.close()  # the agent restarts
        # The first write after the close may still be accepted by the kernel;
        # the failure shows at the latest on the next one.
        for _ in range(50):
            if not self.out.send_lines(["lost"]):
                break
            time.sleep(0.01)
        self.assertFalse(self.out.connected)
        server = LineServer(self.path)
        try:
            self.assertFalse(self.out.send_lines(["early"]), "still backing off")
            self.clock.t += 0.5
            self.assertTrue(self.out.send_lines(["two"]))
            self.assertEqual(server.take(1), ["two"])
        finally:
            server.close()

    def test_error_replies_are_read_without_blocking(self):
        server = LineServer(self.path)
        try:
            self.assertTrue(self.out.send_lines(["not json"]))
            server.take(1)
            reply = {"error": "invalid_json", "message": "expected value", "line": 1}
            server.connections[0].sendall(json.dumps(reply).encode() + b"\n")
            deadline = time.monotonic() + 5
            while not self.out.replies and time.monotonic() < deadline:
                self.out.send_lines(['{"type":"heartbeat","node":"/a"}'])
                time.sleep(0.01)
            self.assertEqual(json.loads(self.out.replies[0])["error"], "invalid_json")
        finally:
            server.close()

    def test_a_path_that_is_not_a_socket_is_just_unreachable(self):
        with open(self.path, "w") as f:
            f.write("not a socket")
        self.assertFalse(self.out.send_lines(["x"]))
        self.assertFalse(self.out.connected)

    def test_a_stuck_agent_costs_at_most_the_timeout(self):
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.path)
        listener.listen(1)  # accepts in the kernel, never reads
        out = AgentSocket(self.path, timeout_s=0.2, clock=self.clock)
        try:
            big = "x" * 65000
            started = time.monotonic()
            results = [out.send_lines([big] * 10) for _ in range(20)]
            self.assertLess(time.monotonic() - started, 5.0)
            self.assertIn(False, results, "the kernel buffer filled and the write timed out")
            self.assertFalse(out.connected)
        finally:
            out.close()
            listener.close()


if __name__ == "__main__":
    unittest.main()
