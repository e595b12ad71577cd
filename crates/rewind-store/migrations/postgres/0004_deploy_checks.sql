-- The final regression verdict of each deploy the server watched (issue 7):
-- written once, when the deploy's window has passed, by the regression
-- watch. A regression also opens an incident, linked here. Times are Unix
-- nanoseconds (UTC). Never edit a shipped migration.

CREATE TABLE deploy_checks (
    deploy_id   TEXT    PRIMARY KEY NOT NULL REFERENCES deploys (id),
    verdict     TEXT    NOT NULL
                CHECK (verdict IN ('regression', 'no_regression', 'inconclusive')),
    -- The verdict in plain words.
    summary     TEXT    NOT NULL,
    -- The evidence as JSON: per-metric verdicts and log signatures.
    evidence    TEXT    NOT NULL,
    incident_id TEXT    REFERENCES incidents (id),
    window_end  BIGINT NOT NULL,
    decided_at  BIGINT NOT NULL
);

CREATE INDEX deploy_checks_incident ON deploy_checks (incident_id);
