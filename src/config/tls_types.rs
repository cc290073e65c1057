//! Runtime config types of the TLS and redirect features (kept apart from
//! `types.rs` so that file stays about the HTTP core).

/// `http.routers.<n>.tls` / `entryPoints.<n>.http.tls`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterTls {
    /// `tls.options` name, `@file` stripped; `None`: `default`.
    pub options: Option<String>,
    /// `tls.certResolver`: the ACME resolver that obtains its certificates.
    pub cert_resolver: Option<String>,
    /// `tls.domains`: the certificates to obtain (else the rule's hosts).
    pub domains: Vec<super::acme_types::Domain>,
}

/// `entryPoints.<n>.http.redirections.entryPoint`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRedirect {
    /// The target entry point's name (or `:port` as written).
    pub to: String,
    pub scheme: String,
    /// The port in `Location`; `None` when it is the scheme's default.
    pub port: Option<u16>,
    pub permanent: bool,
    pub priority: i64,
}

/// What the redirect router answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub scheme: String,
    pub port: Option<u16>,
    pub permanent: bool,
}

/// Traefik's default priority of the redirect router (`MaxInt32 - 1`): above
/// every router whose priority is the default (the rule length).
pub const DEFAULT_REDIRECT_PRIORITY: i64 = i32::MAX as i64 - 1;
