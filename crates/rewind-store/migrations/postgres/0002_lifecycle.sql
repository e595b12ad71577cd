-- The incident lifecycle: incidents grouped by fingerprint (many bundles
-- each), an append-only timeline, tokens, devices and deploys.
-- Times are Unix nanoseconds (UTC). Never edit a shipped migration.
--
-- As on SQLite (which cannot drop 0001's UNIQUE(bundle_id)), the incidents
-- table is rebuilt: the old rows are set aside, the new table is created, and every
-- old incident (one bundle each) becomes an incident with one bundle, an
-- `opened` timeline entry and, when its status was not `open`, a
-- `transition` entry, so that the timeline replays to the stored status.
-- Old rows get the fingerprint 'legacy-' || id: they never join new triggers.

CREATE TABLE incidents_v1 AS SELECT * FROM incidents;
DROP TABLE incidents;

CREATE TABLE incidents (
    id                  TEXT    PRIMARY KEY NOT NULL,
    device_id           TEXT    NOT NULL,
    fleet               TEXT,
    service             TEXT,
    rule                TEXT    NOT NULL,
    rule_type           TEXT    NOT NULL,
    severity            TEXT    NOT NULL,
    status              TEXT    NOT NULL
        CHECK (status IN ('open', 'acknowledged', 'mitigated', 'resolved')),
    summary             TEXT    NOT NULL,
    fingerprint         TEXT    NOT NULL,
    occurrences         BIGINT NOT NULL CHECK (occurrences >= 1),
    triggered_at        BIGINT NOT NULL,
    last_triggered_at   BIGINT NOT NULL,
    window_start        BIGINT NOT NULL,
    window_end          BIGINT NOT NULL,
    received_at         BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    latest_bundle_id    TEXT    NOT NULL,
    latest_bundle_bytes BIGINT NOT NULL,
    reopened_from       TEXT    REFERENCES incidents (id),
    last_seq            BIGINT NOT NULL,
    trigger_json        TEXT    NOT NULL
);

INSERT INTO incidents (
    id, device_id, fleet, service, rule, rule_type, severity, status, summary,
    fingerprint, occurrences, triggered_at, last_triggered_at, window_start,
    window_end, received_at, updated_at, latest_bundle_id, latest_bundle_bytes,
    reopened_from, last_seq, trigger_json
)
SELECT
    id, device_id, NULL, (trigger_json::jsonb -> 'labels' ->> 'service'), rule,
    rule_type, severity,
    CASE status
        WHEN 'investigating' THEN 'acknowledged'
        WHEN 'closed' THEN 'resolved'
        ELSE status
    END,
    summary, 'legacy-' || id, 1, triggered_at, triggered_at, window_start,
    window_end, received_at, received_at, bundle_id, bundle_bytes, NULL,
    CASE WHEN status = 'open' THEN 1 ELSE 2 END, trigger_json
FROM incidents_v1;

CREATE TABLE bundles (
    bundle_id    TEXT    PRIMARY KEY NOT NULL,
    incident_id  TEXT    NOT NULL REFERENCES incidents (id),
    device_id    TEXT    NOT NULL,
    triggered_at BIGINT NOT NULL,
    received_at  BIGINT NOT NULL,
    bytes        BIGINT NOT NULL,
    sha256       TEXT    NOT NULL,
    blob_key     TEXT    NOT NULL,
    trigger_json TEXT    NOT NULL
);

INSERT INTO bundles (
    bundle_id, incident_id, device_id, triggered_at, received_at, bytes, sha256,
    blob_key, trigger_json
)
SELECT bundle_id, id, device_id, triggered_at, received_at, bundle_bytes,
       bundle_sha256, bundle_path, trigger_json
FROM incidents_v1;

-- One row per change. `kind` says which of the typed columns are set:
--   opened:     bundle_id, triggered_at, ref_id (reopened_from), text (reason)
--   occurrence: bundle_id, triggered_at
--   transition: from_status, to_status, text (reason)
--   note:       text
--   deploy:     ref_id (deploy id), service, version
CREATE TABLE timeline (
    incident_id  TEXT    NOT NULL REFERENCES incidents (id),
    seq          BIGINT NOT NULL CHECK (seq >= 1),
    at           BIGINT NOT NULL,
    actor        TEXT    NOT NULL,
    kind         TEXT    NOT NULL
        CHECK (kind IN ('opened', 'occurrence', 'transition', 'note', 'deploy')),
    bundle_id    TEXT,
    triggered_at BIGINT,
    from_status  TEXT,
    to_status    TEXT,
    text         TEXT,
    ref_id       TEXT,
    service      TEXT,
    version      TEXT,
    PRIMARY KEY (incident_id, seq)
);

INSERT INTO timeline (incident_id, seq, at, actor, kind, bundle_id, triggered_at)
SELECT id, 1, received_at, 'device:' || device_id, 'opened', bundle_id, triggered_at
FROM incidents_v1;

INSERT INTO timeline (incident_id, seq, at, actor, kind, from_status, to_status, text)
SELECT id, 2, received_at, 'rewind', 'transition', 'open',
       CASE status
           WHEN 'investigating' THEN 'acknowledged'
           WHEN 'closed' THEN 'resolved'
           ELSE status
       END,
       'migrated from status ' || status
FROM incidents_v1
WHERE status <> 'open';

CREATE TABLE tokens (
    id          TEXT    PRIMARY KEY NOT NULL,
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('user', 'device')),
    role        TEXT,
    device_id   TEXT,
    secret_hash TEXT    NOT NULL UNIQUE,
    prefix      TEXT    NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    revoked_at  BIGINT,
    CHECK ((kind = 'user' AND role IS NOT NULL AND device_id IS NULL)
        OR (kind = 'device' AND role IS NULL AND device_id IS NOT NULL))
);

CREATE TABLE devices (
    device_id        TEXT    PRIMARY KEY NOT NULL,
    fleet            TEXT,
    site             TEXT,
    hardware         TEXT,
    software_version TEXT,
    agent_version    TEXT,
    first_seen_at    BIGINT NOT NULL,
    last_seen_at     BIGINT NOT NULL
);

INSERT INTO devices (device_id, first_seen_at, last_seen_at)
SELECT device_id, MIN(received_at), MAX(received_at)
FROM incidents_v1
GROUP BY device_id;

CREATE TABLE deploys (
    id          TEXT    PRIMARY KEY NOT NULL,
    service     TEXT    NOT NULL,
    version     TEXT    NOT NULL,
    environment TEXT    NOT NULL,
    commit_sha  TEXT,
    actor       TEXT,
    at          BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL
);

DROP TABLE incidents_v1;

-- At most one active incident per fingerprint, whatever the concurrency.
CREATE UNIQUE INDEX incidents_active_fingerprint
    ON incidents (fingerprint) WHERE status <> 'resolved';
-- The list: keyset order (triggered_at DESC, id DESC), alone or per filter.
CREATE INDEX incidents_by_time ON incidents (triggered_at DESC, id DESC);
CREATE INDEX incidents_by_status ON incidents (status, triggered_at DESC, id DESC);
CREATE INDEX incidents_by_device ON incidents (device_id, triggered_at DESC, id DESC);
CREATE INDEX incidents_by_fleet ON incidents (fleet, triggered_at DESC, id DESC);
CREATE INDEX incidents_by_service ON incidents (service, triggered_at DESC, id DESC);
CREATE INDEX incidents_by_rule ON incidents (rule, triggered_at DESC, id DESC);
CREATE INDEX incidents_by_reopened_from ON incidents (reopened_from);
CREATE INDEX bundles_by_incident ON bundles (incident_id, received_at);
CREATE INDEX deploys_by_service ON deploys (service, at DESC);
CREATE INDEX deploys_by_environment ON deploys (environment, at DESC);
CREATE INDEX deploys_by_time ON deploys (at DESC);

-- The timeline is append-only.
CREATE FUNCTION rewind_timeline_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'timeline is append-only: entries are never %d', lower(TG_OP);
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER timeline_append_only BEFORE UPDATE OR DELETE ON timeline
    FOR EACH ROW EXECUTE FUNCTION rewind_timeline_append_only();
CREATE TRIGGER timeline_no_truncate BEFORE TRUNCATE ON timeline
    FOR EACH STATEMENT EXECUTE FUNCTION rewind_timeline_append_only();

-- A resolved incident is never changed again (reopening creates a new one).
CREATE FUNCTION rewind_resolved_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'incident % is resolved and immutable', OLD.id;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER incidents_resolved_immutable BEFORE UPDATE ON incidents
    FOR EACH ROW WHEN (OLD.status = 'resolved')
    EXECUTE FUNCTION rewind_resolved_immutable();
