//! Sticky sessions (`loadBalancer.sticky.cookie`) on real requests: the first
//! answer sets a cookie naming the server by a hash (never its address), the
//! cookie keeps the client on that server, the cookie name is generated as
//! Traefik does when none is given, and an old Traefik value (the URL) is
//! honoured and rewritten.

use crate::common::client::Client;
use crate::common::config::{lb_service_with, router};
use crate::common::*;

fn sticky(ups: &[Upstream], cookie: &str) -> String {
    let urls: Vec<String> = ups.iter().map(Upstream::url).collect();
    format!(
        "{}{}[http.services.app.loadBalancer.sticky.cookie]\n{cookie}",
        router("app", "Host(`app.test`)", "app"),
        lb_service_with("app", &urls, ""),
    )
}

fn get(c: &mut Client, cookie: Option<&str>) -> client::Response {
    let line = cookie.map_or(String::new(), |v| format!("Cookie: other=1; {v}\r\n"));
    c.request(&format!("GET / HTTP/1.1\r\nHost: app.test\r\n{line}\r\n"))
}

fn served(ups: &[Upstream]) -> Vec<usize> {
    ups.iter().map(|u| u.requests().len()).collect()
}

#[test]
fn sticky_cookie_keeps_a_client_on_its_server() {
    let ups: Vec<Upstream> = (0..3).map(|i| Upstream::echo(&format!("u{i}"))).collect();
    let cookie =
        "name = \"srv\"\nhttpOnly = true\nsecure = true\nsameSite = \"lax\"\nmaxAge = 60\n";
    let p = Proxy::start(&ProxyConfig::new(&sticky(&ups, cookie)));
    let mut c = Client::connect(p.addr());
    let first = get(&mut c, None);
    let set = first.headers_named("Set-Cookie");
    assert_eq!(set.len(), 1, "{:?}", first.headers);
    let (pair, attrs) = set[0].split_once(';').unwrap();
    assert_eq!(attrs, " Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Lax");
    let value = pair.strip_prefix("srv=").unwrap();
    assert_eq!(value.len(), 16, "{value}");
    assert!(value.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(
        !ups.iter().any(|u| set[0].contains(&u.url())),
        "the address leaked"
    );
    let home = served(&ups).iter().position(|&n| n == 1).unwrap();
    for _ in 0..9 {
        let r = get(&mut c, Some(pair));
        assert_eq!(r.status, 200);
        assert!(
            r.headers_named("Set-Cookie").is_empty(),
            "already has its cookie"
        );
    }
    assert_eq!(served(&ups)[home], 10, "{:?}", served(&ups));
    // Without the cookie, round robin goes on to the others.
    for _ in 0..2 {
        assert_eq!(get(&mut c, None).headers_named("Set-Cookie").len(), 1);
    }
    assert_eq!(served(&ups).iter().sum::<usize>(), 12);
    assert_ne!(served(&ups)[home], 12);
}

#[test]
fn sticky_cookie_name_is_generated_and_old_values_are_rewritten() {
    let ups: Vec<Upstream> = (0..2).map(|i| Upstream::echo(&format!("u{i}"))).collect();
    let p = Proxy::start(&ProxyConfig::new(&sticky(&ups, "httpOnly = false\n")));
    let mut c = Client::connect(p.addr());
    let first = get(&mut c, None);
    let set = first.headers_named("Set-Cookie");
    let name = set[0].split('=').next().unwrap().to_string();
    assert!(name.starts_with('_') && name.len() == 6, "{name}");
    // An older Traefik wrote the server's URL as the value: still honoured,
    // then replaced by the hash.
    let old = format!("{name}={}", ups[1].url());
    let r = get(&mut c, Some(&old));
    assert_eq!(
        served(&ups)[1],
        served(&ups).iter().sum::<usize>() - served(&ups)[0]
    );
    let rewritten = r.headers_named("Set-Cookie");
    assert_eq!(rewritten.len(), 1, "{:?}", r.headers);
    assert!(!rewritten[0].contains(&ups[1].url()));
    let before = served(&ups)[1];
    let pair = rewritten[0].split(';').next().unwrap().to_string();
    for _ in 0..4 {
        get(&mut c, Some(&pair));
    }
    assert_eq!(served(&ups)[1], before + 4);
}

#[test]
fn sticky_cookie_with_a_bad_same_site_is_refused_with_its_key() {
    let ups = [Upstream::echo("u")];
    let (_dir, file) = ProxyConfig::new(&sticky(&ups, "sameSite = \"sometimes\"\n")).write();
    let out = proxy::run_to_exit(
        &["check", "--config", file.to_str().unwrap()],
        None,
        std::time::Duration::from_secs(20),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("http.services.app.loadBalancer.sticky.cookie.sameSite"),
        "{err}"
    );
}
