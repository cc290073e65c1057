//! `dashboard@internal`: one self-contained page (inline CSS and vanilla JS, nothing
//! fetched from elsewhere) that polls the API every second. `/` and `/dashboard`
//! redirect to `/dashboard/`.

use super::serve::{Reply, Request};

const PAGE: &str = include_str!("dashboard.html");

pub fn handle(req: &Request) -> Reply {
    match req.path {
        "/" | "/dashboard" => Reply::redirect("/dashboard/"),
        "/dashboard/" | "/dashboard/index.html" => {
            Reply::new(200, "text/html; charset=utf-8", PAGE)
        }
        _ => Reply::text(404, "404 page not found\n"),
    }
}
