//! Observations: the structural facts the parser reports about T-SQL code.
//!
//! The parser knows T-SQL; the rule catalog knows Babelfish. Observations are
//! the contract between the two: the parser emits one for every construct a
//! rule could care about, with its location, and the catalog's detection
//! patterns (data files, see [`crate::rules`]) decide which observations are
//! features and what their status is. Adding a rule is a data change unless
//! the parser does not yet observe the construct.
//!
//! Names are normalised: upper case, brackets and quotes removed, single
//! spaces between words. A two-part name keeps its dot (`SYS.DM_EXEC_SESSIONS`).

use serde::Serialize;

/// What kind of construct was observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObservationKind {
    /// A statement, named by its leading keywords: `CREATE PROCEDURE`,
    /// `ALTER INDEX`, `MERGE`, `BULK INSERT`, `SET`, `RAISERROR`, ...
    Statement,
    /// A built-in or user function call; `detail` is the argument count.
    Function,
    /// A data type used in a declaration, column, parameter or CAST.
    DataType,
    /// `@@NAME`.
    GlobalVariable,
    /// A reference to a system object (`sys.*`, `INFORMATION_SCHEMA.*`,
    /// `dbo.sysobjects` and other compatibility views).
    SystemObject,
    /// `EXEC name` of a system procedure (`sp_*`, `xp_*`) or any procedure.
    Procedure,
    /// `WITH (NOLOCK)` and other table hints.
    TableHint,
    /// `OPTION (...)` query hints.
    QueryHint,
    /// `INNER HASH JOIN` and other join hints.
    JoinHint,
    /// `SET option value`; `name` is the option, `detail` the value (`ON`, ...).
    SetOption,
    /// An option inside a statement (`WITH (...)`, `SET ...` in ALTER
    /// DATABASE, index options, cursor options...); `detail` is the value.
    Option,
    /// A clause or syntax form: `FOR XML PATH`, `OUTPUT`, `PIVOT`,
    /// `CROSS APPLY`, `OVER`, `TOP PERCENT`, `WITH TIES`, ...
    Clause,
    /// A method call on an XML or CLR value: `.nodes()`, `.value()`, ...
    Method,
    /// A sqlcmd directive or variable: `:setvar`, `:r`, `$(var)`, `GO n`.
    Sqlcmd,
    /// Code the parser could not understand. Always becomes a
    /// `review_manually` finding; parsing resynchronises afterwards.
    Unparsed,
    /// A server or database fact read from a live server's catalog (a
    /// linked server, an Agent job ...); never produced by the parser (see
    /// `crate::analyze::inventory`).
    ServerObject,
}

/// One observed construct.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Observation {
    pub kind: ObservationKind,
    /// Normalised name (see module docs).
    pub name: String,
    /// Kind-specific detail (argument count, option value, ...).
    pub detail: Option<String>,
    /// The statement this construct appears in, normalised like
    /// [`ObservationKind::Statement`] names (`SELECT`, `ALTER INDEX`, ...).
    pub statement: String,
    /// Byte offset of the construct in the decoded text.
    pub offset: usize,
    /// Length in bytes of the construct (for snippets).
    pub len: usize,
    /// Found inside a string that is run as T-SQL (EXEC ('...'),
    /// sp_executesql N'...'): dynamic SQL, which Compass does not read.
    pub in_string: bool,
}
