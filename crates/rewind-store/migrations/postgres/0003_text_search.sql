-- Text search for the incident list (`IncidentFilter::text`: the rule or the
-- summary contains the text, case-insensitively, `rule ILIKE '%…%' OR
-- summary ILIKE '%…%'`) without reading the whole table when the text is
-- rare: trigram GIN indexes (pg_trgm) on `rule` and on `summary`, which
-- ILIKE with a leading wildcard can use (a BitmapOr of the two).
--
-- pg_trgm is a contrib extension, trusted since PostgreSQL 13 (a database
-- owner may create it). An extension exists once per database, in one
-- schema, while Rewind's tables may live in any schema (one per test, one
-- per installation): it is created in `public` when missing, and its
-- operator class is named through whatever schema it is in.
--
-- When the extension cannot be had (not installed on the server, not
-- allowed), the indexes are skipped with a WARNING instead of failing the
-- migration: search stays correct, only slower (a scan). Creating the
-- extension and the indexes later by hand, as below, is enough.
DO $$
DECLARE
    trgm_schema name;
BEGIN
    SELECT n.nspname INTO trgm_schema
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_trgm';
    IF trgm_schema IS NULL THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'rewind: no pg_trgm (% %): incident text search will scan',
                SQLSTATE, SQLERRM;
            RETURN;
        END;
        SELECT n.nspname INTO trgm_schema
        FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = 'pg_trgm';
    END IF;
    EXECUTE format(
        'CREATE INDEX incidents_rule_trgm ON incidents USING gin (rule %I.gin_trgm_ops) WITH (fastupdate = off)',
        trgm_schema);
    EXECUTE format(
        'CREATE INDEX incidents_summary_trgm ON incidents USING gin (summary %I.gin_trgm_ops) WITH (fastupdate = off)',
        trgm_schema);
END
$$;
