//! The incident lifecycle and its timeline: transitions (compare-and-set on
//! the status), notes, deploy links, reopening, reading the timeline.
//!
//! Every entry takes the next `seq` from `incidents.last_seq`, bumped in the
//! same transaction by the UPDATE that changes the incident, so the timeline
//! numbers from 1 without gaps and two writers never take the same number.

macro_rules! lifecycle_methods {
    ($store:ident, $db:ty) => {
        impl $store {
            /// How often a transition re-reads the status after another
            /// writer moved the incident between its read and its update.
            const TRANSITION_ATTEMPTS: u32 = 8;

            /// Appends `entry` (its `seq` already taken from `last_seq`).
            async fn insert_entry(
                tx: &mut sqlx::Transaction<'static, $db>,
                incident_id: &str,
                entry: &rewind_model::TimelineEntry,
            ) -> $crate::Result<()> {
                let c = $crate::sql::rows::EntryColumns::of(&entry.change);
                sqlx::query(
                    "INSERT INTO timeline (incident_id, seq, at, actor, kind, bundle_id, \
                     triggered_at, from_status, to_status, text, ref_id, service, version) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                )
                .bind(incident_id)
                .bind(i64::from(entry.seq))
                .bind(entry.at.as_unix_nanos())
                .bind(&entry.actor)
                .bind(c.kind)
                .bind(c.bundle_id)
                .bind(c.triggered_at)
                .bind(c.from_status)
                .bind(c.to_status)
                .bind(c.text)
                .bind(c.ref_id)
                .bind(c.service)
                .bind(c.version)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            async fn do_transition(
                &self,
                id: rewind_model::IncidentId,
                change: &$crate::TransitionChange,
            ) -> $crate::Result<rewind_model::IncidentSummary> {
                use $crate::sql::rows::{IncidentRow, summary_columns};
                use rewind_model::{Change, IncidentStatus, TimelineEntry};

                let key = id.to_string();
                let mut tx = self.begin_write().await?;
                for _ in 0..Self::TRANSITION_ATTEMPTS {
                    let current: Option<(String,)> =
                        sqlx::query_as("SELECT status FROM incidents WHERE id = $1")
                            .bind(&key)
                            .fetch_optional(&mut *tx)
                            .await?;
                    let (current,) =
                        current.ok_or_else(|| $crate::Error::not_found(format!("incident {id}")))?;
                    let from: IncidentStatus = current
                        .parse()
                        .map_err(|e| $crate::Error::corrupt("incidents.status", e))?;
                    if !from.can_transition(change.to) {
                        return Err($crate::Error::InvalidTransition {
                            from,
                            to: change.to,
                            allowed: from.allowed_next().to_vec(),
                        });
                    }
                    // Compare-and-set: only from the status just read.
                    let row: Option<IncidentRow> = sqlx::query_as(concat!(
                        "UPDATE incidents SET status = $3, last_seq = last_seq + 1, \
                         updated_at = $4 WHERE id = $1 AND status = $2 RETURNING ",
                        summary_columns!()
                    ))
                    .bind(&key)
                    .bind(from.as_str())
                    .bind(change.to.as_str())
                    .bind(change.at.as_unix_nanos())
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(row) = row else {
                        continue; // someone moved it first: read again
                    };
                    let entry = TimelineEntry {
                        seq: row.last_seq()?,
                        at: change.at,
                        actor: change.actor.clone(),
                        change: Change::Transition {
                            from,
                            to: change.to,
                            reason: change.reason.clone(),
                        },
                    };
                    Self::insert_entry(&mut tx, &key, &entry).await?;
                    let summary = row.summary()?;
                    tx.commit().await?;
                    return Ok(summary);
                }
                Err($crate::Error::Conflict {
                    constraint: "incidents.status (changed concurrently)".to_owned(),
                })
            }

            /// Appends a note or deploy link to an active incident.
            async fn append_entry(
                &self,
                id: rewind_model::IncidentId,
                actor: &str,
                change: rewind_model::Change,
                at: rewind_model::Timestamp,
            ) -> $crate::Result<rewind_model::TimelineEntry> {
                let key = id.to_string();
                let mut tx = self.begin_write().await?;
                let seq: Option<(i64,)> = sqlx::query_as(
                    "UPDATE incidents SET last_seq = last_seq + 1, updated_at = $2 \
                     WHERE id = $1 AND status <> 'resolved' RETURNING last_seq",
                )
                .bind(&key)
                .bind(at.as_unix_nanos())
                .fetch_optional(&mut *tx)
                .await?;
                let Some((seq,)) = seq else {
                    let exists: Option<(String,)> =
                        sqlx::query_as("SELECT status FROM incidents WHERE id = $1")
                            .bind(&key)
                            .fetch_optional(&mut *tx)
                            .await?;
                    return Err(match exists {
                        Some(_) => $crate::Error::Immutable { id },
                        None => $crate::Error::not_found(format!("incident {id}")),
                    });
                };
                let entry = rewind_model::TimelineEntry {
                    seq: u32::try_from(seq)
                        .map_err(|e| $crate::Error::corrupt("incidents.last_seq", e))?,
                    at,
                    actor: actor.to_owned(),
                    change,
                };
                Self::insert_entry(&mut tx, &key, &entry).await?;
                tx.commit().await?;
                Ok(entry)
            }

            async fn do_attach_deploy(
                &self,
                id: rewind_model::IncidentId,
                deploy: rewind_model::DeployId,
                actor: &str,
                at: rewind_model::Timestamp,
            ) -> $crate::Result<rewind_model::TimelineEntry> {
                let found: Option<(String, String)> =
                    sqlx::query_as("SELECT service, version FROM deploys WHERE id = $1")
                        .bind(deploy.to_string())
                        .fetch_optional(&self.pool)
                        .await?;
                let (service, version) =
                    found.ok_or_else(|| $crate::Error::not_found(format!("deploy {deploy}")))?;
                let change = rewind_model::Change::Deploy {
                    deploy_id: deploy,
                    service,
                    version,
                };
                self.append_entry(id, actor, change, at).await
            }

            async fn do_reopen(
                &self,
                id: rewind_model::IncidentId,
                actor: &str,
                reason: Option<&str>,
                at: rewind_model::Timestamp,
            ) -> $crate::Result<rewind_model::IncidentSummary> {
                use $crate::sql::rows::{IncidentRow, record_columns};
                use rewind_model::{Change, IncidentId, IncidentStatus, TimelineEntry};

                let old_key = id.to_string();
                let mut tx = self.begin_write().await?;
                let old = Self::incident_row(&mut *tx, &old_key)
                    .await?
                    .ok_or_else(|| $crate::Error::not_found(format!("incident {id}")))?;
                let status = old.status()?;
                if status != IncidentStatus::Resolved {
                    return Err($crate::Error::InvalidTransition {
                        from: status,
                        to: IncidentStatus::Open,
                        allowed: status.allowed_next().to_vec(),
                    });
                }
                // A copy of the old row (first trigger, latest bundle), open,
                // one occurrence, linked back. An active incident with the same
                // fingerprint makes the partial unique index refuse it.
                let new_id = IncidentId::new_v7();
                let row: IncidentRow = sqlx::query_as(concat!(
                    "INSERT INTO incidents (id, device_id, fleet, service, rule, rule_type, \
                     severity, status, summary, fingerprint, occurrences, triggered_at, \
                     last_triggered_at, window_start, window_end, received_at, updated_at, \
                     latest_bundle_id, latest_bundle_bytes, reopened_from, last_seq, \
                     trigger_json) \
                     SELECT $1, device_id, fleet, service, rule, rule_type, severity, 'open', \
                     summary, fingerprint, 1, triggered_at, last_triggered_at, window_start, \
                     window_end, received_at, $3, latest_bundle_id, latest_bundle_bytes, id, 1, \
                     trigger_json FROM incidents WHERE id = $2 RETURNING ",
                    record_columns!()
                ))
                .bind(new_id.to_string())
                .bind(&old_key)
                .bind(at.as_unix_nanos())
                .fetch_one(&mut *tx)
                .await?;
                let entry = TimelineEntry {
                    seq: 1,
                    at,
                    actor: actor.to_owned(),
                    change: Change::Opened {
                        bundle_id: old
                            .latest_bundle_id
                            .parse()
                            .map_err(|e| $crate::Error::corrupt("latest_bundle_id", e))?,
                        triggered_at: rewind_model::Timestamp::from_unix_nanos(
                            old.last_triggered_at,
                        ),
                        reopened_from: Some(id),
                        reason: reason.map(str::to_owned),
                    },
                };
                Self::insert_entry(&mut tx, &row.id, &entry).await?;
                let summary = row.summary()?;
                tx.commit().await?;
                Ok(summary)
            }

            async fn do_timeline(
                &self,
                id: rewind_model::IncidentId,
            ) -> $crate::Result<Vec<rewind_model::TimelineEntry>> {
                use $crate::sql::rows::{TimelineRow, timeline_columns};
                let key = id.to_string();
                let rows: Vec<TimelineRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    timeline_columns!(),
                    " FROM timeline WHERE incident_id = $1 ORDER BY seq"
                ))
                .bind(&key)
                .fetch_all(&self.pool)
                .await?;
                if rows.is_empty() {
                    let exists: Option<(i64,)> =
                        sqlx::query_as("SELECT last_seq FROM incidents WHERE id = $1")
                            .bind(&key)
                            .fetch_optional(&self.pool)
                            .await?;
                    if exists.is_none() {
                        return Err($crate::Error::not_found(format!("incident {id}")));
                    }
                }
                rows.into_iter().map(TimelineRow::entry).collect()
            }

            async fn do_latest_entry(
                &self,
                id: rewind_model::IncidentId,
            ) -> $crate::Result<Option<rewind_model::TimelineEntry>> {
                use $crate::sql::rows::{TimelineRow, timeline_columns};
                let row: Option<TimelineRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    timeline_columns!(),
                    " FROM timeline WHERE incident_id = $1 ORDER BY seq DESC LIMIT 1"
                ))
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
                row.map(TimelineRow::entry).transpose()
            }
        }
    };
}
pub(crate) use lifecycle_methods;
