//! Deploy events, linked to incidents from their timelines.

macro_rules! deploy_methods {
    ($store:ident, $db:ty) => {
        impl $store {
            async fn do_insert_deploy(
                &self,
                new: &rewind_model::NewDeploy,
                recorded_at: rewind_model::Timestamp,
            ) -> $crate::Result<rewind_model::Deploy> {
                use $crate::sql::rows::{DeployRow, deploy_columns};
                let row: DeployRow = sqlx::query_as(concat!(
                    "INSERT INTO deploys (id, service, version, environment, commit_sha, actor, \
                     at, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ",
                    deploy_columns!()
                ))
                .bind(rewind_model::DeployId::new_v7().to_string())
                .bind(&new.service)
                .bind(&new.version)
                .bind(&new.environment)
                .bind(new.commit.as_deref())
                .bind(new.actor.as_deref())
                .bind(new.at.unwrap_or(recorded_at).as_unix_nanos())
                .bind(recorded_at.as_unix_nanos())
                .fetch_one(&self.pool)
                .await?;
                row.deploy()
            }

            async fn do_get_deploy(
                &self,
                id: rewind_model::DeployId,
            ) -> $crate::Result<rewind_model::Deploy> {
                use $crate::sql::rows::{DeployRow, deploy_columns};
                let row: Option<DeployRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    deploy_columns!(),
                    " FROM deploys WHERE id = $1"
                ))
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
                match row {
                    Some(row) => row.deploy(),
                    None => Err($crate::Error::NotFound {
                        what: format!("deploy {id}"),
                    }),
                }
            }

            async fn do_list_deploys(
                &self,
                filter: &$crate::DeployFilter,
            ) -> $crate::Result<Vec<rewind_model::Deploy>> {
                use $crate::sql::rows::{DeployRow, deploy_columns};
                let mut qb = sqlx::QueryBuilder::<$db>::new(concat!(
                    "SELECT ",
                    deploy_columns!(),
                    " FROM deploys WHERE 1 = 1"
                ));
                if let Some(service) = &filter.service {
                    qb.push(" AND service = ").push_bind(service.clone());
                }
                if let Some(environment) = &filter.environment {
                    qb.push(" AND environment = ")
                        .push_bind(environment.clone());
                }
                if let Some(since) = filter.since {
                    qb.push(" AND at >= ").push_bind(since.as_unix_nanos());
                }
                if let Some(until) = filter.until {
                    qb.push(" AND at < ").push_bind(until.as_unix_nanos());
                }
                qb.push(" ORDER BY at DESC, id DESC LIMIT ")
                    .push_bind(i64::from(filter.limit));
                let rows: Vec<DeployRow> = qb.build_query_as().fetch_all(&self.pool).await?;
                rows.into_iter().map(DeployRow::deploy).collect()
            }
        }
    };
}
pub(crate) use deploy_methods;
