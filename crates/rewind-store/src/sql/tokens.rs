//! API tokens, stored hashed.

macro_rules! token_methods {
    ($store:ident, $db:ty) => {
        impl $store {
            async fn do_create_token(
                &self,
                new: &$crate::NewToken,
            ) -> $crate::Result<rewind_model::TokenInfo> {
                use $crate::sql::rows::{TokenRow, token_columns};
                let (kind, role, device_id) = $crate::sql::rows::scope_columns(&new.scope);
                let row: TokenRow = sqlx::query_as(concat!(
                    "INSERT INTO tokens (id, name, kind, role, device_id, secret_hash, prefix, \
                     created_at, expires_at, revoked_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL) RETURNING ",
                    token_columns!()
                ))
                .bind(rewind_model::TokenId::new_v7().to_string())
                .bind(&new.name)
                .bind(kind)
                .bind(role)
                .bind(device_id)
                .bind(&new.secret_hash)
                .bind(&new.prefix)
                .bind(new.created_at.as_unix_nanos())
                .bind(new.expires_at.map(rewind_model::Timestamp::as_unix_nanos))
                .fetch_one(&self.pool)
                .await?;
                row.info()
            }

            async fn do_list_tokens(&self) -> $crate::Result<Vec<rewind_model::TokenInfo>> {
                use $crate::sql::rows::{TokenRow, token_columns};
                let rows: Vec<TokenRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    token_columns!(),
                    " FROM tokens ORDER BY created_at DESC, id DESC"
                ))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TokenRow::info).collect()
            }

            async fn do_revoke_token(
                &self,
                id: rewind_model::TokenId,
                at: rewind_model::Timestamp,
            ) -> $crate::Result<rewind_model::TokenInfo> {
                use $crate::sql::rows::{TokenRow, token_columns};
                let row: Option<TokenRow> = sqlx::query_as(concat!(
                    "UPDATE tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 \
                     RETURNING ",
                    token_columns!()
                ))
                .bind(id.to_string())
                .bind(at.as_unix_nanos())
                .fetch_optional(&self.pool)
                .await?;
                row.ok_or_else(|| $crate::Error::not_found(format!("token {id}")))?
                    .info()
            }

            async fn do_token_by_hash(
                &self,
                secret_hash: &str,
            ) -> $crate::Result<Option<rewind_model::TokenInfo>> {
                use $crate::sql::rows::{TokenRow, token_columns};
                let row: Option<TokenRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    token_columns!(),
                    " FROM tokens WHERE secret_hash = $1"
                ))
                .bind(secret_hash)
                .fetch_optional(&self.pool)
                .await?;
                row.map(TokenRow::info).transpose()
            }
        }
    };
}
pub(crate) use token_methods;
