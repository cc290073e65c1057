//! Key slots against Redis' own values, hash tags, redirects and the
//! `CLUSTER SLOTS` reply.

use std::net::SocketAddr;

use super::*;
use crate::net::resp;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn key_slots_are_redis_crc16() {
    // CRC16/XMODEM's check value, and slots as `CLUSTER KEYSLOT` gives them.
    assert_eq!(crc16(b"123456789"), 0x31c3);
    assert_eq!(key_slot(b"foo"), 12182);
    assert_eq!(key_slot(b"bar"), 5061);
    assert_eq!(key_slot(b""), 0);
}

#[test]
fn hash_tags_pick_the_hashed_part() {
    assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
    assert_eq!(key_slot(b"x{foo}y{bar}"), key_slot(b"foo"));
    // An empty tag or no closing brace: the whole key.
    assert_eq!(hash_tag(b"foo{}{bar}"), b"foo{}{bar}");
    assert_eq!(hash_tag(b"foo{bar"), b"foo{bar");
    assert_eq!(hash_tag(b"{}"), b"{}");
}

#[test]
fn moved_and_ask_replies_are_redirects() {
    let asked = addr("10.0.0.1:7000");
    let err = |t: &str| Reply::Error(t.as_bytes().to_vec());
    assert_eq!(
        redirect(&err("MOVED 3999 127.0.0.1:6381"), asked),
        Some(Redirect::Moved(3999, addr("127.0.0.1:6381")))
    );
    assert_eq!(
        redirect(&err("ASK 3999 127.0.0.1:6382"), asked),
        Some(Redirect::Ask(addr("127.0.0.1:6382")))
    );
    // No host: the node asked.
    assert_eq!(
        redirect(&err("MOVED 1 :7001"), asked),
        Some(Redirect::Moved(1, addr("10.0.0.1:7001")))
    );
    assert_eq!(
        redirect(&err("MOVED 1 [::1]:7001"), asked),
        Some(Redirect::Moved(1, addr("[::1]:7001")))
    );
    for other in [
        "ERR wrong",
        "NOSCRIPT No matching script",
        "MOVED x 1.2.3.4:5",
        "MOVED 1 host:5",
    ] {
        assert_eq!(redirect(&err(other), asked), None, "{other}");
    }
    assert_eq!(redirect(&Reply::Simple(b"OK".to_vec()), asked), None);
}

#[test]
fn cluster_slots_reply_gives_the_masters_ranges() {
    // Two ranges, the second with a replica (ignored) and node ids.
    let wire = b"*2\r\n\
        *3\r\n:0\r\n:5460\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$4\r\nid-a\r\n\
        *4\r\n:5461\r\n:16383\r\n*2\r\n$0\r\n\r\n:7001\r\n*2\r\n$9\r\n127.0.0.1\r\n:7101\r\n";
    let (reply, _) = resp::parse(wire).unwrap().unwrap();
    let map = parse_slots(&reply, addr("10.0.0.9:7001")).unwrap();
    assert_eq!(
        map,
        [
            (0, 5460, addr("127.0.0.1:7000")),
            (5461, 16383, addr("10.0.0.9:7001"))
        ]
    );
    // Not a map: an error, a range past the last slot, a reversed range.
    assert_eq!(
        parse_slots(&Reply::Error(b"ERR".to_vec()), addr("1.1.1.1:1")),
        None
    );
    for bad in [
        &b"*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\na\r\n:1\r\n"[..],
        &b"*1\r\n*3\r\n:9\r\n:1\r\n*2\r\n$7\r\n1.2.3.4\r\n:1\r\n"[..],
    ] {
        let (reply, _) = resp::parse(bad).unwrap().unwrap();
        assert_eq!(parse_slots(&reply, addr("1.1.1.1:1")), None);
    }
}
