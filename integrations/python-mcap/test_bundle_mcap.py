"""A Rewind bundle's recording.mcap, read with the PyPI ``mcap`` package.

Checks what a third-party tool sees: the recording is a stored zip member,
it parses with ``mcap.reader.make_reader``, its channels, schemas and message
counts match the bundle's manifest, and every JSON message decodes.

Run (stdlib unittest, Python 3.9+)::

    python3 -m pip install -r integrations/python-mcap/requirements.txt
    REWIND_BUNDLE=path/to/incident.zip \\
        python3 -m unittest discover -s integrations/python-mcap -v

A bundle to test: ``cargo run -q -p rewind-bundle --example sample_bundle -- DIR``
prints the path of one it writes. Without ``REWIND_BUNDLE`` every test is
skipped, and a warning says so on stderr.
"""

import io
import json
import os
import sys
import unittest
import zipfile
from collections import Counter

BUNDLE = os.environ.get("REWIND_BUNDLE", "")

if not BUNDLE:
    print(
        "\n*** REWIND_BUNDLE is not set: the Python mcap tests are SKIPPED ***\n",
        file=sys.stderr,
    )

LOG_LEVELS = {1, 2, 3, 4, 5}
EVENT_KEYS = {"timestamp", "ts", "source", "kind", "level", "message", "fields"}


@unittest.skipUnless(BUNDLE, "REWIND_BUNDLE is not set")
class BundleMcapTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        from mcap.reader import make_reader  # imported here so a skip needs no package

        with zipfile.ZipFile(BUNDLE) as z:
            cls.manifest = json.loads(z.read("manifest.json"))
            cls.recording = cls.manifest["recording"]
            cls.info = z.getinfo(cls.recording["path"])
            cls.mcap = z.read(cls.recording["path"])
            cls.csv = {
                s["path"]: z.read(s["path"]).decode() for s in cls.manifest["series"][:5]
            }
        reader = make_reader(io.BytesIO(cls.mcap))
        cls.header = reader.get_header()
        cls.summary = reader.get_summary()
        cls.messages = [
            (schema, channel, message) for schema, channel, message in reader.iter_messages()
        ]
        cls.metadata = list(reader.iter_metadata())

    def expected_counts(self):
        m = self.manifest
        want = {"/metrics/" + s["name"]: s["samples"] for s in m["series"]}
        want["/events"] = m["events"]
        want["/logs"] = sum(log["lines"] for log in m["logs"])
        return want

    def test_the_recording_is_a_stored_member(self):
        self.assertEqual(self.info.compress_type, zipfile.ZIP_STORED)
        self.assertEqual(self.recording["compression"], "zstd")
        self.assertEqual(self.mcap[:8], b"\x89MCAP0\r\n")

    def test_chunks_are_zstd_compressed(self):
        self.assertTrue(self.summary.chunk_indexes)
        for index in self.summary.chunk_indexes:
            self.assertEqual(index.compression, "zstd")

    def test_channels_match_the_manifest(self):
        topics = sorted(c.topic for c in self.summary.channels.values())
        self.assertEqual(len(topics), self.recording["channels"])
        self.assertEqual(topics, sorted(self.expected_counts()))
        for channel in self.summary.channels.values():
            self.assertEqual(channel.message_encoding, "json")
        units = {s["name"]: s["unit"] for s in self.manifest["series"]}
        for channel in self.summary.channels.values():
            if channel.topic.startswith("/metrics/"):
                self.assertEqual(channel.metadata.get("unit"), units[channel.topic[9:]])

    def test_schemas_are_json_schemas(self):
        names = {}
        for schema in self.summary.schemas.values():
            self.assertEqual(schema.encoding, "jsonschema")
            body = json.loads(schema.data)
            self.assertEqual(body["title"], schema.name)
            self.assertEqual(body["type"], "object")
            names[schema.id] = schema.name
        self.assertEqual(sorted(names.values()), ["foxglove.Log", "rewind.Event", "rewind.Sample"])
        for channel in self.summary.channels.values():
            want = {"/events": "rewind.Event", "/logs": "foxglove.Log"}.get(channel.topic, "rewind.Sample")
            self.assertEqual(names[channel.schema_id], want, channel.topic)

    def test_message_counts_match_the_manifest(self):
        counts = Counter(channel.topic for _, channel, _ in self.messages)
        want = self.expected_counts()
        self.assertEqual(len(self.messages), self.recording["messages"])
        self.assertEqual(self.summary.statistics.message_count, self.recording["messages"])
        for topic, count in want.items():
            self.assertEqual(counts.get(topic, 0), count, topic)

    def test_messages_decode_as_json_of_their_schema(self):
        for schema, channel, message in self.messages:
            body = json.loads(message.data)
            if schema.name == "rewind.Sample":
                self.assertTrue(
                    isinstance(body.get("value"), (int, float))
                    or body.get("nonfinite") in ("NaN", "inf", "-inf"),
                    body,
                )
            elif schema.name == "rewind.Event":
                self.assertEqual(set(body), EVENT_KEYS)
                self.assertEqual(
                    message.log_time,
                    body["timestamp"]["sec"] * 1_000_000_000 + body["timestamp"]["nsec"],
                )
            else:
                self.assertIn(body["level"], LOG_LEVELS)
                self.assertIsInstance(body["message"], str)
                self.assertIsInstance(body["name"], str)

    def test_messages_are_in_time_order(self):
        times = [message.log_time for _, _, message in self.messages]
        self.assertEqual(times, sorted(times))

    def test_samples_equal_the_csv(self):
        by_topic = {}
        for _, channel, message in self.messages:
            by_topic.setdefault(channel.topic, []).append(message)
        for series in self.manifest["series"][:5]:
            rows = self.csv[series["path"]].splitlines()[1:]
            got = by_topic.get("/metrics/" + series["name"], [])
            self.assertEqual(len(got), len(rows))
            for row, message in zip(rows, got):
                _, nanos, value = row.split(",")
                if int(nanos) >= 0:
                    self.assertEqual(message.log_time, int(nanos))
                body = json.loads(message.data)
                if "value" in body:
                    self.assertEqual(body["value"], float(value))

    def test_metadata_names_the_bundle(self):
        rewind = [m for m in self.metadata if m.name == "rewind"]
        self.assertEqual(len(rewind), 1)
        meta = rewind[0].metadata
        self.assertEqual(meta["bundle_id"], self.manifest["bundle_id"])
        self.assertEqual(meta["device_id"], self.manifest["device_id"])
        self.assertEqual(meta["rule"], self.manifest["trigger"]["rule"])
        self.assertEqual(meta["format_version"], "1")


if __name__ == "__main__":
    unittest.main()
