import json
import os
import tempfile
import unittest

from rewind_ros2 import node
from rewind_ros2.agent_socket import AgentSocket
from rewind_ros2.collector import Collector, Settings

from .server import LineServer


class FakeClock:
    def __init__(self) -> None:
        self.t = 50.0

    def __call__(self) -> float:
        return self.t


class CollectorTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "agent.sock")
        self.server = LineServer(self.path)
        self.clock = FakeClock()
        self.collector = Collector(
            Settings(socket_path=self.path, ttl_s=3.0, max_topics=2),
            AgentSocket(self.path, clock=self.clock),
            clock=self.clock,
            wall=lambda: 1_795_428_000.0,
        )

    def tearDown(self) -> None:
        self.collector.out.close()
        self.server.close()
        self.dir.cleanup()

    def received(self, n):
        return [json.loads(line) for line in self.server.take(n)]

    def test_a_tick_reports_counts_publishers_and_heartbeats(self):
        c = self.collector
        publishers = {"/camera/rgb": 1, "/cmd_vel": 0, "/rosout": 3, "/scan": 2}
        self.assertEqual(c.to_measure(publishers), ["/camera/rgb", "/scan"], "excluded and unpublished topics are not measured")
        c.measuring(["/camera/rgb", "/scan"])
        for _ in range(30):
            c.on_message("/camera/rgb")
        self.clock.t += 1.0
        tick = c.tick(publishers, ["/talker", "/rewind_ros2_collector"])
        self.assertEqual(tick.appeared, ["/rewind_ros2_collector", "/talker"])
        self.assertEqual((tick.lines, tick.delivered, tick.rates_hz["/camera/rgb"]), (5, True, 30.0))
        got = self.received(5)
        ts = 1_795_428_001.0
        self.assertEqual(
            got,
            [
                {"type": "topic", "topic": "/camera/rgb", "count": 30, "publishers": 1, "ts": ts},
                {"type": "topic", "topic": "/cmd_vel", "publishers": 0, "ts": ts},
                {"type": "topic", "topic": "/scan", "count": 0, "publishers": 2, "ts": ts},
                {"type": "heartbeat", "node": "/rewind_ros2_collector", "ttl_s": 3.0},
                {"type": "heartbeat", "node": "/talker", "ttl_s": 3.0},
            ],
        )

    def test_a_vanished_node_gets_no_more_heartbeats(self):
        c = self.collector
        c.tick({}, ["/a", "/b"])
        self.received(2)
        self.clock.t += 1.0
        tick = c.tick({}, ["/b"])
        self.assertEqual(tick.vanished, ["/a"])
        self.assertEqual(self.received(1), [{"type": "heartbeat", "node": "/b", "ttl_s": 3.0}])

    def test_measured_topics_that_lose_their_publishers_stay_measured(self):
        c = self.collector
        c.measuring(c.to_measure({"/a": 1}))
        self.assertEqual(c.to_measure({"/a": 0, "/b": 0}), ["/a"], "so its rate reads 0 rather than vanishing")
        self.assertEqual(c.to_measure({"/b": 0}), [], "gone from the graph: dropped")
        self.assertEqual(Collector(Settings(measure_rates=False), c.out).to_measure({"/a": 1}), [])

    def test_timestamps_follow_the_monotonic_clock(self):
        c = self.collector
        c.tick({"/t": 1}, [])
        self.clock.t += 0.25
        c.tick({"/t": 1}, [])
        first, second = self.received(2)
        self.assertAlmostEqual(second["ts"] - first["ts"], 0.25, places=6)


class NodeModuleTest(unittest.TestCase):
    def test_imports_without_ros_and_main_explains_what_is_missing(self):
        try:
            import rclpy  # noqa: F401
        except ImportError:
            self.assertEqual(node.main([]), 2)
        else:  # pragma: no cover - only where ROS 2 is installed
            self.skipTest("rclpy is installed")


if __name__ == "__main__":
    unittest.main()
