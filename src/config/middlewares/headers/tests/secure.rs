//! The security headers, allowedHosts and the definitions refused at load.

use super::*;

#[test]
fn secure_headers_from_traefik_table() {
    let cases = [
        (
            "permissionsPolicy = \"microphone=(),\"\n",
            "Permissions-Policy: microphone=(),",
        ),
        (
            "stsSeconds = 1\nforceSTSHeader = true\n",
            "Strict-Transport-Security: max-age=1",
        ),
        (
            "stsSeconds = 1\nforceSTSHeader = true\nstsPreload = true\n",
            "Strict-Transport-Security: max-age=1; preload",
        ),
        (
            "customFrameOptionsValue = \"foo\"\n",
            "X-Frame-Options: foo",
        ),
        ("frameDeny = true\n", "X-Frame-Options: DENY"),
        (
            "frameDeny = true\ncustomFrameOptionsValue = \"SAMEORIGIN\"\n",
            "X-Frame-Options: SAMEORIGIN",
        ),
        (
            "contentTypeNosniff = true\n",
            "X-Content-Type-Options: nosniff",
        ),
        (
            "browserXssFilter = true\n",
            "X-XSS-Protection: 1; mode=block",
        ),
        (
            "customBrowserXSSValue = \"0\"\nbrowserXssFilter = true\n",
            "X-XSS-Protection: 0",
        ),
        (
            "contentSecurityPolicy = \"default-src 'self'\"\n",
            "Content-Security-Policy: default-src 'self'",
        ),
        (
            "contentSecurityPolicyReportOnly = \"x\"\n",
            "Content-Security-Policy-Report-Only: x",
        ),
        (
            "referrerPolicy = \"no-referrer\"\n",
            "Referrer-Policy: no-referrer",
        ),
    ];
    for (cfg, want) in cases {
        let out = run(&build(cfg), "GET", false, Hs(vec![]), &[]);
        assert_eq!(out.response, [want], "{cfg}");
    }
}

#[test]
fn sts_and_hpkp_only_over_tls_or_an_ssl_proxy_header() {
    let cfg = "stsSeconds = 31536000\nstsIncludeSubdomains = true\npublicKey = \"pin-sha256=x\"\n[sslProxyHeaders]\nX-Forwarded-Proto = \"https\"\n";
    let h = build(cfg);
    let sts = "Strict-Transport-Security: max-age=31536000; includeSubDomains";
    let pins = "Public-Key-Pins: pin-sha256=x";
    assert_eq!(run(&h, "GET", true, Hs(vec![]), &[]).response, [pins, sts]);
    assert!(run(&h, "GET", false, Hs(vec![]), &[]).response.is_empty());
    let proxied = Hs(vec![("X-Forwarded-Proto", "https")]);
    assert_eq!(run(&h, "GET", false, proxied, &[]).response, [pins, sts]);
    // isDevelopment turns them off; stsSeconds = 0 sends nothing.
    let dev = build(&format!("isDevelopment = true\n{cfg}"));
    assert!(run(&dev, "GET", true, Hs(vec![]), &[]).response.is_empty());
    let zero = build("stsSeconds = 0\n");
    assert!(run(&zero, "GET", true, Hs(vec![]), &[]).response.is_empty());
}

#[test]
fn allowed_hosts_refuse_others_with_500_bad_host() {
    let h = build(
        "allowedHosts = [\"foo.com\", \"bar.com\"]\nhostsProxyHeaders = [\"X-Forwarded-Host\"]\n[customResponseHeaders]\nX-Custom = \"v\"\n",
    );
    let at = |host: &str, hs: Hs| run_host(&h, "GET", false, hs, &[], host);
    assert_eq!(at("FOO.com", Hs(vec![])).status, 0);
    assert_eq!(at("", Hs(vec![])).status, 500);
    let bad = at("boo.com", Hs(vec![]));
    assert_eq!(bad.status, 500);
    assert_eq!(
        bad.response,
        ["X-Content-Type-Options: nosniff", "X-Custom: v"]
    );
    // The proxy header names the host when present and non-empty.
    assert_eq!(
        at("foo.com", Hs(vec![("X-Forwarded-Host", "boo.com")])).status,
        500
    );
    assert_eq!(
        at("boo.com", Hs(vec![("X-Forwarded-Host", "bar.com")])).status,
        0
    );
    assert_eq!(at("bar.com", Hs(vec![("X-Forwarded-Host", "")])).status, 0);
    let dev = build("isDevelopment = true\nallowedHosts = [\"foo.com\"]\n");
    assert_eq!(run_host(&dev, "GET", false, Hs(vec![]), &[], "x").status, 0);
}

#[test]
fn custom_headers_override_secure_ones() {
    let h = build("frameDeny = true\n[customResponseHeaders]\nX-Frame-Options = \"\"\n");
    assert!(run(&h, "GET", false, Hs(vec![]), &[]).response.is_empty());
}

#[test]
fn refusals_name_the_key_and_why() {
    let cases = [
        ("", "", "no option is set"),
        (
            "[customRequestHeaders]\n\"Bad Name\" = \"x\"\n",
            ".customRequestHeaders.Bad Name",
            "not a valid header name",
        ),
        (
            "[customResponseHeaders]\nX-A = \"a\\r\\nX-B: b\"\n",
            ".customResponseHeaders.X-A",
            "CR, LF or NUL",
        ),
        (
            "[customRequestHeaders]\ntransfer-encoding = \"chunked\"\n",
            ".customRequestHeaders.transfer-encoding",
            "hop-by-hop",
        ),
        (
            "[customResponseHeaders]\nContent-Length = \"1\"\n",
            ".customResponseHeaders.Content-Length",
            "proxyd writes itself",
        ),
        (
            "[customResponseHeaders]\nConnection = \"\"\n",
            ".customResponseHeaders.Connection",
            "hop-by-hop",
        ),
        (
            "[customRequestHeaders]\nX-A = \"1\"\nx-a = \"2\"\n",
            ".customRequestHeaders.x-a",
            "listed twice",
        ),
        (
            "accessControlAllowOriginListRegex = [\"a(b\"]\n",
            ".accessControlAllowOriginListRegex[0]",
            "invalid regular expression",
        ),
        ("stsSeconds = -1\n", ".stsSeconds", "negative"),
        (
            "contentSecurityPolicy = \"script-src $NONCE\"\n",
            ".contentSecurityPolicy",
            "$NONCE",
        ),
        (
            "referrerPolicy = \"a\\u0000\"\n",
            ".referrerPolicy",
            "CR, LF or NUL",
        ),
        (
            "sslRedirect = true\n",
            ".sslRedirect",
            "removed in Traefik v3",
        ),
        (
            "featurePolicy = \"x\"\n",
            ".featurePolicy",
            "permissionsPolicy",
        ),
        (
            "hostsProxyHeaders = [\"a b\"]\n",
            ".hostsProxyHeaders[0]",
            "not a valid header name",
        ),
    ];
    for (cfg, key, why) in cases {
        let (k, reason) = refused(cfg);
        assert_eq!(k, key, "{cfg}");
        assert!(reason.contains(why), "{cfg}: {reason}");
    }
}
