-- Incidents, one per uploaded bundle. Times are Unix nanoseconds (UTC).
-- Append-only: never edit a migration that has shipped; add a new file.
CREATE TABLE incidents (
    id            TEXT    PRIMARY KEY NOT NULL,
    device_id     TEXT    NOT NULL,
    bundle_id     TEXT    NOT NULL UNIQUE,
    rule          TEXT    NOT NULL,
    rule_type     TEXT    NOT NULL,
    severity      TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    summary       TEXT    NOT NULL,
    triggered_at  INTEGER NOT NULL,
    window_start  INTEGER NOT NULL,
    window_end    INTEGER NOT NULL,
    received_at   INTEGER NOT NULL,
    bundle_path   TEXT    NOT NULL,
    bundle_bytes  INTEGER NOT NULL,
    bundle_sha256 TEXT    NOT NULL,
    trigger_json  TEXT    NOT NULL
);

CREATE INDEX incidents_by_time ON incidents (triggered_at DESC);
CREATE INDEX incidents_by_device ON incidents (device_id, triggered_at DESC);
