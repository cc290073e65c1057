//! Test support: applies a middleware's response edits to a complete HTTP/1.1
//! response head, with the semantics the framers (`http::answer::write_h1`,
//! `http::forward::write_response_head`) apply while they write, so tests
//! below `http` can check a middleware's edits on a head.

use super::{Edits, HeaderOp, drops, write_appended};

/// Fields a Set or Remove names are dropped, then every Set and Add goes at
/// the end of the head (`out` starts with its status line).
pub fn apply_to_head(edits: &Edits, out: &mut Vec<u8>) {
    if edits.response_edits().next().is_none() {
        return;
    }
    let Some(end) = memchr::memmem::find(out, b"\r\n\r\n") else {
        return;
    };
    let mut rebuilt = Vec::new();
    let mut lines = out[..end + 2].split_inclusive(|&b| b == b'\n');
    rebuilt.extend_from_slice(lines.next().unwrap_or_default());
    for line in lines {
        let name = line.split(|&b| b == b':').next().unwrap_or_default();
        if !drops(edits.response_edits(), name) {
            rebuilt.extend_from_slice(line);
        }
    }
    for (op, name, value) in edits.response_edits() {
        let first = || {
            out[..end + 2]
                .split(|&b| b == b'\n')
                .skip(1)
                .filter_map(|l| {
                    let at = l.iter().position(|&b| b == b':')?;
                    Some((&l[..at], &l[at + 1..]))
                })
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim_ascii())
        };
        match op {
            HeaderOp::Remove => {}
            HeaderOp::Append => write_appended(&mut rebuilt, name, first(), value),
            _ => {
                rebuilt.extend_from_slice(name);
                rebuilt.extend_from_slice(b": ");
                rebuilt.extend_from_slice(value);
                rebuilt.extend_from_slice(b"\r\n");
            }
        }
    }
    rebuilt.extend_from_slice(&out[end + 2..]);
    *out = rebuilt;
}
