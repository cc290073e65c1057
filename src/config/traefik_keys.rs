//! Where Traefik v3 has a key that proxyd does not implement: a table of
//! parent path patterns and the Traefik key names under each, for the static and
//! the dynamic (file provider, TOML) configuration.
//!
//! It lets an unknown-field error say "not supported yet" (valid Traefik, a gap
//! in proxyd) rather than "unknown field" (a typo), decided by where the key is:
//! `strategy` under `http.services.*.loadBalancer` is Traefik's, `strategy`
//! under `http.routers.*` is a typo.
//!
//! The table was generated once from the `toml` tags of the structs reachable
//! from `static.Configuration` and `dynamic.Configuration` in traefik/traefik
//! (`pkg/config/static`, `pkg/config/dynamic` and the packages they use; commit
//! fd5a576df2, v3.7), keeping the keys that can reach proxyd's parser as unknown
//! fields: Traefik's keys under every table proxyd parses, minus those it accepts.
//! Keys under a section proxyd does not parse at all (a provider, a tracing
//! backend) never reach it: the section's own key is reported. The middleware
//! sections are listed in full (every kind and option) for when they are parsed.
//! `*` in a pattern stands for one user-chosen name; arrays of tables are
//! transparent (`servers` for `servers[2]`).

/// Static configuration: (parent pattern, Traefik keys under it that proxyd lacks).
#[rustfmt::skip]
const STATIC: &[(&str, &[&str])] = &[
    ("", &["global", "serversTransport", "tcpServersTransport", "hostResolver",
        "experimental", "core", "spiffe", "ocsp"]),
    ("entryPoints.*", &["allowACMEByPass", "reusePort", "asDefault", "proxyProtocol",
        "http3", "udp", "observability"]),
    ("entryPoints.*.http2", &["maxEncoderHeaderTableSize"]),
    ("entryPoints.*.transport", &["keepAliveMaxTime", "keepAliveMaxRequests"]),
    ("entryPoints.*.forwardedHeaders", &["connection", "notAppendXForwardedFor",
        "addXForwardedSchemeHeaders"]),
    ("entryPoints.*.http", &["encodedCharacters", "encodeQuerySemicolons", "sanitizePath",
        "underscoreHeadersStrategy"]),
    ("providers", &["precedence", "docker", "swarm", "kubernetesIngress",
        "kubernetesIngressNGINX", "kubernetesCRD", "kubernetesGateway", "knative", "rest",
        "consulCatalog", "nomad", "ecs", "consul", "zooKeeper", "http", "plugin"]),
    ("providers.file", &["debugLogGeneratedTemplate"]),
    ("api", &["basePath", "debug", "disableDashboardAd", "dashboardName"]),
    ("metrics", &["addInternals", "datadog", "statsD", "influxDB2", "otlp"]),
    ("metrics.prometheus", &["manualRouting", "headerLabels"]),
    ("ping", &["manualRouting"]),
    ("log", &["format", "noColor", "filePath", "maxSize", "maxAge", "maxBackups", "compress",
        "otlp"]),
    ("accessLog.fields", &["queryParameters"]),
    ("accessLog", &["addInternals", "dualOutput", "otlp"]),
];

/// Dynamic configuration (file provider), same shape as [`STATIC`].
#[rustfmt::skip]
const DYNAMIC: &[(&str, &[&str])] = &[
    ("http.routers.*", &["parentRefs", "ruleSyntax", "observability"]),
    ("http.services.*", &["middlewares", "highestRandomWeight"]),
    ("http.middlewares.*", &["encodedCharacters", "plugin"]),
    ("http.middlewares.*.stripPrefix", &["forceSlash"]),
    ("http.middlewares.*.encodedCharacters", &["allowEncodedSlash", "allowEncodedBackSlash",
        "allowEncodedNullCharacter", "allowEncodedSemicolon", "allowEncodedPercent",
        "allowEncodedQuestionMark", "allowEncodedHash"]),
    ("http", &["models"]),
    ("http.serversTransports.*", &["spiffe"]),
    ("http.serversTransports.*.forwardingTimeouts", &["readIdleTimeout", "pingTimeout"]),
    ("tcp.routers.*", &["ruleSyntax"]),
    ("tcp.services.*.loadBalancer", &["healthCheck"]),
    ("tcp.middlewares.*", &["inFlightConn", "ipWhiteList", "ipAllowList"]),
    ("tcp.middlewares.*.inFlightConn", &["amount"]),
    ("tcp.middlewares.*.ipWhiteList", &["sourceRange"]),
    ("tcp.middlewares.*.ipAllowList", &["sourceRange"]),
];

/// Which configuration a file holds: the two have different keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    Static,
    Dynamic,
}

/// Whether Traefik has a key `name` under `parent` (the dotted path of the table
/// holding it, one name per segment, array indices left out).
pub fn is_traefik_key(schema: Schema, parent: &[&str], name: &str) -> bool {
    let table = match schema {
        Schema::Static => STATIC,
        Schema::Dynamic => DYNAMIC,
    };
    table
        .iter()
        .any(|(pattern, names)| matches(pattern, parent) && names.contains(&name))
}

/// `*` matches any one segment; the empty pattern is the document's root.
fn matches(pattern: &str, path: &[&str]) -> bool {
    if pattern.is_empty() {
        return path.is_empty();
    }
    pattern.split('.').count() == path.len()
        && pattern
            .split('.')
            .zip(path)
            .all(|(p, seg)| p == "*" || p == *seg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(schema: Schema, path: &str) -> bool {
        let segs: Vec<&str> = path.split('.').collect();
        let (name, parent) = segs.split_last().unwrap();
        is_traefik_key(schema, parent, name)
    }

    #[test]
    fn static_sample_from_each_section() {
        for path in [
            "global",
            "entryPoints.web.http2.maxEncoderHeaderTableSize",
            "entryPoints.web.proxyProtocol",
            "entryPoints.x.transport.keepAliveMaxRequests",
            "entryPoints.x.forwardedHeaders.connection",
            "entryPoints.x.http.sanitizePath",
            "providers.docker",
            "providers.kubernetesCRD",
            "providers.file.debugLogGeneratedTemplate",
            "api.basePath",
            "metrics.datadog",
            "metrics.prometheus.headerLabels",
            "ping.manualRouting",
            "log.format",
            "accessLog.addInternals",
            "accessLog.fields.queryParameters",
        ] {
            assert!(has(Schema::Static, path), "{path}");
        }
    }

    #[test]
    fn dynamic_sample_from_each_section() {
        for path in [
            "http.models",
            "http.routers.r.ruleSyntax",
            "http.routers.r.observability",
            "http.services.s.highestRandomWeight",
            "http.serversTransports.t.spiffe",
            "http.serversTransports.t.forwardingTimeouts.pingTimeout",
            "http.middlewares.m.stripPrefix.forceSlash",
            "http.middlewares.m.encodedCharacters.allowEncodedSlash",
            "tcp.routers.r.ruleSyntax",
            "tcp.services.s.loadBalancer.healthCheck",
            "tcp.middlewares.m.ipAllowList.sourceRange",
        ] {
            assert!(has(Schema::Dynamic, path), "{path}");
        }
    }

    #[test]
    fn position_decides_not_the_name() {
        for (schema, path) in [
            // Traefik keys, but not where they are written.
            (Schema::Dynamic, "http.routers.r.strategy"),
            (Schema::Dynamic, "http.services.s.sticky"),
            (Schema::Dynamic, "http.healthCheck"),
            (Schema::Static, "entryPoints.web.http.http2"),
            (Schema::Static, "docker"),
            // A dynamic key in a static file and the other way round.
            (Schema::Static, "http.models"),
            (Schema::Dynamic, "global"),
            // Typos and keys Traefik does not have.
            (Schema::Dynamic, "http.services.s.loadBalancer.strategyy"),
            (Schema::Dynamic, "http.middlewares.m.stripPrefix.bogus"),
            // Accepted now: not in the table of keys proxyd refuses.
            (Schema::Dynamic, "http.middlewares.m.redirectScheme"),
            (Schema::Dynamic, "http.middlewares.m.contentType.autoDetect"),
            (Schema::Dynamic, "http.middlewares.m.digestAuth.usersFile"),
            (
                Schema::Dynamic,
                "http.middlewares.m.passTLSClientCert.info.issuer.commonName",
            ),
            (Schema::Dynamic, "http.services.s.loadBalancer.healthCheck"),
            (
                Schema::Dynamic,
                "http.middlewares.m.ipAllowList.ipStrategy.depth",
            ),
            (Schema::Static, "entryPoints.web.maxConnections"),
            (Schema::Dynamic, "http.middlewares.m.rateLimit"),
            (
                Schema::Dynamic,
                "http.middlewares.m.rateLimit.sourceCriterion.ipStrategy.depth",
            ),
            (Schema::Dynamic, "http.middlewares.m.inFlightReq.amount"),
        ] {
            assert!(!has(schema, path), "{path}");
        }
    }

    #[test]
    fn patterns_match_whole_segments() {
        assert!(matches("", &[]));
        assert!(!matches("", &["a"]));
        assert!(matches("a.*.b", &["a", "x.y", "b"]));
        assert!(!matches("a.*.b", &["a", "b"]));
        assert!(!matches("a.*", &["a", "x", "b"]));
    }
}
