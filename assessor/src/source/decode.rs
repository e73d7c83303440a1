//! Decoding script bytes to text.
//!
//! Guarantees: UTF-8 (with or without BOM), UTF-16 LE/BE (with BOM, or
//! without BOM when the NUL pattern says so) decode to the same text; the
//! BOM is dropped; line endings are untouched. Text that is neither is read
//! as Windows-1252 with a warning. Invalid UTF-16 is decoded lossily with a
//! warning. Files that look binary are refused. Never panics.

use thiserror::Error;

/// The encoding a script was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
    /// Fallback for text that is not valid UTF-8.
    Windows1252,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf8Bom => "utf-8 (bom)",
            Encoding::Utf16Le => "utf-16le",
            Encoding::Utf16Be => "utf-16be",
            Encoding::Windows1252 => "windows-1252",
        }
    }
}

/// A decoded script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub text: String,
    pub encoding: Encoding,
    /// Set when the text may not be what the author wrote (fallback or
    /// lossy decoding). Never contains script content.
    pub warning: Option<String>,
}

/// Why bytes could not be read as a script.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes are not text in any encoding we read.
    #[error(
        "file looks binary ({nuls} NUL bytes in the first {sampled}), not a T-SQL script: \
         export the script as text (UTF-8 or UTF-16) or remove it from the input"
    )]
    Binary { nuls: usize, sampled: usize },
}

/// Bytes sampled to detect BOM-less UTF-16 and binary content.
const SAMPLE: usize = 4096;

/// Decodes script bytes. See the module docs for what is accepted.
pub fn decode(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return Ok(utf8_or_fallback(rest, Encoding::Utf8Bom));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return Ok(utf16(rest, false));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return Ok(utf16(rest, true));
    }
    let sample = &bytes[..bytes.len().min(SAMPLE)];
    let nuls = sample.iter().filter(|&&b| b == 0).count();
    if nuls * 100 <= sample.len() {
        // No or a few stray NULs: text (the lexer treats NUL as blank).
        return Ok(utf8_or_fallback(bytes, Encoding::Utf8));
    }
    // BOM-less UTF-16: ASCII-range text has NULs in every other byte.
    let even_nuls = sample.iter().step_by(2).filter(|&&b| b == 0).count();
    let odd_nuls = nuls - even_nuls;
    let pairs = sample.len() / 2;
    if pairs > 0 && odd_nuls * 10 >= pairs * 7 && even_nuls * 10 <= pairs {
        return Ok(utf16(bytes, false));
    }
    if pairs > 0 && even_nuls * 10 >= pairs * 7 && odd_nuls * 10 <= pairs {
        return Ok(utf16(bytes, true));
    }
    Err(DecodeError::Binary {
        nuls,
        sampled: sample.len(),
    })
}

fn utf8_or_fallback(bytes: &[u8], encoding: Encoding) -> Decoded {
    match std::str::from_utf8(bytes) {
        Ok(text) => Decoded {
            text: text.to_owned(),
            encoding,
            warning: None,
        },
        Err(e) => Decoded {
            text: bytes.iter().map(|&b| windows_1252(b)).collect(),
            encoding: Encoding::Windows1252,
            warning: Some(format!(
                "not valid UTF-8 (first invalid byte at offset {}): read as Windows-1252; \
                 re-export the script as UTF-8 or UTF-16 if characters look wrong",
                e.valid_up_to()
            )),
        },
    }
}

fn utf16(bytes: &[u8], big_endian: bool) -> Decoded {
    let units = bytes.chunks_exact(2).map(|c| {
        if big_endian {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_le_bytes([c[0], c[1]])
        }
    });
    let mut text = String::with_capacity(bytes.len() / 2);
    let mut invalid = 0usize;
    for ch in char::decode_utf16(units) {
        match ch {
            Ok(c) => text.push(c),
            Err(_) => {
                invalid += 1;
                text.push(char::REPLACEMENT_CHARACTER);
            }
        }
    }
    let odd = bytes.len() % 2 == 1;
    if odd {
        invalid += 1;
        text.push(char::REPLACEMENT_CHARACTER);
    }
    let warning = (invalid > 0).then(|| {
        format!(
            "invalid UTF-16 ({invalid} bad code units{}): replaced with U+FFFD; \
             positions after them may be off",
            if odd { ", odd length" } else { "" }
        )
    });
    Decoded {
        text,
        encoding: if big_endian {
            Encoding::Utf16Be
        } else {
            Encoding::Utf16Le
        },
        warning,
    }
}

/// Windows-1252 to Unicode; the five undefined bytes map to C1 controls, as
/// the WHATWG encoding standard does.
fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '\u{20AC}', '\u{81}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}',
        '\u{2021}', '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{8D}',
        '\u{017D}', '\u{8F}', '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}',
        '\u{2013}', '\u{2014}', '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}', '\u{0153}',
        '\u{9D}', '\u{017E}', '\u{0178}',
    ];
    match b {
        0x80..=0x9F => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_maps_1252() {
        let d = decode(b"SELECT '\x80\xE9'").unwrap();
        assert_eq!(d.text, "SELECT '€é'");
        assert_eq!(d.encoding, Encoding::Windows1252);
        assert!(d.warning.is_some());
    }

    #[test]
    fn bomless_utf16_is_detected() {
        let le: Vec<u8> = "SELECT 1\r\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let be: Vec<u8> = "SELECT 1\r\n"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(decode(&le).unwrap().encoding, Encoding::Utf16Le);
        assert_eq!(decode(&be).unwrap().encoding, Encoding::Utf16Be);
        assert_eq!(decode(&be).unwrap().text, "SELECT 1\r\n");
    }

    #[test]
    fn binary_is_refused() {
        let bytes: Vec<u8> = (0..2000u32)
            .map(|i| if i % 3 == 0 { 0 } else { 7 })
            .collect();
        assert!(matches!(decode(&bytes), Err(DecodeError::Binary { .. })));
    }
}
