import json
import unittest

from rewind_ros2.protocol import event_message, heartbeat_message, qualified_node_name, topic_message, valid_name


class ProtocolTest(unittest.TestCase):
    def test_topic_messages_carry_only_what_is_known(self):
        line = topic_message("/camera/rgb", count=30, publishers=1, ts=1795428000.1234567)
        self.assertEqual(
            json.loads(line),
            {"type": "topic", "topic": "/camera/rgb", "count": 30, "publishers": 1, "ts": 1795428000.123457},
        )
        self.assertNotIn("\n", line)
        self.assertEqual(json.loads(topic_message("/x", publishers=0)), {"type": "topic", "topic": "/x", "publishers": 0})
        self.assertEqual(json.loads(topic_message("/x", count=-5))["count"], 0)

    def test_names_the_agent_would_refuse_are_not_sent(self):
        self.assertIsNone(topic_message("", count=1))
        self.assertIsNone(topic_message("/with space"))
        self.assertIsNone(heartbeat_message("/n\u00e9", 3))
        self.assertIsNone(heartbeat_message("x" * 129, 3))
        self.assertTrue(valid_name("/a/b_c"))

    def test_heartbeats_clamp_the_ttl(self):
        self.assertEqual(json.loads(heartbeat_message("/perception", 3)), {"type": "heartbeat", "node": "/perception", "ttl_s": 3.0})
        self.assertEqual(json.loads(heartbeat_message("n", 0))["ttl_s"], 0.05)
        self.assertEqual(json.loads(heartbeat_message("n", 1e9))["ttl_s"], 3600.0)

    def test_events(self):
        e = json.loads(event_message("node_vanished", "gone", level="warning", fields={"node": "/a", "bad key": 1}))
        self.assertEqual(e, {"type": "event", "kind": "node_vanished", "level": "warning", "message": "gone", "fields": {"node": "/a"}})
        self.assertIsNone(event_message("k", "x" * 70000))

    def test_qualified_node_names(self):
        self.assertEqual(qualified_node_name("talker", "/"), "/talker")
        self.assertEqual(qualified_node_name("cam", "/robot1"), "/robot1/cam")
        self.assertEqual(qualified_node_name("cam", "robot1/"), "/robot1/cam")
        self.assertEqual(qualified_node_name("cam", ""), "/cam")


if __name__ == "__main__":
    unittest.main()
