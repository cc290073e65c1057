//! Rule AST: matchers (validated and compiled from their arguments), boolean
//! operators, evaluation against a request, and the host-set analysis the table
//! index relies on.

use std::collections::BTreeSet;
use std::net::IpAddr;

use ipnet::IpNet;
use regex::bytes::Regex;

use super::host::{HostKey, MAX_HOST, canonical_rule_host};
use super::{RequestInfo, RuleError, query};

/// A boolean expression over matchers `M`: HTTP [`Matcher`]s here, TCP matchers in
/// `tcp::rule` (same grammar, different matcher set).
#[derive(Debug, Clone)]
pub(crate) enum Expr<M = Matcher> {
    Match(M),
    Not(Box<Expr<M>>),
    And(Box<Expr<M>>, Box<Expr<M>>),
    Or(Box<Expr<M>>, Box<Expr<M>>),
}

impl<M> Expr<M> {
    /// Evaluates with `eval` deciding each matcher.
    pub(crate) fn eval_with(&self, eval: &impl Fn(&M) -> bool) -> bool {
        match self {
            Expr::Match(m) => eval(m),
            Expr::Not(e) => !e.eval_with(eval),
            Expr::And(a, b) => a.eval_with(eval) && b.eval_with(eval),
            Expr::Or(a, b) => a.eval_with(eval) || b.eval_with(eval),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    /// Canonical (lowercase, no trailing dot or brackets) host.
    Host(Box<[u8]>),
    HostRegexp(Regex),
    Path(Box<[u8]>),
    PathPrefix(Box<[u8]>),
    PathRegexp(Regex),
    /// Uppercased at parse time, like gorilla/mux does for Traefik.
    Method(Box<[u8]>),
    Header(Box<str>, Box<[u8]>),
    HeaderRegexp(Box<str>, Regex),
    Query(Box<[u8]>, Option<Box<[u8]>>),
    QueryRegexp(Box<[u8]>, Regex),
    ClientIp(IpNet),
}

/// Per-request evaluation context: the request plus its host views, computed once.
pub(super) struct Ctx<'r, 'a> {
    req: &'r RequestInfo<'a>,
    key: &'r HostKey<'a>,
}

impl<'r, 'a> Ctx<'r, 'a> {
    pub(super) fn new(req: &'r RequestInfo<'a>, key: &'r HostKey<'a>) -> Self {
        Ctx { req, key }
    }
}

impl Expr<Matcher> {
    pub(super) fn eval(&self, cx: &Ctx<'_, '_>) -> bool {
        match self {
            Expr::Match(m) => m.eval(cx),
            Expr::Not(e) => !e.eval(cx),
            Expr::And(a, b) => a.eval(cx) && b.eval(cx),
            Expr::Or(a, b) => a.eval(cx) || b.eval(cx),
        }
    }

    /// Calls `f` with each `Host` matcher's value, left to right.
    pub(super) fn each_host(&self, f: &mut dyn FnMut(&[u8])) {
        match self {
            Expr::Match(Matcher::Host(h)) => f(h),
            Expr::Match(_) => {}
            Expr::Not(e) => e.each_host(f),
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.each_host(f);
                b.each_host(f);
            }
        }
    }

    /// Finite set of canonical hosts the request host must be in for the rule to
    /// match, or `None` when the rule is not bound to one. Sound by construction:
    /// `Host` requires its value; `&&` requires either side's set (intersection if
    /// both); `||` only if both sides have one (union). `!` and other matchers give
    /// no bound, since their negation/alternatives can match any host.
    pub(super) fn required_hosts(&self) -> Option<BTreeSet<Box<[u8]>>> {
        match self {
            Expr::Match(Matcher::Host(h)) => Some(BTreeSet::from([h.clone()])),
            Expr::Match(_) | Expr::Not(_) => None,
            Expr::And(a, b) => match (a.required_hosts(), b.required_hosts()) {
                (Some(x), Some(y)) => Some(x.intersection(&y).cloned().collect()),
                (x, y) => x.or(y),
            },
            Expr::Or(a, b) => {
                let mut x = a.required_hosts()?;
                x.extend(b.required_hosts()?);
                Some(x)
            }
        }
    }
}

impl Matcher {
    fn eval(&self, cx: &Ctx<'_, '_>) -> bool {
        let req = cx.req;
        match self {
            Matcher::Host(h) => cx.key.canonical() == Some(&h[..]),
            Matcher::HostRegexp(re) => re.is_match(cx.key.raw()),
            Matcher::Path(p) => req.path == &p[..],
            Matcher::PathPrefix(p) => req.path.starts_with(p),
            Matcher::PathRegexp(re) => re.is_match(req.path),
            Matcher::Method(m) => req.method == &m[..],
            Matcher::Header(name, v) => req.headers.any_value(name, &mut |x| x == &v[..]),
            Matcher::HeaderRegexp(name, re) => req.headers.any_value(name, &mut |x| re.is_match(x)),
            Matcher::Query(k, v) => query::has(req.query, k, v.as_deref()),
            Matcher::QueryRegexp(k, re) => query::any_matches(req.query, k, re),
            Matcher::ClientIp(net) => net.contains(&unmap(req.client_ip)),
        }
    }

    /// Builds a matcher from its name and string arguments, validating arity and
    /// values. Errors name the matcher; the parser adds the position.
    pub(super) fn build(name: &str, args: &[String]) -> Result<Matcher, RuleError> {
        let arity = match name {
            "Host" | "HostRegexp" | "Path" | "PathPrefix" | "PathRegexp" | "Method"
            | "ClientIP" => 1..=1,
            "Header" | "HeaderRegexp" => 2..=2,
            "Query" | "QueryRegexp" => 1..=2,
            _ => {
                return Err(err(format!(
                    "unknown matcher `{name}`; expected one of Host, HostRegexp, Path, PathPrefix, PathRegexp, Method, Header, HeaderRegexp, Query, QueryRegexp, ClientIP"
                )));
            }
        };
        if !arity.contains(&args.len()) {
            let want = if arity.start() == arity.end() {
                format!("{}", arity.start())
            } else {
                format!("{} or {}", arity.start(), arity.end())
            };
            return Err(err(format!(
                "{name} takes {want} argument(s), got {} (v3 syntax: one value per matcher, combine with || instead of a list)",
                args.len()
            )));
        }
        build_checked(name, args).map_err(|e| err(format!("{name}: {}", e.0)))
    }
}

fn build_checked(name: &str, args: &[String]) -> Result<Matcher, RuleError> {
    let a0 = args[0].as_str();
    let a1 = args.get(1).map(String::as_str);
    Ok(match name {
        "Host" => Matcher::Host(host_value(a0)?),
        "HostRegexp" => Matcher::HostRegexp(regex(ascii(a0)?)?),
        "Path" => Matcher::Path(path_value(a0)?),
        "PathPrefix" => Matcher::PathPrefix(path_value(a0)?),
        "PathRegexp" => Matcher::PathRegexp(regex(a0)?),
        "Method" => Matcher::Method(bytes(&non_empty(a0, "method")?.to_ascii_uppercase())),
        "Header" => Matcher::Header(
            non_empty(a0, "header name")?.into(),
            bytes(a1.unwrap_or("")),
        ),
        "HeaderRegexp" => Matcher::HeaderRegexp(
            non_empty(a0, "header name")?.into(),
            regex(a1.unwrap_or(""))?,
        ),
        "Query" => Matcher::Query(bytes(non_empty(a0, "query key")?), a1.map(bytes)),
        "QueryRegexp" => match a1 {
            // One argument behaves exactly like Query(key), as in Traefik.
            None => Matcher::Query(bytes(non_empty(a0, "query key")?), None),
            Some(re) => Matcher::QueryRegexp(bytes(non_empty(a0, "query key")?), regex(re)?),
        },
        "ClientIP" => Matcher::ClientIp(ip_net(a0)?),
        _ => unreachable!("arity check rejects unknown matchers"),
    })
}

fn err(msg: String) -> RuleError {
    RuleError(msg)
}

fn bytes(s: &str) -> Box<[u8]> {
    s.as_bytes().into()
}

fn non_empty<'s>(v: &'s str, what: &str) -> Result<&'s str, RuleError> {
    if v.is_empty() {
        return Err(err(format!("empty {what}")));
    }
    Ok(v)
}

fn ascii(v: &str) -> Result<&str, RuleError> {
    if !v.is_ascii() {
        return Err(err(format!(
            "non-ASCII characters are not allowed in {v:?}"
        )));
    }
    Ok(v)
}

fn host_value(v: &str) -> Result<Box<[u8]>, RuleError> {
    let h = canonical_rule_host(ascii(non_empty(v, "host")?)?);
    if h.is_empty() || h.len() > MAX_HOST {
        return Err(err(format!(
            "invalid host {v:?} (empty or longer than {MAX_HOST} bytes)"
        )));
    }
    Ok(bytes(&h))
}

fn path_value(v: &str) -> Result<Box<[u8]>, RuleError> {
    if !v.starts_with('/') {
        return Err(err(format!("path {v:?} does not start with '/'")));
    }
    Ok(bytes(v))
}

fn regex(src: &str) -> Result<Regex, RuleError> {
    Regex::new(src).map_err(|e| err(format!("invalid regex {src:?}: {e}")))
}

/// Accepts a CIDR or a bare IP (a single-address network), v4 or v6.
pub(crate) fn ip_net(v: &str) -> Result<IpNet, RuleError> {
    let parsed = match v.parse::<IpNet>() {
        Ok(net) => Ok(net),
        Err(_) => v.parse::<IpAddr>().map(IpNet::from),
    };
    let net = parsed.map_err(|_| err(format!("invalid IP or CIDR {v:?}")))?;
    // Normalize IPv4-mapped v6 addresses so they compare against v4 clients too.
    Ok(match net {
        IpNet::V6(n) if n.prefix_len() >= 96 => match n.addr().to_ipv4_mapped() {
            Some(v4) => IpNet::new(IpAddr::V4(v4), n.prefix_len() - 96).unwrap_or(net),
            None => net,
        },
        _ => net,
    })
}

/// Treats `::ffff:a.b.c.d` clients (dual-stack sockets) as the IPv4 address.
pub(crate) fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}
