"""``python3 -m rewind_ros2 [--ros-args -p socket_path:=/run/rewind/agent.sock]``"""

import sys

from .node import main

sys.exit(main(sys.argv))
