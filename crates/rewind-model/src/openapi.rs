//! OpenAPI schemas for the types whose JSON form is hand-written (times and
//! ids are strings with a format), so the server's generated document
//! describes them as they travel.

use std::borrow::Cow;

use utoipa::{
    PartialSchema, ToSchema,
    openapi::{KnownFormat, ObjectBuilder, RefOr, SchemaFormat, Type, schema::Schema},
};

fn string(format: Option<SchemaFormat>, description: &str, example: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(format)
        .description(Some(description))
        .examples([serde_json::Value::from(example)])
        .into()
}

macro_rules! string_schema {
    ($ty:ty, $name:literal, $format:expr, $doc:literal, $example:literal) => {
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                string($format, $doc, $example)
            }
        }
        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

string_schema!(
    crate::Timestamp,
    "Timestamp",
    Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)),
    "RFC 3339 time in UTC with up to nanosecond precision",
    "2026-05-13T14:30:22.123456789Z"
);
string_schema!(
    crate::DeviceId,
    "DeviceId",
    None,
    "1 to 128 characters from A-Z, a-z, 0-9, `.`, `_` and `-`",
    "robot-7"
);
string_schema!(
    crate::IncidentId,
    "IncidentId",
    Some(SchemaFormat::Custom("uuid".into())),
    "an incident's id",
    "0192f3c4-5b6a-7c8d-9e0f-1a2b3c4d5e6f"
);
string_schema!(
    crate::BundleId,
    "BundleId",
    Some(SchemaFormat::Custom("uuid".into())),
    "a bundle's id, chosen by the agent",
    "0192f3c4-5b6a-7c8d-9e0f-1a2b3c4d5e6f"
);
string_schema!(
    crate::DeployId,
    "DeployId",
    Some(SchemaFormat::Custom("uuid".into())),
    "a deploy's id",
    "0192f3c4-5b6a-7c8d-9e0f-1a2b3c4d5e6f"
);
string_schema!(
    crate::TokenId,
    "TokenId",
    Some(SchemaFormat::Custom("uuid".into())),
    "a token's id (not its secret)",
    "0192f3c4-5b6a-7c8d-9e0f-1a2b3c4d5e6f"
);
