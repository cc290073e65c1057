//! Reason phrases for the statuses proxyd answers with itself (the `respond`
//! service, middlewares' answers, admin services).

/// Reason phrase for the statuses a configured response is likely to use.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        418 => "I'm a teapot",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        // Any other code a middleware may answer with (ipAllowList's rejectStatusCode).
        _ => crate::middleware::status_text(status).unwrap_or(""),
    }
}
