//! Source excerpts around findings: what the HTML report's drill-down shows
//! when a finding is opened (its line with a few lines before and after,
//! numbered), like Compass's cross-reference pages but inside the one file.
//!
//! Guarantees:
//! - An excerpt holds only lines within [`CONTEXT_LINES`] of a finding's
//!   line, each cut to at most [`LINE_CHARS`] characters (an ellipsis marks
//!   a cut), so a report never carries more of a script than its findings
//!   need, and a minified one-line script cannot blow the report up.
//! - Windows that touch or overlap are merged: each source line is stored
//!   once per file however many findings share it.
//! - Excerpts are customer code, like snippets: they go into the report and
//!   nowhere else. Nothing here logs or formats them into an error.

use serde::Serialize;

/// Lines shown before and after a finding's line.
pub const CONTEXT_LINES: u32 = 3;
/// Longest excerpt line, in characters.
pub const LINE_CHARS: usize = 240;

/// The excerpts of one file (a script, or a module on the appliance).
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
pub struct Excerpt {
    /// Path as in [`crate::findings::Finding::file`].
    pub file: String,
    /// Disjoint runs of consecutive lines, in line order.
    pub blocks: Vec<Block>,
}

/// Consecutive source lines starting at `first_line` (1-based).
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
pub struct Block {
    pub first_line: u32,
    pub lines: Vec<String>,
}

impl Excerpt {
    /// The excerpt of `text` around `finding_lines` (1-based, any order,
    /// repeats allowed); `None` when there is no line to show.
    pub fn around(
        file: &str,
        text: &str,
        finding_lines: impl IntoIterator<Item = u32>,
    ) -> Option<Excerpt> {
        let windows = merged_windows(finding_lines);
        if windows.is_empty() {
            return None;
        }
        let mut blocks: Vec<Block> = Vec::with_capacity(windows.len());
        let mut windows = windows.into_iter().peekable();
        for (n, line) in (1u32..).zip(text.split('\n')) {
            let Some(&(first, last)) = windows.peek() else {
                break;
            };
            if n < first {
                continue;
            }
            match blocks.last_mut() {
                Some(b) if b.first_line == first => {}
                _ => blocks.push(Block {
                    first_line: first,
                    lines: Vec::new(),
                }),
            }
            if let Some(b) = blocks.last_mut() {
                b.lines.push(cut(line.strip_suffix('\r').unwrap_or(line)));
            }
            if n == last {
                windows.next();
            }
        }
        blocks.retain(|b| !b.lines.is_empty());
        (!blocks.is_empty()).then(|| Excerpt {
            file: file.to_owned(),
            blocks,
        })
    }
}

impl std::fmt::Debug for Excerpt {
    // Names and code are customer data: never in a Debug dump.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Excerpt")
            .field("blocks", &self.blocks.len())
            .field(
                "lines",
                &self.blocks.iter().map(|b| b.lines.len()).sum::<usize>(),
            )
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block")
            .field("first_line", &self.first_line)
            .field("lines", &self.lines.len())
            .finish_non_exhaustive()
    }
}

/// `[line - CONTEXT_LINES, line + CONTEXT_LINES]` for each line, clamped
/// at 1, sorted, with touching or overlapping windows merged.
fn merged_windows(lines: impl IntoIterator<Item = u32>) -> Vec<(u32, u32)> {
    let mut lines: Vec<u32> = lines.into_iter().filter(|&l| l > 0).collect();
    lines.sort_unstable();
    lines.dedup();
    let mut out: Vec<(u32, u32)> = Vec::new();
    for l in lines {
        let first = l.saturating_sub(CONTEXT_LINES).max(1);
        let last = l.saturating_add(CONTEXT_LINES);
        match out.last_mut() {
            Some(w) if first <= w.1.saturating_add(1) => w.1 = w.1.max(last),
            _ => out.push((first, last)),
        }
    }
    out
}

/// The line, cut to [`LINE_CHARS`] characters.
fn cut(line: &str) -> String {
    match line.char_indices().nth(LINE_CHARS - 1) {
        Some((at, _)) if line[at..].chars().nth(1).is_some() => {
            let mut s = line[..at].to_owned();
            s.push('…');
            s
        }
        _ => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(n: u32) -> String {
        (1..=n).map(|i| format!("line {i}\r\n")).collect()
    }

    #[test]
    fn a_finding_gets_its_line_and_three_either_side() {
        let text = numbered(20);
        let e = Excerpt::around("a.sql", &text, [10]).unwrap();
        assert_eq!(e.blocks.len(), 1);
        assert_eq!(e.blocks[0].first_line, 7);
        assert_eq!(e.blocks[0].lines.first().unwrap(), "line 7");
        assert_eq!(e.blocks[0].lines.last().unwrap(), "line 13");
    }

    #[test]
    fn windows_clamp_at_the_edges_of_the_file() {
        let text = numbered(4);
        let e = Excerpt::around("a.sql", &text, [1, 4]).unwrap();
        assert_eq!(e.blocks.len(), 1);
        assert_eq!(e.blocks[0].first_line, 1);
        // The text ends with a newline: the empty last "line" 5 is kept,
        // as an editor shows it.
        assert_eq!(e.blocks[0].lines.len(), 5);
    }

    #[test]
    fn close_findings_share_lines_and_distant_ones_do_not() {
        let text = numbered(100);
        let e = Excerpt::around("a.sql", &text, [20, 26, 26, 80]).unwrap();
        let spans: Vec<(u32, usize)> = e
            .blocks
            .iter()
            .map(|b| (b.first_line, b.lines.len()))
            .collect();
        // 17..=29 (touching windows merged), then 77..=83.
        assert_eq!(spans, vec![(17, 13), (77, 7)]);
    }

    #[test]
    fn lines_are_cut_and_no_finding_means_no_excerpt() {
        let long = "é".repeat(1000);
        let e = Excerpt::around("a.sql", &long, [1]).unwrap();
        let line = &e.blocks[0].lines[0];
        assert_eq!(line.chars().count(), LINE_CHARS);
        assert!(line.ends_with('…'));
        let exact = "x".repeat(LINE_CHARS);
        let e = Excerpt::around("a.sql", &exact, [1]).unwrap();
        assert_eq!(e.blocks[0].lines[0], exact);
        assert_eq!(Excerpt::around("a.sql", "SELECT 1", []), None);
        // A line past the end of the text shows nothing.
        assert_eq!(Excerpt::around("a.sql", "SELECT 1", [50]), None);
    }

    #[test]
    fn debug_shows_counts_never_names_or_code() {
        let e = Excerpt::around("secret_file.sql", "SELECT 'canary'", [1]).unwrap();
        let shown = format!("{e:?}");
        assert!(!shown.contains("canary") && !shown.contains("secret_file"));
        assert!(shown.contains("lines: 1"));
    }
}
