//! Deploy checks: the final regression verdict of each watched deploy.

/// The verdict words the `deploy_checks.verdict` column accepts.
pub(crate) const VERDICTS: [&str; 3] = ["regression", "no_regression", "inconclusive"];

macro_rules! check_methods {
    ($store:ident, $db:ty) => {
        impl $store {
            async fn do_record_check(
                &self,
                check: &$crate::StoredCheck,
            ) -> $crate::Result<$crate::StoredCheck> {
                if !$crate::sql::checks::VERDICTS.contains(&check.verdict.as_str()) {
                    return Err($crate::Error::Conflict {
                        constraint: "deploy_checks.verdict".into(),
                    });
                }
                // The deploy must exist (NotFound rather than a foreign-key error).
                self.do_get_deploy(check.deploy_id).await?;
                sqlx::query(
                    "INSERT INTO deploy_checks (deploy_id, verdict, summary, evidence, \
                     incident_id, window_end, decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (deploy_id) DO NOTHING",
                )
                .bind(check.deploy_id.to_string())
                .bind(&check.verdict)
                .bind(&check.summary)
                .bind(check.evidence.to_string())
                .bind(check.incident_id.map(|i| i.to_string()))
                .bind(check.window_end.as_unix_nanos())
                .bind(check.decided_at.as_unix_nanos())
                .execute(&self.pool)
                .await?;
                self.do_get_check(check.deploy_id)
                    .await?
                    .ok_or_else(|| $crate::Error::NotFound {
                        what: format!("check of deploy {}", check.deploy_id),
                    })
            }

            async fn do_get_check(
                &self,
                deploy: rewind_model::DeployId,
            ) -> $crate::Result<Option<$crate::StoredCheck>> {
                let row: Option<$crate::sql::rows::CheckRow> = sqlx::query_as(
                    "SELECT deploy_id, verdict, summary, evidence, incident_id, window_end, \
                     decided_at FROM deploy_checks WHERE deploy_id = $1",
                )
                .bind(deploy.to_string())
                .fetch_optional(&self.pool)
                .await?;
                row.map($crate::sql::rows::CheckRow::check).transpose()
            }
        }
    };
}

pub(crate) use check_methods;
