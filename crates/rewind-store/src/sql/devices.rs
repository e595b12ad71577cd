//! Devices: what each reported about itself, and when it was last seen.
//! `last_seen_at` never moves backwards (uploads may arrive out of order).

macro_rules! device_methods {
    ($store:ident, $db:ty) => {
        impl $store {
            async fn do_upsert_device(
                &self,
                id: &rewind_model::DeviceId,
                identity: &rewind_model::DeviceIdentity,
                at: rewind_model::Timestamp,
            ) -> $crate::Result<rewind_model::Device> {
                use $crate::sql::rows::{DeviceRow, device_columns};
                let row: DeviceRow = sqlx::query_as(concat!(
                    "INSERT INTO devices (device_id, fleet, site, hardware, software_version, \
                     agent_version, first_seen_at, last_seen_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                     ON CONFLICT (device_id) DO UPDATE SET fleet = excluded.fleet, \
                     site = excluded.site, hardware = excluded.hardware, \
                     software_version = excluded.software_version, \
                     agent_version = excluded.agent_version, \
                     last_seen_at = CASE WHEN excluded.last_seen_at > devices.last_seen_at \
                                         THEN excluded.last_seen_at \
                                         ELSE devices.last_seen_at END \
                     RETURNING ",
                    device_columns!()
                ))
                .bind(id.as_str())
                .bind(identity.fleet.as_deref())
                .bind(identity.site.as_deref())
                .bind(identity.hardware.as_deref())
                .bind(identity.software_version.as_deref())
                .bind(identity.agent_version.as_deref())
                .bind(at.as_unix_nanos())
                .fetch_one(&self.pool)
                .await?;
                row.device()
            }

            async fn do_touch_device(
                &self,
                id: &rewind_model::DeviceId,
                at: rewind_model::Timestamp,
            ) -> $crate::Result<()> {
                sqlx::query(
                    "INSERT INTO devices (device_id, first_seen_at, last_seen_at) \
                     VALUES ($1, $2, $2) \
                     ON CONFLICT (device_id) DO UPDATE SET \
                     last_seen_at = CASE WHEN excluded.last_seen_at > devices.last_seen_at \
                                         THEN excluded.last_seen_at \
                                         ELSE devices.last_seen_at END",
                )
                .bind(id.as_str())
                .bind(at.as_unix_nanos())
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn do_get_device(
                &self,
                id: &rewind_model::DeviceId,
            ) -> $crate::Result<rewind_model::Device> {
                use $crate::sql::rows::{DeviceRow, device_columns};
                let row: Option<DeviceRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    device_columns!(),
                    " FROM devices WHERE device_id = $1"
                ))
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await?;
                row.ok_or_else(|| $crate::Error::not_found(format!("device {id}")))?
                    .device()
            }

            async fn do_list_devices(&self) -> $crate::Result<Vec<rewind_model::Device>> {
                use $crate::sql::rows::{DeviceRow, device_columns};
                let rows: Vec<DeviceRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    device_columns!(),
                    " FROM devices ORDER BY device_id"
                ))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(DeviceRow::device).collect()
            }
        }
    };
}
pub(crate) use device_methods;
