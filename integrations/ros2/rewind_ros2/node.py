"""The ROS 2 node: graph queries and subscriptions, with rclpy imported only
when the node is built, so the rest of the package works without ROS 2.

Every ``period_s`` it lists topics and their publisher counts, keeps one
sensor-data-QoS subscription (raw, never deserialised) per measured topic,
lists node names, and lets :class:`~rewind_ros2.collector.Collector` report
them to the agent. Parameters (``--ros-args -p name:=value``): see
:class:`~rewind_ros2.collector.Settings`.
"""

from __future__ import annotations

import sys
from typing import Any, Dict, List, Optional

from .agent_socket import AgentSocket
from .collector import Collector, Settings
from .protocol import qualified_node_name

NODE_NAME = "rewind_ros2_collector"


def settings_from(node: Any) -> Settings:
    """Declares the parameters on ``node`` and reads them."""
    d = Settings()
    get = lambda name, default: node.declare_parameter(name, default).value  # noqa: E731
    return Settings(
        socket_path=str(get("socket_path", d.socket_path)),
        period_s=float(get("period_s", d.period_s)),
        ttl_s=float(get("ttl_s", d.ttl_s)),
        max_topics=int(get("max_topics", d.max_topics)),
        include_topics=list(get("include_topics", list(d.include_topics))),
        exclude_topics=list(get("exclude_topics", list(d.exclude_topics))),
        measure_rates=bool(get("measure_rates", d.measure_rates)),
    )


def build_node() -> Any:
    """Builds the rclpy node (``rclpy.init`` must have been called)."""
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data

    class RewindCollector(Node):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__(NODE_NAME)
            self.settings = settings_from(self)
            log = self.get_logger()
            out = AgentSocket(self.settings.socket_path, timeout_s=0.2, log=log.info)
            self.collector = Collector(self.settings, out)
            self._subs: Dict[str, Any] = {}
            self._unmeasurable: set = set()
            self.create_timer(self.settings.period_s, self._tick)
            log.info(f"reporting to {self.settings.socket_path} every {self.settings.period_s} s")

        def _tick(self) -> None:
            types = dict(self.get_topic_names_and_types())
            publishers = {t: self.count_publishers(t) for t in types}
            self._subscribe(self.collector.to_measure(publishers), types)
            names = [qualified_node_name(n, ns) for n, ns in self.get_node_names_and_namespaces()]
            done = self.collector.tick(publishers, names)
            log = self.get_logger()
            for n in done.appeared:
                log.info(f"node appeared: {n}")
            for n in done.vanished:
                log.warning(f"node vanished: {n} (the agent reports it missing after {self.settings.ttl_s} s)")

        def _subscribe(self, wanted: List[str], types: Dict[str, List[str]]) -> None:
            for topic in set(self._subs) - set(wanted):
                self.destroy_subscription(self._subs.pop(topic))
            for topic in wanted:
                if topic in self._subs or topic in self._unmeasurable:
                    continue
                sub = self._make_subscription(topic, types.get(topic, []))
                if sub is None:
                    self._unmeasurable.add(topic)
                else:
                    self._subs[topic] = sub
            self.collector.measuring(self._subs)

        def _make_subscription(self, topic: str, type_names: List[str]) -> Optional[Any]:
            try:
                from rosidl_runtime_py.utilities import get_message

                msg_type = get_message(type_names[0])
            except Exception as e:  # an unknown or uninstalled message type
                self.get_logger().warning(f"no rate for {topic}: cannot load its type {type_names}: {e}")
                return None
            callback = lambda _msg, t=topic: self.collector.on_message(t)  # noqa: E731
            try:
                return self.create_subscription(msg_type, topic, callback, qos_profile_sensor_data, raw=True)
            except TypeError:  # rclpy without raw subscriptions
                return self.create_subscription(msg_type, topic, callback, qos_profile_sensor_data)

    return RewindCollector()


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the node until interrupted."""
    try:
        import rclpy
    except ImportError:
        print("rewind_ros2: rclpy is not importable: source your ROS 2 setup (e.g. /opt/ros/humble/setup.bash) first", file=sys.stderr)
        return 2
    rclpy.init(args=argv)
    node = build_node()
    try:
        rclpy.spin(node)
    except KeyboardInterrupt:
        pass
    finally:
        node.collector.out.close()
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0
