//! The hardened, streaming reader both capture formats share.
//!
//! Guarantees:
//! - One pass, one event in memory at a time: a record's fields are
//!   gathered while it is read and handed to the caller when it closes; the
//!   caller normalises the text before anything keeps it.
//! - Bounded: the file's size is checked before reading and counted while
//!   reading; the number of records and one record's text are capped
//!   ([`super::Limits`]). A text over its cap stops growing at once.
//! - No DTD is ever processed: a `DOCTYPE` is refused, and only the five
//!   predefined entities and numeric character references are resolved; any
//!   other entity reference is an error (so no entity expansion, internal or
//!   external, can happen).
//! - UTF-8 only: a UTF-16 byte-order mark or invalid UTF-8 is an error that
//!   says how to re-save the file.
//! - Errors name the file and a byte offset, never the file's text (not even
//!   an element name: quick-xml's own messages quote the document, so they
//!   are never shown).

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use quick_xml::errors::{Error as XmlError, IllFormedError, SyntaxError};
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use super::{CaptureFormat, Limits, WorkloadError};

/// What a field of a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Statement text; a lower rank wins when a record has several.
    Text { rank: u8 },
    /// CPU time, in units of `micros` microseconds.
    Cpu { micros: u64 },
    /// Elapsed time, in units of `micros` microseconds.
    Duration { micros: u64 },
    /// When the event happened (RFC 3339-like).
    Timestamp,
}

/// How one capture format lays out its records.
#[derive(Debug)]
pub(crate) struct Dialect {
    pub format: CaptureFormat,
    /// The record element's local name (`event`, `Event`).
    pub record: &'static str,
    /// Field elements inside a record; their `name` attribute says which.
    pub fields: &'static [&'static str],
    /// The child of a field that holds its value (`value` in XE), if any.
    pub value_child: Option<&'static str>,
    /// The record attribute holding its timestamp, if any.
    pub timestamp_attr: Option<&'static str>,
    /// The role of a field, by its `name` attribute.
    pub role: fn(&str) -> Option<Role>,
    /// Whether a record, by its `name` attribute, is a completed execution.
    pub counts: fn(&str) -> bool,
}

/// One record, as the caller sees it. `text` borrows the reader's buffer and
/// is gone when the callback returns.
#[derive(Debug)]
pub(crate) struct Record<'a> {
    /// A completed execution (the dialect's `counts`).
    pub counted: bool,
    pub text: Option<&'a str>,
    /// The text was longer than the limit (and `text` is `None`).
    pub text_too_long: bool,
    pub cpu_us: Option<u64>,
    pub duration_us: Option<u64>,
    pub timestamp: Option<&'a str>,
}

/// Longest numeric or timestamp field kept.
const SHORT_FIELD: usize = 64;

/// The field being read inside the current record.
#[derive(Debug, Clone, Copy)]
struct OpenField {
    role: Role,
    /// Element depth of the field element.
    depth: usize,
    /// Inside the value child (always true when the dialect has none).
    in_value: bool,
}

#[derive(Debug, Default)]
struct RecordState {
    counted: bool,
    best_rank: Option<u8>,
    text: String,
    too_long: bool,
    cpu_us: Option<u64>,
    duration_us: Option<u64>,
    timestamp: Option<String>,
    /// Value of the open field (text or a short field).
    value: String,
    value_too_long: bool,
}

/// Reads the capture at `path`, detecting its format from the first element,
/// and calls `on_record` for each record. Returns the format found.
pub(crate) fn read(
    path: &Path,
    dialects: &[&Dialect],
    limits: &Limits,
    on_record: &mut dyn FnMut(Record<'_>),
) -> Result<CaptureFormat, WorkloadError> {
    let file_error = |source| WorkloadError::Open {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(file_error)?;
    let size = file.metadata().map_err(file_error)?.len();
    if size > limits.max_file_bytes {
        return Err(WorkloadError::TooLarge {
            path: path.to_path_buf(),
            size,
            limit: limits.max_file_bytes,
        });
    }
    // `take`: a file that grows while read is still bounded.
    let mut input = BufReader::new(file.take(limits.max_file_bytes.saturating_add(1)));
    let head = input.fill_buf().map_err(file_error)?;
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Err(WorkloadError::Utf16 {
            path: path.to_path_buf(),
        });
    }
    let mut reader = Reader::from_reader(input);
    let mut buf = Vec::new();
    let mut depth = 0usize;
    let mut dialect: Option<&Dialect> = None;
    let mut record: Option<(usize, RecordState)> = None;
    let mut field: Option<OpenField> = None;
    let mut records = 0u64;
    let at = |reader: &Reader<_>| reader.buffer_position();
    loop {
        buf.clear();
        let event = match reader.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(e) => return Err(xml_error(path, e, reader.error_position())),
        };
        if reader.buffer_position() > limits.max_file_bytes {
            return Err(WorkloadError::TooLarge {
                path: path.to_path_buf(),
                size: reader.buffer_position(),
                limit: limits.max_file_bytes,
            });
        }
        match event {
            Event::DocType(_) => {
                return Err(WorkloadError::Doctype {
                    path: path.to_path_buf(),
                    at: at(&reader),
                });
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let local = e.local_name();
                let local = local.as_ref();
                let d = match dialect {
                    Some(d) => d,
                    None => {
                        // The first element decides: a dialect's root, or
                        // its record itself (a bare sequence), or any root
                        // wrapping records (XE's `<events>`).
                        let chosen = dialects
                            .iter()
                            .find(|d| d.record == local)
                            .or_else(|| dialects.iter().find(|d| root_of(d) == local))
                            .or_else(|| dialects.first());
                        let Some(&chosen) = chosen else {
                            return Err(not_a_capture(path));
                        };
                        dialect = Some(chosen);
                        chosen
                    }
                };
                let depth_here = depth + 1;
                if !empty {
                    depth = depth_here;
                }
                if record.is_none() && local == d.record {
                    records += 1;
                    if records > limits.max_events {
                        return Err(WorkloadError::TooManyEvents {
                            path: path.to_path_buf(),
                            limit: limits.max_events,
                        });
                    }
                    let mut state = RecordState {
                        counted: attr(path, e, "name", &reader)?.is_some_and(|n| (d.counts)(&n)),
                        ..RecordState::default()
                    };
                    if let Some(name) = d.timestamp_attr {
                        state.timestamp = attr(path, e, name, &reader)?
                            .filter(|t| t.len() <= SHORT_FIELD)
                            .map(|t| t.into_owned());
                    }
                    if empty {
                        on_record(finish(&state));
                    } else {
                        record = Some((depth_here, state));
                    }
                } else if let Some((_, state)) = record.as_mut() {
                    if field.is_none() && d.fields.contains(&local) {
                        let role = attr(path, e, "name", &reader)?.and_then(|n| (d.role)(&n));
                        if let Some(role) = role
                            && !empty
                        {
                            state.value.clear();
                            state.value_too_long = false;
                            field = Some(OpenField {
                                role,
                                depth: depth_here,
                                in_value: d.value_child.is_none(),
                            });
                        }
                    } else if let (Some(f), Some(child)) = (field.as_mut(), d.value_child)
                        && !empty
                        && depth_here == f.depth + 1
                        && local == child
                    {
                        f.in_value = true;
                    }
                }
            }
            Event::End(_) => {
                if let Some(f) = field {
                    if depth == f.depth {
                        if let Some((_, state)) = record.as_mut() {
                            close_field(state, f.role);
                        }
                        field = None;
                    } else if depth == f.depth + 1
                        && dialect.and_then(|d| d.value_child).is_some()
                        && let Some(f) = field.as_mut()
                    {
                        // The value child closed: what follows is not value.
                        f.in_value = false;
                    }
                }
                if let Some((record_depth, state)) = record.as_ref()
                    && depth == *record_depth
                {
                    on_record(finish(state));
                    record = None;
                }
                depth = depth.saturating_sub(1);
            }
            Event::Text(t) => {
                if record.is_none() && depth == 0 && !t.xml10_content().trim().is_empty() {
                    // Text outside any element: not an XML document.
                    return Err(not_a_capture(path));
                }
                if let (Some(f), Some((_, state))) = (field, record.as_mut())
                    && f.in_value
                {
                    push_value(state, f.role, &t.xml10_content(), limits);
                }
            }
            Event::CData(t) => {
                if let (Some(f), Some((_, state))) = (field, record.as_mut())
                    && f.in_value
                {
                    push_value(state, f.role, &t.xml10_content(), limits);
                }
            }
            Event::GeneralRef(r) => {
                let resolved: Option<String> = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c.to_string()),
                    Ok(None) => {
                        let name = r.xml10_content();
                        quick_xml::escape::resolve_predefined_entity(&name).map(str::to_owned)
                    }
                    Err(_) => None,
                };
                let Some(resolved) = resolved else {
                    return Err(WorkloadError::Entity {
                        path: path.to_path_buf(),
                        at: at(&reader),
                    });
                };
                if let (Some(f), Some((_, state))) = (field, record.as_mut())
                    && f.in_value
                {
                    push_value(state, f.role, &resolved, limits);
                }
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if depth != 0 || record.is_some() {
        return Err(WorkloadError::Truncated {
            path: path.to_path_buf(),
        });
    }
    match dialect {
        Some(d) if records > 0 => Ok(d.format),
        _ => Err(not_a_capture(path)),
    }
}

/// The root element a dialect's files start with (Profiler's `TraceData`).
fn root_of(d: &Dialect) -> &'static str {
    match d.format {
        CaptureFormat::Profiler => "TraceData",
        CaptureFormat::ExtendedEvents => "events",
        // Live sources are not files: no dialect reads them.
        CaptureFormat::QueryStore | CaptureFormat::PlanCache => "",
    }
}

fn not_a_capture(path: &Path) -> WorkloadError {
    WorkloadError::NotACapture {
        path: path.to_path_buf(),
    }
}

/// An attribute's value by local name, entities resolved as the module
/// allows (quick-xml refuses any other entity in attribute values).
fn attr<'e, R>(
    path: &Path,
    e: &'e BytesStart<'_>,
    name: &str,
    reader: &Reader<R>,
) -> Result<Option<std::borrow::Cow<'e, str>>, WorkloadError> {
    for a in e.attributes() {
        let a = a.map_err(|_| WorkloadError::Malformed {
            path: path.to_path_buf(),
            at: reader.buffer_position(),
        })?;
        if a.key.local_name().as_ref() == name {
            let value =
                a.normalized_value(XmlVersion::Implicit1_0)
                    .map_err(|_| WorkloadError::Entity {
                        path: path.to_path_buf(),
                        at: reader.buffer_position(),
                    })?;
            return Ok(Some(value));
        }
    }
    Ok(None)
}

/// Appends a piece of a field's value, within its limit.
fn push_value(state: &mut RecordState, role: Role, piece: &str, limits: &Limits) {
    let cap = match role {
        Role::Text { .. } => limits.max_statement_bytes,
        _ => SHORT_FIELD,
    };
    if state.value_too_long || state.value.len() + piece.len() > cap {
        state.value_too_long = true;
        state.value.clear();
        return;
    }
    state.value.push_str(piece);
}

/// Files the value of a field that just closed into its record.
fn close_field(state: &mut RecordState, role: Role) {
    let value = std::mem::take(&mut state.value);
    let too_long = std::mem::take(&mut state.value_too_long);
    let number = || value.trim().parse::<u64>().ok();
    match role {
        Role::Text { rank } => {
            if state.best_rank.is_some_and(|best| best <= rank) {
                return;
            }
            if too_long {
                state.too_long = true;
                state.best_rank = Some(rank);
                state.text.clear();
            } else if !value.trim().is_empty() {
                state.too_long = false;
                state.best_rank = Some(rank);
                state.text = value;
            }
        }
        Role::Cpu { micros } => state.cpu_us = number().map(|n| n.saturating_mul(micros)),
        Role::Duration { micros } => {
            state.duration_us = number().map(|n| n.saturating_mul(micros));
        }
        Role::Timestamp => {
            if !too_long {
                state.timestamp = Some(value.trim().to_string());
            }
        }
    }
}

fn finish(state: &RecordState) -> Record<'_> {
    Record {
        counted: state.counted,
        text: (state.best_rank.is_some() && !state.too_long).then_some(state.text.as_str()),
        text_too_long: state.too_long,
        cpu_us: state.cpu_us,
        duration_us: state.duration_us,
        timestamp: state.timestamp.as_deref(),
    }
}

/// quick-xml's errors quote the document (element names, text), so only
/// their class and the byte offset are kept.
fn xml_error(path: &Path, e: XmlError, at: u64) -> WorkloadError {
    let path = path.to_path_buf();
    match e {
        XmlError::Io(source) => WorkloadError::Read {
            path,
            message: source.kind().to_string(),
        },
        XmlError::Encoding(_) => WorkloadError::NotUtf8 { path, at },
        XmlError::Escape(_) => WorkloadError::Entity { path, at },
        XmlError::Syntax(
            SyntaxError::UnclosedTag
            | SyntaxError::UnclosedCData
            | SyntaxError::UnclosedComment
            | SyntaxError::UnclosedPI
            | SyntaxError::UnclosedDoctype
            | SyntaxError::UnclosedXmlDecl
            | SyntaxError::UnclosedSingleQuotedAttributeValue
            | SyntaxError::UnclosedDoubleQuotedAttributeValue,
        )
        | XmlError::IllFormed(IllFormedError::MissingEndTag(_)) => {
            WorkloadError::Truncated { path }
        }
        _ => WorkloadError::Malformed { path, at },
    }
}
