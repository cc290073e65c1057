//! `errors`: when the response's status is in `status`, its body is dropped
//! and a page fetched from `service` (at `query`, with `{status}`,
//! `{originalStatus}` and `{url}` filled in) is sent instead, with the
//! original status or the one `statusRewrites` gives it. The request phase
//! only marks the request as watched ([`crate::middleware::Edits::catch`]);
//! the response path (`http::server::errors`) decides and fetches. Written
//! after Traefik's `pkg/middlewares/customerrors`.

/// Inclusive status ranges (Traefik's `types.HTTPCodeRanges`).
pub type Ranges = Vec<(u16, u16)>;

/// Error pages larger than this are not sent (the service's failure text is).
pub const MAX_PAGE_BYTES: u64 = 1 << 20;

#[derive(Debug)]
pub struct Errors {
    pub status: Ranges,
    /// In the order of their keys; the first that holds the status wins.
    pub status_rewrites: Vec<(Ranges, u16)>,
    /// The error service's index in the snapshot's services.
    pub service: usize,
    /// `/` + the query without its leading `/`, placeholders not yet filled.
    pub query: String,
    /// `None`: every request field goes to the error service; `Some`: only these.
    pub error_request_headers: Option<Vec<String>>,
}

impl Errors {
    pub fn catches(&self, status: u16) -> bool {
        contains(&self.status, status)
    }

    /// The status the page is sent with.
    pub fn rewrite(&self, status: u16) -> u16 {
        self.status_rewrites
            .iter()
            .find(|(r, _)| contains(r, status))
            .map_or(status, |(_, to)| *to)
    }

    /// The page's request target: the query with `{status}` (the status sent),
    /// `{originalStatus}` and `{url}` (the request URL, query-escaped).
    pub fn target(&self, code: u16, original: u16, url: &[u8]) -> String {
        if self.query.is_empty() {
            return "/".into();
        }
        self.query
            .replace("{status}", &code.to_string())
            .replace("{originalStatus}", &original.to_string())
            .replace("{url}", &query_escape(url))
    }

    /// Whether a request field goes to the error service.
    pub fn sends(&self, name: &[u8]) -> bool {
        match &self.error_request_headers {
            None => true,
            Some(list) => list.iter().any(|h| h.as_bytes().eq_ignore_ascii_case(name)),
        }
    }
}

fn contains(ranges: &Ranges, status: u16) -> bool {
    ranges.iter().any(|&(a, b)| a <= status && status <= b)
}

/// Traefik's `NewHTTPCodeRanges`: each string a comma list of `a` or `a-b`.
pub fn parse_ranges(list: &[String]) -> Result<Ranges, String> {
    let mut out = Vec::new();
    for s in list {
        for block in s.split(',') {
            let (a, b) = block.split_once('-').unwrap_or((block, block));
            let num = |t: &str| {
                t.trim()
                    .parse::<u16>()
                    .map_err(|_| format!("{block:?} is not a status or a range of statuses"))
            };
            out.push((num(a)?, num(b)?));
        }
    }
    Ok(out)
}

/// Go's `url.QueryEscape`: unreserved bytes kept, space as `+`, the rest `%XX`.
pub fn query_escape(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(query: &str) -> Errors {
        Errors {
            status: parse_ranges(&["500-599".into(), "404,418".into()]).unwrap(),
            status_rewrites: vec![(parse_ranges(&["502-504".into()]).unwrap(), 500)],
            service: 0,
            query: query.into(),
            error_request_headers: None,
        }
    }

    #[test]
    fn ranges_rewrites_and_the_target() {
        let e = errors("/err/{status}?from={originalStatus}&u={url}");
        assert!(e.catches(404) && e.catches(503) && e.catches(418) && !e.catches(403));
        assert_eq!((e.rewrite(503), e.rewrite(500)), (500, 500));
        assert_eq!(
            e.target(500, 503, b"http://a.test/p?q=1 2"),
            "/err/500?from=503&u=http%3A%2F%2Fa.test%2Fp%3Fq%3D1+2"
        );
        assert_eq!(errors("").target(500, 500, b""), "/");
        assert!(parse_ranges(&["5xx".into()]).is_err());
    }
}
