//! The inputs: [`Series`] (timed values with labels) and [`DeployRef`].

use rewind_model::Timestamp;
use serde::{Deserialize, Serialize};

use super::MetricKind;

/// One metric of one service (and optionally one instance), in time order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// The metric's name, e.g. `p95_latency_ms`.
    pub name: String,
    /// What it measures.
    pub kind: MetricKind,
    /// The service it belongs to; `None` matches every deploy (the seed's
    /// JSONL metrics carry no service).
    pub service: Option<String>,
    /// The environment; `None` matches every environment.
    pub environment: Option<String>,
    /// The instance (host, pod), for canary analysis.
    pub instance: Option<String>,
    /// The samples, sorted by time (see [`Series::new`]). Non-finite values
    /// are ignored by every analysis.
    pub points: Vec<(Timestamp, f64)>,
}

impl Series {
    /// A series without labels; the points are sorted by time (stable, so
    /// equal times keep their order).
    #[must_use]
    pub fn new(
        name: impl Into<String>,
        kind: MetricKind,
        mut points: Vec<(Timestamp, f64)>,
    ) -> Self {
        points.sort_by_key(|p| p.0);
        Self {
            name: name.into(),
            kind,
            service: None,
            environment: None,
            instance: None,
            points,
        }
    }

    /// With a service label.
    #[must_use]
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// With an environment label.
    #[must_use]
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// With an instance label.
    #[must_use]
    pub fn instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    /// The finite values with `from <= t < to`.
    pub(crate) fn values_in(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> impl Iterator<Item = (Timestamp, f64)> + '_ {
        let start = self.points.partition_point(|p| p.0 < from);
        self.points[start..]
            .iter()
            .take_while(move |p| p.0 < to)
            .filter(|p| p.1.is_finite())
            .copied()
    }

    /// A display name: `name`, with `service/` and `@instance` when labelled.
    #[must_use]
    pub fn label(&self) -> String {
        let mut s = String::new();
        if let Some(svc) = &self.service {
            s.push_str(svc);
            s.push('/');
        }
        s.push_str(&self.name);
        if let Some(i) = &self.instance {
            s.push('@');
            s.push_str(i);
        }
        s
    }

    /// Whether this series belongs to `deploy` (same service and
    /// environment, where both are labelled).
    #[must_use]
    pub fn belongs_to(&self, deploy: &DeployRef) -> bool {
        let svc = self.service.as_ref().is_none_or(|s| *s == deploy.service);
        let env = match (&self.environment, &deploy.environment) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        svc && env
    }
}

/// A deploy as the analysis needs it: which service, which version, where
/// and when. Convert a stored [`rewind_model::Deploy`] with `From`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployRef {
    /// An id to quote (a stored deploy's UUID, or the seed's `deploy_id`
    /// such as `v1.4.2`).
    pub id: String,
    /// The service deployed.
    pub service: String,
    /// The version deployed.
    pub version: String,
    /// Where; `None` matches series of every environment.
    pub environment: Option<String>,
    /// When it happened.
    pub at: Timestamp,
}

impl DeployRef {
    /// A deploy of `service` at `version`, identified by `version`.
    #[must_use]
    pub fn new(service: impl Into<String>, version: impl Into<String>, at: Timestamp) -> Self {
        let version = version.into();
        Self {
            id: version.clone(),
            service: service.into(),
            version,
            environment: None,
            at,
        }
    }

    /// In `environment`.
    #[must_use]
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }
}

impl From<&rewind_model::Deploy> for DeployRef {
    fn from(d: &rewind_model::Deploy) -> Self {
        Self {
            id: d.id.to_string(),
            service: d.service.clone(),
            version: d.version.clone(),
            environment: Some(d.environment.clone()),
            at: d.at,
        }
    }
}
