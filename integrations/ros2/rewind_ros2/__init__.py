"""Rewind's ROS 2 collector: topic rates, publisher counts and node liveness,
written to the Rewind agent's socket (see docs/agent-protocol.md).

Only ``rewind_ros2.node`` touches rclpy, and only when it runs; everything
else is plain Python (3.8+, standard library only) and tested without ROS 2.
"""

__version__ = "0.1.0"
