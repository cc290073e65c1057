//! The observability `@internal` services (`api`, `dashboard`, `ping`,
//! `prometheus`), the routers Traefik creates for them, and whether a file router
//! may reference one.

use super::observe::{DEFAULT_ENTRY_POINT, ObserveConfig};

/// An `@internal` service of observability, dispatched on the worker like whoami.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Internal {
    Api,
    Dashboard,
    Ping,
    Prometheus,
}

impl Internal {
    pub fn from_base(base: &str) -> Option<Internal> {
        Some(match base {
            "api" => Internal::Api,
            "dashboard" => Internal::Dashboard,
            "ping" => Internal::Ping,
            "prometheus" => Internal::Prometheus,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Internal::Api => "api@internal",
            Internal::Dashboard => "dashboard@internal",
            Internal::Ping => "ping@internal",
            Internal::Prometheus => "prometheus@internal",
        }
    }
}

/// The routers Traefik creates on its own: (service, rule, priority, entry point).
/// Priorities sit above any file router so `/ping` and friends always answer.
pub fn implicit_routers(cfg: &ObserveConfig) -> Vec<(Internal, &'static str, i64, String)> {
    let mut out = Vec::new();
    if let Some(p) = &cfg.ping {
        out.push((
            Internal::Ping,
            "PathPrefix(`/ping`)",
            i64::MAX,
            p.entry_point.clone(),
        ));
    }
    if let Some(p) = &cfg.prometheus {
        out.push((
            Internal::Prometheus,
            "PathPrefix(`/metrics`)",
            i64::MAX,
            p.entry_point.clone(),
        ));
    }
    if let Some(a) = cfg.api.as_ref().filter(|a| a.insecure) {
        let ep = DEFAULT_ENTRY_POINT.to_string();
        out.push((
            Internal::Api,
            "PathPrefix(`/api`)",
            i64::MAX - 1,
            ep.clone(),
        ));
        if a.dashboard {
            let rule = "PathPrefix(`/dashboard`) || Path(`/`)";
            out.push((Internal::Dashboard, rule, i64::MAX - 2, ep));
        }
    }
    out
}

/// Whether a reference to `name@internal` may resolve, with the reason if not.
pub fn check_reference(cfg: &ObserveConfig, which: Internal) -> Result<(), String> {
    let on = match which {
        Internal::Api => cfg.api.is_some(),
        Internal::Dashboard => cfg.api.as_ref().is_some_and(|a| a.dashboard),
        Internal::Ping => cfg.ping.is_some(),
        Internal::Prometheus => cfg.prometheus.is_some(),
    };
    let section = match which {
        Internal::Api | Internal::Dashboard => "[api]",
        Internal::Ping => "[ping]",
        Internal::Prometheus => "[metrics.prometheus]",
    };
    if on {
        Ok(())
    } else {
        Err(format!(
            "`{}` needs {section} in the static configuration",
            which.name()
        ))
    }
}
