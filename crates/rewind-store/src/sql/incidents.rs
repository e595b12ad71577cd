//! Ingest (open or join by fingerprint), the incident list, one incident,
//! one bundle.

macro_rules! incident_methods {
    ($store:ident, $db:ty, $like:literal, $text_index:expr) => {
        impl $store {

            /// The text index's condition, up to the bound FTS5 phrase
            /// (SQLite); `None` where the `$like` test itself uses the index
            /// (PostgreSQL's trigram GIN indexes serve ILIKE).
            const TEXT_INDEX_MATCH: Option<&'static str> = $text_index;

            /// How often an ingest that lost a race (a concurrent open of the
            /// same fingerprint, a concurrent upload of the same bundle) is
            /// tried again; the retry joins or answers `AlreadyStored`.
            const INGEST_ATTEMPTS: u32 = 5;

            async fn do_ingest(&self, new: &$crate::NewBundle) -> $crate::Result<$crate::Ingested> {
                let mut attempt = 1;
                loop {
                    match self.try_ingest(new).await {
                        Err($crate::Error::Conflict { .. }) if attempt < Self::INGEST_ATTEMPTS => {
                            attempt += 1;
                        }
                        other => return other,
                    }
                }
            }

            async fn try_ingest(&self, new: &$crate::NewBundle) -> $crate::Result<$crate::Ingested> {
                use $crate::sql::rows::{IncidentRow, bytes_to_db, record_columns};
                use $crate::{Error, IngestOutcome, Ingested};
                use rewind_model::{Change, IncidentId, TimelineEntry};

                let mut tx = self.begin_write().await?;
                let bundle_id = new.bundle_id.to_string();
                let stored: Option<(String, String)> =
                    sqlx::query_as("SELECT incident_id, sha256 FROM bundles WHERE bundle_id = $1")
                        .bind(&bundle_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                if let Some((incident_id, sha256)) = stored {
                    if sha256 != new.sha256 {
                        return Err(Error::BundleConflict { bundle_id: new.bundle_id });
                    }
                    let row = Self::incident_row(&mut *tx, &incident_id)
                        .await?
                        .ok_or_else(|| Error::corrupt("bundles.incident_id", "no such incident"))?;
                    return Ok(Ingested {
                        outcome: IngestOutcome::AlreadyStored,
                        incident: row.summary()?,
                    });
                }

                let fired_at = new.trigger.fired_at.as_unix_nanos();
                let received_at = new.received_at.as_unix_nanos();
                let bytes = bytes_to_db(new.bytes);
                let trigger_json = $crate::sql::rows::trigger_json(&new.trigger)?;
                // Join: the active incident with this fingerprint, if any. The
                // UPDATE locks the row (PostgreSQL) so concurrent joins count.
                let joined: Option<IncidentRow> = sqlx::query_as(concat!(
                    "UPDATE incidents SET occurrences = occurrences + 1, \
                     last_seq = last_seq + 1, \
                     last_triggered_at = CASE WHEN $2 > last_triggered_at THEN $2 \
                                              ELSE last_triggered_at END, \
                     latest_bundle_id = $3, latest_bundle_bytes = $4, updated_at = $5 \
                     WHERE fingerprint = $1 AND status <> 'resolved' RETURNING ",
                    record_columns!()
                ))
                .bind(&new.fingerprint)
                .bind(fired_at)
                .bind(&bundle_id)
                .bind(bytes)
                .bind(received_at)
                .fetch_optional(&mut *tx)
                .await?;
                let (outcome, row, change) = match joined {
                    Some(row) => {
                        let change = Change::Occurrence {
                            bundle_id: new.bundle_id,
                            triggered_at: new.trigger.fired_at,
                        };
                        (IngestOutcome::Joined, row, change)
                    }
                    None => {
                        // Open. A concurrent open of the same fingerprint makes
                        // the partial unique index refuse this one (Conflict):
                        // the retry joins it.
                        let id = IncidentId::new_v7();
                        let row: IncidentRow = sqlx::query_as(concat!(
                            "INSERT INTO incidents (id, device_id, fleet, service, rule, \
                             rule_type, severity, status, summary, fingerprint, occurrences, \
                             triggered_at, last_triggered_at, window_start, window_end, \
                             received_at, updated_at, latest_bundle_id, latest_bundle_bytes, \
                             reopened_from, last_seq, trigger_json) VALUES ($1, $2, $3, $4, $5, \
                             $6, $7, 'open', $8, $9, 1, $10, $10, $11, $12, $13, $13, $14, $15, \
                             NULL, 1, $16) RETURNING ",
                            record_columns!()
                        ))
                        .bind(id.to_string())
                        .bind(new.device_id.as_str())
                        .bind(new.fleet.as_deref())
                        .bind(new.service.as_deref())
                        .bind(&new.trigger.rule)
                        .bind(&new.trigger.rule_type)
                        .bind(new.trigger.severity.as_str())
                        .bind(&new.trigger.summary)
                        .bind(&new.fingerprint)
                        .bind(fired_at)
                        .bind(new.window.start.as_unix_nanos())
                        .bind(new.window.end.as_unix_nanos())
                        .bind(received_at)
                        .bind(&bundle_id)
                        .bind(bytes)
                        .bind(&trigger_json)
                        .fetch_one(&mut *tx)
                        .await?;
                        let change = Change::Opened {
                            bundle_id: new.bundle_id,
                            triggered_at: new.trigger.fired_at,
                            reopened_from: None,
                            reason: None,
                        };
                        (IngestOutcome::Opened, row, change)
                    }
                };
                sqlx::query(
                    "INSERT INTO bundles (bundle_id, incident_id, device_id, triggered_at, \
                     received_at, bytes, sha256, blob_key, trigger_json) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&bundle_id)
                .bind(&row.id)
                .bind(new.device_id.as_str())
                .bind(fired_at)
                .bind(received_at)
                .bind(bytes)
                .bind(&new.sha256)
                .bind(&new.blob_key)
                .bind(&trigger_json)
                .execute(&mut *tx)
                .await?;
                let entry = TimelineEntry {
                    seq: row.last_seq()?,
                    at: new.received_at,
                    actor: new.actor.clone(),
                    change,
                };
                Self::insert_entry(&mut tx, &row.id, &entry).await?;
                let incident = row.summary()?;
                tx.commit().await?;
                Ok(Ingested { outcome, incident })
            }

            /// How many of the newest incidents (after the other filters) a
            /// text search reads before it asks the text index instead: 20
            /// pages' worth, within bounds. A text that fills a page from
            /// them is common and answered by the walk down the time index;
            /// one that does not is rare enough (fewer than one incident in
            /// 20 lately) that the index's candidates are few to sort.
            fn text_window(take: i64) -> i64 {
                (take * 20).clamp(1_000, 5_000)
            }

            async fn do_list_incidents(
                &self,
                filter: &$crate::IncidentFilter,
            ) -> $crate::Result<$crate::IncidentPage> {
                use $crate::sql::rows::IncidentRow;

                let limit = filter.limit.max(1);
                let take = i64::from(limit) + 1;
                let rows: Vec<IncidentRow> = match filter.text.as_deref() {
                    Some(text) if $crate::sql::rows::text_is_indexable(text) => {
                        self.list_by_text(filter, text, take).await?
                    }
                    text => {
                        let mut qb = Self::list_query(filter, text);
                        qb.push(" ORDER BY triggered_at DESC, id DESC LIMIT ")
                            .push_bind(take);
                        qb.build_query_as()
                            .persistent(text.is_none())
                            .fetch_all(&self.pool)
                            .await?
                    }
                };
                let mut incidents = rows
                    .iter()
                    .map(IncidentRow::summary)
                    .collect::<$crate::Result<Vec<_>>>()?;
                let more = incidents.len() > limit as usize;
                incidents.truncate(limit as usize);
                let next = match incidents.last() {
                    Some(last) if more => Some($crate::Cursor {
                        triggered_at: last.triggered_at.as_unix_nanos(),
                        id: last.id,
                    }),
                    _ => None,
                };
                Ok($crate::IncidentPage { incidents, next })
            }

            /// The first `take` incidents of a text search (text of three
            /// characters or more), newest first, by the cheaper of two plans:
            ///
            /// 1. Walk the time index through the newest `text_window`
            ///    incidents that pass the other filters, testing the text on
            ///    each: a common text fills the page there.
            /// 2. Otherwise ask the text index for the incidents that contain
            ///    the text (FTS5 trigram on SQLite, pg_trgm GIN on PostgreSQL),
            ///    and sort those few; ordering by `+triggered_at` keeps the
            ///    planner from walking the time index again.
            ///
            /// Both test the exact condition (`LIKE`/`ILIKE`) on every row.
            /// Queries with a text are never kept prepared: PostgreSQL would
            /// switch to a generic plan, which cannot tell a common pattern
            /// from a rare one (and reads the trigram index for both).
            async fn list_by_text(
                &self,
                filter: &$crate::IncidentFilter,
                text: &str,
                take: i64,
            ) -> $crate::Result<Vec<$crate::sql::rows::IncidentRow>> {
                let window = Self::text_window(take);
                if take < window {
                    // The oldest incident of the window, if there are that many.
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "SELECT triggered_at, id FROM incidents WHERE 1 = 1",
                    );
                    Self::push_filters(&mut qb, filter);
                    // Inline (our number): a generic plan for an unknown
                    // OFFSET sorts everything the filters let through.
                    qb.push(format!(
                        " ORDER BY triggered_at DESC, id DESC LIMIT 1 OFFSET {}",
                        window - 1
                    ));
                    let edge: Option<(i64, String)> =
                        qb.build_query_as().fetch_optional(&self.pool).await?;
                    // The same walk, bounded by the window's edge. (PostgreSQL
                    // may instead intersect the trigram and time indexes when
                    // it expects few matches there: bounded too.)
                    let mut qb = Self::list_query(filter, Some(text));
                    if let Some((edge_at, edge_id)) = &edge {
                        qb.push(" AND triggered_at >= ")
                            .push_bind(*edge_at)
                            .push(" AND (triggered_at > ")
                            .push_bind(*edge_at)
                            .push(" OR id >= ")
                            .push_bind(edge_id.clone())
                            .push(")");
                    }
                    qb.push(" ORDER BY triggered_at DESC, id DESC LIMIT ")
                        .push_bind(take);
                    let rows: Vec<$crate::sql::rows::IncidentRow> = qb
                        .build_query_as()
                        .persistent(false)
                        .fetch_all(&self.pool)
                        .await?;
                    // A full page, or every incident the other filters let
                    // through (fewer than the window): the answer.
                    if edge.is_none() || rows.len() as i64 >= take {
                        return Ok(rows);
                    }
                }
                let mut qb = Self::list_query(filter, Some(text));
                if let Some(matches) = Self::TEXT_INDEX_MATCH {
                    qb.push(matches)
                        .push_bind($crate::sql::rows::fts_phrase(text))
                        .push(")");
                }
                qb.push(" ORDER BY +triggered_at DESC, id DESC LIMIT ")
                    .push_bind(take);
                Ok(qb
                    .build_query_as()
                    .persistent(false)
                    .fetch_all(&self.pool)
                    .await?)
            }

            /// `SELECT … FROM incidents WHERE` every filter but the text, and
            /// the text's exact test when `text` is given; unordered.
            fn list_query(
                filter: &$crate::IncidentFilter,
                text: Option<&str>,
            ) -> sqlx::QueryBuilder<$db> {
                let mut qb = sqlx::QueryBuilder::<$db>::new(concat!(
                    "SELECT ",
                    $crate::sql::rows::summary_columns!(),
                    " FROM incidents WHERE 1 = 1"
                ));
                Self::push_filters(&mut qb, filter);
                if let Some(text) = text {
                    Self::push_text(&mut qb, text);
                }
                qb
            }

            /// ` AND` the rule or the summary contains `text`.
            fn push_text(qb: &mut sqlx::QueryBuilder<$db>, text: &str) {
                let pattern = $crate::sql::rows::contains_pattern(text);
                // `$like` is ASCII case-insensitive on SQLite (its LIKE) and
                // case-insensitive on PostgreSQL (ILIKE); no LOWER() per row.
                qb.push(concat!(" AND (rule ", $like, " "))
                    .push_bind(pattern.clone())
                    .push(concat!(" ESCAPE '\\' OR summary ", $like, " "))
                    .push_bind(pattern)
                    .push(" ESCAPE '\\')");
            }

            /// ` AND …` for every filter but the text, the cursor included.
            fn push_filters(qb: &mut sqlx::QueryBuilder<$db>, filter: &$crate::IncidentFilter) {
                if !filter.statuses.is_empty() {
                    // Enum names, never input: safe to inline.
                    let list = $crate::sql::rows::status_in_list(&filter.statuses);
                    qb.push(format!(" AND status IN ({list})"));
                }
                if let Some(min) = filter.min_severity {
                    let list = $crate::sql::rows::severity_in_list(min);
                    qb.push(format!(" AND severity IN ({list})"));
                }
                if let Some(fleet) = &filter.fleet {
                    qb.push(" AND fleet = ").push_bind(fleet.clone());
                }
                if let Some(device) = &filter.device_id {
                    qb.push(" AND device_id = ").push_bind(device.as_str().to_owned());
                }
                if let Some(service) = &filter.service {
                    qb.push(" AND service = ").push_bind(service.clone());
                }
                if let Some(rule) = &filter.rule {
                    qb.push(" AND rule = ").push_bind(rule.clone());
                }
                if let Some(since) = filter.since {
                    qb.push(" AND triggered_at >= ").push_bind(since.as_unix_nanos());
                }
                if let Some(until) = filter.until {
                    qb.push(" AND triggered_at < ").push_bind(until.as_unix_nanos());
                }
                if let Some(after) = filter.after {
                    // `<=` first so the time index bounds the scan.
                    qb.push(" AND triggered_at <= ")
                        .push_bind(after.triggered_at)
                        .push(" AND (triggered_at < ")
                        .push_bind(after.triggered_at)
                        .push(" OR id < ")
                        .push_bind(after.id.to_string())
                        .push(")");
                }
            }

            async fn do_get_incident(
                &self,
                id: rewind_model::IncidentId,
            ) -> $crate::Result<$crate::IncidentRecord> {
                use $crate::sql::rows::{BundleRow, bundle_columns};

                let key = id.to_string();
                let row = Self::incident_row(&self.pool, &key)
                    .await?
                    .ok_or_else(|| $crate::Error::not_found(format!("incident {id}")))?;
                // Its own bundles, and the latest one even when it belongs to
                // the incident this one reopens.
                let bundles: Vec<BundleRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    bundle_columns!(),
                    " FROM bundles WHERE incident_id = $1 OR bundle_id = $2 \
                     ORDER BY received_at, bundle_id"
                ))
                .bind(&key)
                .bind(&row.latest_bundle_id)
                .fetch_all(&self.pool)
                .await?;
                let reopened_as: Option<(String,)> = sqlx::query_as(
                    "SELECT id FROM incidents WHERE reopened_from = $1 ORDER BY id DESC LIMIT 1",
                )
                .bind(&key)
                .fetch_optional(&self.pool)
                .await?;
                let mut latest_blob_key = None;
                let mut refs = Vec::with_capacity(bundles.len());
                for b in bundles {
                    let b = b.record()?;
                    if b.bundle.bundle_id.to_string() == row.latest_bundle_id {
                        latest_blob_key = Some(b.blob_key);
                    }
                    refs.push(b.bundle);
                }
                Ok($crate::IncidentRecord {
                    summary: row.summary()?,
                    trigger: row.trigger()?,
                    bundles: refs,
                    latest_blob_key: latest_blob_key.ok_or_else(|| {
                        $crate::Error::corrupt("incidents.latest_bundle_id", "no such bundle")
                    })?,
                    reopened_as: reopened_as
                        .map(|(s,)| {
                            s.parse()
                                .map_err(|e| $crate::Error::corrupt("incidents.reopened_from", e))
                        })
                        .transpose()?,
                })
            }

            async fn do_bundle(
                &self,
                id: rewind_model::BundleId,
            ) -> $crate::Result<Option<$crate::BundleRecord>> {
                use $crate::sql::rows::{BundleRow, bundle_columns};
                let row: Option<BundleRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    bundle_columns!(),
                    " FROM bundles WHERE bundle_id = $1"
                ))
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
                row.map(BundleRow::record).transpose()
            }
        }
    };
}
pub(crate) use incident_methods;
