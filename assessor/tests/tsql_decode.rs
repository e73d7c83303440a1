//! Decoding and discovery: encodings decode to identical text, positions
//! survive CRLF, binary input is refused, discovery is sorted and relative.

use assessor::source::{DecodeError, Encoding, LineIndex, decode, discover};
use assessor::tsql::parse_script;

const SCRIPT: &str = "-- Größe €\r\nSELECT N'日本' AS x;\r\nGO\r\n";

fn utf16(text: &str, be: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(if be { &[0xFE, 0xFF] } else { &[0xFF, 0xFE] });
    }
    for u in text.encode_utf16() {
        out.extend_from_slice(&if be { u.to_be_bytes() } else { u.to_le_bytes() });
    }
    out
}

#[test]
fn all_encodings_decode_to_the_same_text() {
    let mut bom8 = vec![0xEF, 0xBB, 0xBF];
    bom8.extend_from_slice(SCRIPT.as_bytes());
    let cases = [
        (SCRIPT.as_bytes().to_vec(), Encoding::Utf8),
        (bom8, Encoding::Utf8Bom),
        (utf16(SCRIPT, false, true), Encoding::Utf16Le),
        (utf16(SCRIPT, true, true), Encoding::Utf16Be),
        (utf16(SCRIPT, false, false), Encoding::Utf16Le),
        (utf16(SCRIPT, true, false), Encoding::Utf16Be),
    ];
    let reference = parse_script(SCRIPT);
    for (bytes, enc) in cases {
        let d = decode(&bytes).unwrap();
        assert_eq!(d.text, SCRIPT, "{enc:?}");
        assert_eq!(d.encoding, enc);
        assert_eq!(d.warning, None);
        assert_eq!(parse_script(&d.text), reference);
    }
}

#[test]
fn crlf_positions_do_not_count_cr() {
    let d = decode(SCRIPT.as_bytes()).unwrap();
    let idx = LineIndex::new(&d.text);
    let select = d.text.find("SELECT").unwrap();
    assert_eq!(idx.position(&d.text, select), (2, 1));
    let x = d.text.find(" x;").unwrap() + 1;
    // "SELECT N'日本' AS " is 16 characters.
    assert_eq!(idx.position(&d.text, x), (2, 17));
    // The end of line 2 (the \r) is column 20, not on line 3.
    let cr = d.text[select..].find('\r').unwrap() + select;
    assert_eq!(idx.position(&d.text, cr).0, 2);
}

#[test]
fn invalid_utf16_is_lossy_with_warning() {
    // A lone high surrogate, then "A", then an odd trailing byte.
    let bytes = [0xFF, 0xFE, 0x00, 0xD8, 0x41, 0x00, 0x42];
    let d = decode(&bytes).unwrap();
    assert_eq!(d.text, "\u{FFFD}A\u{FFFD}");
    assert!(d.warning.unwrap().contains("invalid UTF-16"));
}

#[test]
fn windows_1252_fallback_warns() {
    let d = decode(b"SELECT 'caf\xE9'").unwrap();
    assert_eq!(d.text, "SELECT 'café'");
    assert_eq!(d.encoding, Encoding::Windows1252);
    let w = d.warning.unwrap();
    assert!(w.contains("Windows-1252") && !w.contains("caf"), "{w}");
}

#[test]
fn binary_is_a_clear_error() {
    // A PNG-like header followed by binary noise.
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0, 0, 0, 0x0D];
    bytes.extend((0..4000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 & 0x0F));
    let err = decode(&bytes).unwrap_err();
    assert!(matches!(err, DecodeError::Binary { .. }));
    assert!(err.to_string().contains("binary"));
}

#[test]
fn discover_is_recursive_sorted_and_relative() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("b/sub")).unwrap();
    for p in [
        "b/sub/z.SQL",
        "a.sql",
        "b/x.sql",
        "notes.txt",
        "b/y.sql.bak",
    ] {
        std::fs::write(root.join(p), "select 1").unwrap();
    }
    let files = discover(&[root.to_path_buf()]).unwrap();
    let rel: Vec<&str> = files.iter().map(|f| f.relative.as_str()).collect();
    assert_eq!(rel, vec!["a.sql", "b/sub/z.SQL", "b/x.sql"]);
    let single = discover(&[root.join("b/x.sql")]).unwrap();
    assert_eq!(single[0].relative, "x.sql");
    assert!(discover(&[root.join("missing")]).is_err());
}
