use super::*;

fn fa() -> ForwardAuth {
    ForwardAuth {
        addr: "127.0.0.1:1".parse().unwrap(),
        tls: None,
        authority: "auth.test:9000".into(),
        target: "/verify/check?x=1".into(),
        trust_forward_header: None,
        auth_response_headers: vec!["X-Auth-User".into()],
        auth_response_headers_regex: Some(Regex::new("^X-Group-").unwrap()),
        auth_request_headers: Vec::new(),
        max_response_body_size: None,
        add_auth_cookies_to_response: vec!["session".into()],
        forward_body: false,
        max_body_size: None,
        preserve_location_header: false,
        preserve_request_method: false,
        auth_signin_url: None,
    }
}

#[test]
fn location_is_resolved_against_the_auth_address_unless_preserved() {
    let mut f = fa();
    assert_eq!(f.location("/login"), "http://auth.test:9000/login");
    assert_eq!(
        f.location("login?a=b"),
        "http://auth.test:9000/verify/login?a=b"
    );
    assert_eq!(f.location("https://sso.test/x"), "https://sso.test/x");
    assert_eq!(f.location("//sso.test/x"), "http://sso.test/x");
    f.preserve_location_header = true;
    assert_eq!(f.location("/login"), "/login");
}

#[test]
fn response_headers_are_copied_by_name_or_by_the_canonical_name_regex() {
    let f = fa();
    assert!(f.copies(b"x-auth-user"));
    assert!(f.copies(b"x-group-admins"), "Go matches X-Group-Admins");
    assert!(!f.copies(b"x-other"));
}

#[test]
fn request_headers_follow_trust_and_the_allow_list() {
    let mut f = fa();
    assert!(!f.sends(b"Connection", &[]));
    assert!(!f.sends(b"X-Secret", &[b"keep-alive, x-secret"]));
    assert!(f.sends(b"Authorization", &[]));
    // Unset trust: the legacy writer replaces these, others pass.
    assert!(!f.sends(b"X-Forwarded-For", &[]));
    assert!(f.sends(b"X-Forwarded-Prefix", &[]));
    f.trust_forward_header = Some(false);
    assert!(!f.sends(b"X-Forwarded-Prefix", &[]));
    f.trust_forward_header = Some(true);
    f.auth_request_headers = vec!["cookie".into()];
    assert!(f.sends(b"X-Forwarded-Prefix", &[]));
    assert!(f.sends(b"Cookie", &[]));
    assert!(!f.sends(b"Authorization", &[]));
}

#[test]
fn cookies_are_added_by_name() {
    let f = fa();
    assert!(f.adds_cookie(b"session=abc; Path=/"));
    assert!(!f.adds_cookie(b"sessionx=abc"));
    let mut s = String::new();
    canonical_key(b"x-forwarded-uri", &mut s);
    assert_eq!(s, "X-Forwarded-Uri");
}
