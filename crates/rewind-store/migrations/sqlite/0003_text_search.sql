-- Text search for the incident list (`IncidentFilter::text`: the rule or the
-- summary contains the text, ASCII case-insensitively) without reading the
-- whole table when the text is rare.
--
-- An FTS5 table with the trigram tokenizer indexes every three-character
-- substring of `rule` and `summary`. It is external-content (the text stays
-- only in `incidents`; the FTS rowid is the incidents rowid, which VACUUM
-- keeps because the table has indexes) and kept in sync by the triggers
-- below. The list asks it for the rows that contain the text as a phrase
-- (texts of three characters or more), then checks the real condition
-- (`LIKE ... ESCAPE`) on each candidate: the trigram match folds case for
-- all of Unicode and so finds a superset of what LIKE finds.
--
-- A migration that rebuilds `incidents` must rebuild this index too:
-- INSERT INTO incidents_text (incidents_text) VALUES ('rebuild').

CREATE VIRTUAL TABLE incidents_text USING fts5 (
    rule,
    summary,
    content = 'incidents',
    content_rowid = 'rowid',
    tokenize = 'trigram'
);

INSERT INTO incidents_text (incidents_text) VALUES ('rebuild');

CREATE TRIGGER incidents_text_insert AFTER INSERT ON incidents
BEGIN
    INSERT INTO incidents_text (rowid, rule, summary)
    VALUES (NEW.rowid, NEW.rule, NEW.summary);
END;

-- Incidents are updated on every occurrence and transition, but their text
-- rarely changes: only an update of `rule` or `summary` that changes either
-- re-indexes. (Updates of resolved incidents are refused by 0002's
-- BEFORE trigger, so they never reach this one.)
CREATE TRIGGER incidents_text_update AFTER UPDATE OF rule, summary ON incidents
WHEN OLD.rule IS NOT NEW.rule OR OLD.summary IS NOT NEW.summary
BEGIN
    INSERT INTO incidents_text (incidents_text, rowid, rule, summary)
    VALUES ('delete', OLD.rowid, OLD.rule, OLD.summary);
    INSERT INTO incidents_text (rowid, rule, summary)
    VALUES (NEW.rowid, NEW.rule, NEW.summary);
END;

CREATE TRIGGER incidents_text_delete AFTER DELETE ON incidents
BEGIN
    INSERT INTO incidents_text (incidents_text, rowid, rule, summary)
    VALUES ('delete', OLD.rowid, OLD.rule, OLD.summary);
END;
