import threading
import unittest

from rewind_ros2.presence import NodePresence
from rewind_ros2.rates import Counted, TopicCounter


class FakeClock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class TopicCounterTest(unittest.TestCase):
    def test_counts_between_takes_with_the_time_they_cover(self):
        clock = FakeClock()
        c = TopicCounter(clock)
        c.track("/a")
        for _ in range(30):
            c.record("/a")
        c.record("/untracked")
        clock.t += 1.5
        got = c.take()
        self.assertEqual(got, {"/a": Counted(30, 1.5)})
        self.assertEqual(got["/a"].rate_hz, 20.0)
        clock.t += 1.0
        self.assertEqual(c.take(), {"/a": Counted(0, 1.0)}, "counts start over")
        self.assertEqual(Counted(5, 0.0).rate_hz, 0.0)

    def test_retain_tracks_new_topics_and_forgets_old_ones(self):
        c = TopicCounter(FakeClock())
        c.retain(["/a", "/b"])
        c.record("/a", 3)
        c.retain(["/a", "/c"])
        self.assertEqual(c.tracked(), {"/a", "/c"})
        self.assertEqual(c.take()["/a"].count, 3, "a topic kept keeps its count")

    def test_recording_from_many_threads_loses_nothing(self):
        c = TopicCounter()
        c.track("/t")
        threads = [threading.Thread(target=lambda: [c.record("/t") for _ in range(10_000)]) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(c.take()["/t"].count, 40_000)


class NodePresenceTest(unittest.TestCase):
    def test_diffs_against_the_previous_update(self):
        p = NodePresence()
        self.assertEqual(p.update(["/b", "/a"]), (["/a", "/b"], []))
        self.assertEqual(p.update(["/b", "/c"]), (["/c"], ["/a"]))
        self.assertEqual(p.update(["/b", "/c"]), ([], []))
        self.assertEqual(p.present, {"/b", "/c"})
        self.assertEqual(p.update([]), ([], ["/b", "/c"]))


if __name__ == "__main__":
    unittest.main()
