//! Go's `http.DetectContentType` (the WHATWG MIME sniffing subset Go's
//! `net/http` server applies to a response without `Content-Type`): the same
//! signatures in the same order, so a sniffed type reads as Traefik's would.

/// Go looks at no more than this many bytes.
pub const SNIFF_LEN: usize = 512;

/// What a signature compares.
enum Sig {
    /// An HTML tag, case-insensitive, after leading whitespace, followed by a
    /// space or `>`.
    Html(&'static [u8]),
    /// A prefix, byte for byte.
    Exact(&'static [u8], &'static str),
    /// Each byte masked then compared; `skip_ws` starts after leading whitespace.
    Masked {
        mask: &'static [u8],
        pat: &'static [u8],
        skip_ws: bool,
        ct: &'static str,
    },
    Mp4,
    /// No binary control bytes: plain text (always last).
    Text,
}

const HTML: &str = "text/html; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";
const M4: &[u8] = b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF";

const fn masked(mask: &'static [u8], pat: &'static [u8], ct: &'static str) -> Sig {
    Sig::Masked {
        mask,
        pat,
        skip_ws: false,
        ct,
    }
}

/// Go's table, in Go's order (the first match wins).
const SIGNATURES: &[Sig] = &[
    Sig::Html(b"<!DOCTYPE HTML"),
    Sig::Html(b"<HTML"),
    Sig::Html(b"<HEAD"),
    Sig::Html(b"<SCRIPT"),
    Sig::Html(b"<IFRAME"),
    Sig::Html(b"<H1"),
    Sig::Html(b"<DIV"),
    Sig::Html(b"<FONT"),
    Sig::Html(b"<TABLE"),
    Sig::Html(b"<A"),
    Sig::Html(b"<STYLE"),
    Sig::Html(b"<TITLE"),
    Sig::Html(b"<B"),
    Sig::Html(b"<BODY"),
    Sig::Html(b"<BR"),
    Sig::Html(b"<P"),
    Sig::Html(b"<!--"),
    Sig::Masked {
        mask: b"\xFF\xFF\xFF\xFF\xFF",
        pat: b"<?xml",
        skip_ws: true,
        ct: "text/xml; charset=utf-8",
    },
    Sig::Exact(b"%PDF-", "application/pdf"),
    Sig::Exact(b"%!PS-Adobe-", "application/postscript"),
    // Byte order marks.
    masked(
        b"\xFF\xFF\x00\x00",
        b"\xFE\xFF\x00\x00",
        "text/plain; charset=utf-16be",
    ),
    masked(
        b"\xFF\xFF\x00\x00",
        b"\xFF\xFE\x00\x00",
        "text/plain; charset=utf-16le",
    ),
    masked(b"\xFF\xFF\xFF\x00", b"\xEF\xBB\xBF\x00", TEXT),
    // Images.
    Sig::Exact(b"\x00\x00\x01\x00", "image/x-icon"),
    Sig::Exact(b"\x00\x00\x02\x00", "image/x-icon"),
    Sig::Exact(b"BM", "image/bmp"),
    Sig::Exact(b"GIF87a", "image/gif"),
    Sig::Exact(b"GIF89a", "image/gif"),
    masked(
        b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF\xFF\xFF",
        b"RIFF\x00\x00\x00\x00WEBPVP",
        "image/webp",
    ),
    Sig::Exact(b"\x89PNG\x0D\x0A\x1A\x0A", "image/png"),
    Sig::Exact(b"\xFF\xD8\xFF", "image/jpeg"),
    // Audio and video.
    masked(M4, b"FORM\x00\x00\x00\x00AIFF", "audio/aiff"),
    masked(b"\xFF\xFF\xFF", b"ID3", "audio/mpeg"),
    masked(b"\xFF\xFF\xFF\xFF\xFF", b"OggS\x00", "application/ogg"),
    masked(
        b"\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF",
        b"MThd\x00\x00\x00\x06",
        "audio/midi",
    ),
    masked(M4, b"RIFF\x00\x00\x00\x00AVI ", "video/avi"),
    masked(M4, b"RIFF\x00\x00\x00\x00WAVE", "audio/wave"),
    Sig::Mp4,
    Sig::Exact(b"\x1A\x45\xDF\xA3", "video/webm"),
    // Fonts: 34 bytes of anything, then `LP`.
    masked(&EOT_MASK, &EOT_PAT, "application/vnd.ms-fontobject"),
    Sig::Exact(b"\x00\x01\x00\x00", "font/ttf"),
    Sig::Exact(b"OTTO", "font/otf"),
    Sig::Exact(b"ttcf", "font/collection"),
    Sig::Exact(b"wOFF", "font/woff"),
    Sig::Exact(b"wOF2", "font/woff2"),
    // Archives.
    Sig::Exact(b"\x1F\x8B\x08", "application/x-gzip"),
    Sig::Exact(b"PK\x03\x04", "application/zip"),
    Sig::Exact(b"Rar!\x1A\x07\x00", "application/x-rar-compressed"),
    Sig::Exact(b"Rar!\x1A\x07\x01\x00", "application/x-rar-compressed"),
    Sig::Exact(b"\x00\x61\x73\x6D", "application/wasm"),
    Sig::Text,
];

const EOT_MASK: [u8; 36] = eot(0xFF);
const EOT_PAT: [u8; 36] = eot(0);

/// 34 zero bytes then two bytes: `0xFF 0xFF` for the mask, `LP` for the pattern.
const fn eot(mask: u8) -> [u8; 36] {
    let mut a = [0u8; 36];
    if mask == 0xFF {
        a[34] = 0xFF;
        a[35] = 0xFF;
    } else {
        a[34] = b'L';
        a[35] = b'P';
    }
    a
}

/// The MIME type Go's `DetectContentType` gives `data`.
pub fn detect(data: &[u8]) -> &'static str {
    let data = &data[..data.len().min(SNIFF_LEN)];
    let ws = data.iter().take_while(|&&b| is_ws(b)).count();
    SIGNATURES
        .iter()
        .find_map(|sig| matches(sig, data, ws))
        .unwrap_or("application/octet-stream")
}

fn is_ws(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

fn matches(sig: &Sig, data: &[u8], ws: usize) -> Option<&'static str> {
    match sig {
        Sig::Html(tag) => html(tag, &data[ws..]),
        Sig::Exact(prefix, ct) => data.starts_with(prefix).then_some(ct),
        Sig::Masked {
            mask,
            pat,
            skip_ws,
            ct,
        } => {
            let data = if *skip_ws { &data[ws..] } else { data };
            let hit = data.len() >= pat.len()
                && pat
                    .iter()
                    .zip(*mask)
                    .zip(data)
                    .all(|((p, m), d)| d & m == *p);
            hit.then_some(ct)
        }
        Sig::Mp4 => mp4(data).then_some("video/mp4"),
        Sig::Text => (!data[ws..].iter().any(|&b| is_binary(b))).then_some(TEXT),
    }
}

fn html(tag: &[u8], data: &[u8]) -> Option<&'static str> {
    if data.len() < tag.len() + 1 {
        return None;
    }
    let same = tag.iter().zip(data).all(|(&t, &d)| {
        let d = if t.is_ascii_uppercase() { d & 0xDF } else { d };
        t == d
    });
    (same && matches!(data[tag.len()], b' ' | b'>')).then_some(HTML)
}

/// An ISO base media file whose `ftyp` box names an `mp4` brand.
fn mp4(data: &[u8]) -> bool {
    if data.len() < 12 {
        return false;
    }
    let size = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize;
    if data.len() < size || !size.is_multiple_of(4) || &data[4..8] != b"ftyp" {
        return false;
    }
    // Offset 12 is the major brand's version, not a brand.
    (8..size)
        .step_by(4)
        .any(|at| at != 12 && &data[at..at + 3] == b"mp4")
}

/// Bytes that make data binary (WHATWG MIME sniffing §5 step 4).
fn is_binary(b: u8) -> bool {
    b <= 0x08 || b == 0x0B || (0x0E..=0x1A).contains(&b) || (0x1C..=0x1F).contains(&b)
}

#[cfg(test)]
mod tests {
    use super::detect;

    #[test]
    fn go_sniff_table_samples() {
        for (data, want) in [
            (&b""[..], "text/plain; charset=utf-8"),
            (b"Test", "text/plain; charset=utf-8"),
            (b"\x01\x02", "application/octet-stream"),
            (b"  <!doctype html><p>", "text/html; charset=utf-8"),
            (b"<HtMl><b>", "text/html; charset=utf-8"),
            (b"<html", "text/plain; charset=utf-8"),
            (b"<br/>", "text/plain; charset=utf-8"),
            (b"\n<?xml!", "text/xml; charset=utf-8"),
            (b"%PDF-1.4", "application/pdf"),
            (b"\xFE\xFF\x00\x41", "text/plain; charset=utf-16be"),
            (b"\x89PNG\x0D\x0A\x1A\x0A", "image/png"),
            (b"\xFF\xD8\xFF\xE0", "image/jpeg"),
            (b"GIF89a...", "image/gif"),
            (b"RIFF\x01\x02\x03\x04WEBPVP8 ", "image/webp"),
            (
                b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",
                "video/mp4",
            ),
            (b"\x1F\x8B\x08\x00", "application/x-gzip"),
            (b"PK\x03\x04", "application/zip"),
            (b"\x00\x61\x73\x6D\x01", "application/wasm"),
            (b"wOF2....", "font/woff2"),
            (b"{\"a\":1}", "text/plain; charset=utf-8"),
        ] {
            assert_eq!(detect(data), want, "{data:?}");
        }
        let mut eot = vec![7u8; 34];
        eot.extend_from_slice(b"LP");
        assert_eq!(detect(&eot), "application/vnd.ms-fontobject");
    }

    #[test]
    fn looks_at_512_bytes_only() {
        let mut data = vec![b'a'; 512];
        data.push(0x01);
        assert_eq!(detect(&data), "text/plain; charset=utf-8");
    }
}
