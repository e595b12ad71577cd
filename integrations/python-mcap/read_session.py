"""Reads Rewind recorder session files with the PyPI ``mcap`` reader.

Prints one JSON object on stdout::

    {"files": [...], "messages": 6000,
     "topics": {"/dam/cycle": 3000, ...},
     "metadata": {"rewind.session": {...}, ...},
     "time_range": [first_log_time_ns, last_log_time_ns]}

Every message is read (``iter_messages``, which uses the summary when the file
has one) and every payload must decode as JSON unless ``--raw`` is given.
Files are read in the order given; their counts add up.

Run::

    python3 -m pip install -r integrations/python-mcap/requirements.txt
    python3 integrations/python-mcap/read_session.py SESSION_000.mcap [MORE.mcap ...]

The Rust test ``python::python_reads_what_rust_wrote`` in
``crates/rewind-recorder`` runs this script and compares its output with the
Rust reader's. Exit status: 0 ok, 1 a file could not be read, 2 usage.
"""

import argparse
import json
import sys
from collections import Counter


def read(paths, raw):
    from mcap.reader import make_reader  # imported here so --help needs no package

    topics = Counter()
    metadata = {}
    first = None
    last = None
    for path in paths:
        with open(path, "rb") as f:
            reader = make_reader(f)
            for _schema, channel, message in reader.iter_messages(log_time_order=False):
                topics[channel.topic] += 1
                if not raw and channel.message_encoding == "json":
                    json.loads(message.data)
                first = message.log_time if first is None else min(first, message.log_time)
                last = message.log_time if last is None else max(last, message.log_time)
            for record in reader.iter_metadata():
                metadata[record.name] = dict(record.metadata)
    return {
        "files": list(paths),
        "messages": sum(topics.values()),
        "topics": dict(sorted(topics.items())),
        "metadata": metadata,
        "time_range": [first, last] if first is not None else None,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", help="MCAP files of one session, in order")
    parser.add_argument("--raw", action="store_true", help="do not decode payloads as JSON")
    args = parser.parse_args(argv)
    try:
        out = read(args.files, args.raw)
    except Exception as e:  # report any reader failure as data, not a traceback
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    json.dump(out, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
