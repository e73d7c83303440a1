//! Input: finding `.sql` files and decoding them to text.
//!
//! Guarantees: the same script in UTF-8 (with or without BOM) and UTF-16
//! (LE/BE) decodes to the same text; line endings are kept as they are;
//! positions are reported in 1-based lines and character columns (a `\r`
//! before the `\n` never counts as a column of the next line).
//!
//! Streaming: [`discover`] only lists files; callers read and decode one file
//! at a time, so memory holds one script, never the corpus.

mod decode;
mod discover;

pub use decode::{DecodeError, Decoded, Encoding, decode};
pub use discover::{Discovery, InputFile, SourceError, discover, discover_all};

/// Maps byte offsets in a decoded text to 1-based (line, column).
#[derive(Debug, Clone)]
pub struct LineIndex {
    /// Byte offset of the start of each line.
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    ///
    /// An offset past the end maps to the last position; an offset inside a
    /// multi-byte character counts the characters before it.
    pub fn position(&self, text: &str, offset: usize) -> (u32, u32) {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        let column = text
            .as_bytes()
            .get(start..offset)
            // Count characters as UTF-8 lead bytes, so an offset that is not
            // on a char boundary still gets a sensible column.
            .map_or(0, |s| s.iter().filter(|&&b| (b & 0xC0) != 0x80).count())
            + 1;
        (
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(column).unwrap_or(u32::MAX),
        )
    }

    /// Number of lines (a text without a newline has one).
    pub fn line_count(&self) -> usize {
        self.starts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_with_crlf_and_multibyte() {
        let text = "ab\r\ncé x\nz";
        let idx = LineIndex::new(text);
        assert_eq!(idx.position(text, 0), (1, 1));
        assert_eq!(idx.position(text, 4), (2, 1));
        // 'x' is after "cé " (4 bytes, 3 chars).
        let x = text.find('x').unwrap_or(0);
        assert_eq!(idx.position(text, x), (2, 4));
        assert_eq!(idx.position(text, text.len()), (3, 2));
        assert_eq!(idx.line_count(), 3);
    }
}
