//! The flat statement-body scanner.
//!
//! It walks tokens until the statement ends (`;`, a statement start that the
//! context rules accept as a boundary, or the batch end), keeping open
//! parentheses on an explicit stack of frames (function calls, CAST,
//! OVER, hint and option lists, column definitions), and emits observations
//! for functions, types, hints, options, clauses and names.
//!
//! Guarantees: each loop iteration consumes at least one token; the frame
//! stack is bounded by `MAX_PAREN_DEPTH` (deeper input ends the batch with an
//! `Unparsed` observation); look-aheads are bounded, so scanning is linear.

use super::keywords::{self, in_sorted};
use super::{MAX_PAREN_DEPTH, Parser, parse_dynamic};
use crate::tsql::lexer::TokenKind;
use crate::tsql::observation::ObservationKind as K;

/// What kind of statement a body belongs to (for boundary rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Select,
    Insert,
    Update,
    Delete,
    Merge,
    Grant,
    AlterTable,
    AlterDatabase,
    AlterIndex,
    CreateIndex,
    /// Other CREATE/ALTER (tables, types, ...).
    Ddl,
    /// Header of a procedure, function, trigger or view (ends after `AS`).
    Routine,
    Declare,
    DeclareCursor,
    Set,
    Exec,
    /// IF / WHILE condition.
    Cond,
    Raiserror,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FrameKind {
    Call,
    Convert,
    Cast,
    Over,
    QueryHints,
    TableHints,
    Options,
    ColumnDefs,
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    kind: FrameKind,
    /// Token index of the `(` that opened the frame.
    open: usize,
    /// Index in `Parser::obs` of the call whose arguments are counted.
    obs: Option<usize>,
    commas: u32,
    nonempty: bool,
    item_start: bool,
}

/// Per-statement scanning state.
#[derive(Debug)]
pub(super) struct Stmt {
    kind: Kind,
    frames: Vec<Frame>,
    case_depth: usize,
    /// INSERT: the source query/EXEC has not been seen yet.
    dml_open: bool,
    /// UPDATE: the SET clause has not been seen yet.
    set_open: bool,
    /// UPDATE: inside the SET list (after SET, before FROM, WHERE, OUTPUT
    /// or OPTION), where each item starts with what it assigns.
    set_list: bool,
    /// GRANT/REVOKE/DENY: before TO/FROM.
    pub(super) grant_open: bool,
    /// Stop when the first parenthesis closes (CTE bodies, option lists).
    pub(super) until_close: bool,
    /// Frame kind for the next `(`.
    pub(super) pending: Option<FrameKind>,
    pub(super) ddl_trigger: bool,
    /// For routine headers: PROCEDURE, FUNCTION, TRIGGER, VIEW.
    pub(super) routine: String,
    /// `SELECT TOP` not yet followed by ORDER BY: (paren depth, token).
    tops: Vec<(usize, usize)>,
    output_open: bool,
    /// An OUTPUT clause was seen in this statement.
    output_seen: bool,
    /// ALTER DATABASE ... SET / ALTER TABLE ADD: next word starts an item.
    item_at_depth0: bool,
    alter_add: bool,
    /// Token index of the `)` closing OPENJSON(...) / OPENXML(...), whose
    /// `WITH (...)` is a column list.
    rowset_close: Option<usize>,
}

impl Stmt {
    pub(super) fn new(kind: Kind) -> Stmt {
        Stmt {
            kind,
            frames: Vec::new(),
            case_depth: 0,
            dml_open: kind == Kind::Insert,
            set_open: kind == Kind::Update,
            set_list: false,
            grant_open: false,
            until_close: false,
            pending: None,
            ddl_trigger: false,
            routine: String::new(),
            tops: Vec::new(),
            output_open: false,
            output_seen: false,
            item_at_depth0: false,
            alter_add: false,
            rowset_close: None,
        }
    }

    fn is_ddl(&self) -> bool {
        matches!(
            self.kind,
            Kind::AlterTable
                | Kind::AlterDatabase
                | Kind::AlterIndex
                | Kind::CreateIndex
                | Kind::Ddl
                | Kind::Routine
        )
    }
}

/// Level types of `sp_addextendedproperty` (`@level0type` ... `@level2type`).
const EXTENDED_PROPERTY_LEVELS: &[&str] = &[
    "AGGREGATE",
    "ASSEMBLY",
    "COLUMN",
    "CONSTRAINT",
    "CONTRACT",
    "DEFAULT",
    "EVENT NOTIFICATION",
    "FILEGROUP",
    "FUNCTION",
    "INDEX",
    "LOGICAL FILE NAME",
    "MESSAGE TYPE",
    "PARAMETER",
    "PARTITION FUNCTION",
    "PARTITION SCHEME",
    "PLAN GUIDE",
    "PROCEDURE",
    "QUEUE",
    "REMOTE SERVICE BINDING",
    "ROUTE",
    "RULE",
    "SCHEMA",
    "SEQUENCE",
    "SERVICE",
    "SYNONYM",
    "TABLE",
    "TRIGGER",
    "TYPE",
    "USER",
    "VIEW",
    "XML SCHEMA COLLECTION",
];

/// The system types whose static methods (`geometry::Point(...)`) Babelfish
/// assesses method by method; a `type::Method(...)` on any other type is a
/// CLR user-defined type's.
const SYSTEM_CLR_TYPES: &[&str] = &["GEOMETRY", "GEOGRAPHY", "HIERARCHYID"];

/// What follows `ON DELETE` / `ON UPDATE` in a foreign key: `CASCADE`,
/// `NO ACTION`, `SET NULL`, `SET DEFAULT` (and `RESTRICT`, which SQL Server
/// rejects but other dialects' scripts carry).
const REFERENTIAL_ACTIONS: &[&str] = &["CASCADE", "NO", "RESTRICT", "SET"];

/// Words after which a statement keyword continues the current statement.
const CONTINUING: &[&str] = &[
    "AFTER",
    "ALL",
    "AS",
    "EXCEPT",
    "FOR",
    "INTERSECT",
    "OF",
    "ROW",
    "ROWS",
    "THEN",
    "UNION",
    "WITH",
];

impl Parser<'_> {
    /// Whether the token at `pos` (at depth 0, outside CASE) ends `st`.
    fn is_boundary(&self, st: &mut Stmt) -> bool {
        let i = self.pos;
        let Some(t) = self.tok(i) else { return true };
        if t.kind != TokenKind::Word {
            return false;
        }
        let w = self.upper(i);
        let w = w.as_str();
        if w == "VALUES" && st.kind == Kind::Insert {
            // `INSERT ... VALUES (...)` or `DEFAULT VALUES`: the source is
            // given, so a SELECT or EXEC after it starts a statement.
            st.dml_open = false;
        }
        if !in_sorted(keywords::STATEMENT_STARTS, w) {
            return false;
        }
        if i > 0
            && (self.is_op(i - 1, ",") || self.is_any_word(i - 1, CONTINUING))
            && !self.ends_a_statement(i - 1)
        {
            // `ON DELETE`, `FOR UPDATE`, `UNION SELECT`, `WITH ROLLBACK`...
            // but `AS` only continues routine headers / views.
            if !self.is_word(i - 1, "AS") || st.kind == Kind::Routine {
                return false;
            }
        }
        if i > 0 && self.is_foreign_key_action(i - 1) {
            // A foreign key's `ON DELETE CASCADE`; but after `SET NOCOUNT
            // ON` (or any option's ON) an UPDATE or DELETE on the next line
            // is a statement of its own.
            return false;
        }
        let next = self.upper(i + 1);
        let next = next.as_str();
        match w {
            "CREATE" | "ALTER" | "DROP" => {
                if st.kind == Kind::Grant && st.grant_open {
                    return false;
                }
                let obj = self.is_word(i + 1, "OR")
                    || self.is_any_word(i + 1, keywords::INDEX_MODIFIERS)
                    || keywords::OBJECT_TYPES.iter().any(|ws| ws[0] == next);
                obj && !(st.kind == Kind::AlterTable && matches!(next, "COLUMN" | "CONSTRAINT"))
            }
            "SELECT" | "VALUES" | "EXEC" | "EXECUTE" if st.kind == Kind::Insert && st.dml_open => {
                st.dml_open = false;
                false
            }
            "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "EXEC" | "EXECUTE"
                if st.kind == Kind::Grant && st.grant_open =>
            {
                false
            }
            "SET" if st.kind == Kind::Update && st.set_open => {
                st.set_open = false;
                st.set_list = true;
                false
            }
            "SET" | "INSERT" | "UPDATE" | "DELETE" if st.kind == Kind::Merge => false,
            // `ALTER TABLE t SET (...)`, `ALTER DATABASE d SET ...`; but a
            // variable's or a session option's SET on the next line is a
            // statement.
            "SET"
                if matches!(
                    st.kind,
                    Kind::AlterTable | Kind::AlterDatabase | Kind::AlterIndex | Kind::Ddl
                ) && self.kind(i + 1) != Some(TokenKind::Variable)
                    && self.is_ddl_set_clause(st.kind, i) =>
            {
                false
            }
            "ENABLE" | "DISABLE" => next == "TRIGGER" && st.kind != Kind::AlterTable,
            // UPDATE(column) in trigger conditions.
            "UPDATE" if self.is_op(i + 1, "(") => false,
            "GET" | "MOVE" => next == "CONVERSATION",
            "ADD" => matches!(next, "SIGNATURE" | "COUNTER"),
            "SAVE" => matches!(next, "TRAN" | "TRANSACTION"),
            "BULK" => next == "INSERT",
            "TRUNCATE" => next == "TABLE",
            "DUMP" | "LOAD" => matches!(next, "DATABASE" | "TRANSACTION" | "TRAN"),
            "SEND" => next == "ON",
            "MERGE" => next != "JOIN",
            // DROP TABLE IF EXISTS, ALTER TABLE DROP COLUMN IF EXISTS.
            "IF" => {
                !(next == "EXISTS"
                    && i > 0
                    && (self.is_any_word(i - 1, &["COLUMN", "CONSTRAINT"])
                        || keywords::OBJECT_TYPES
                            .iter()
                            .any(|ws| ws.last().is_some_and(|l| self.is_word(i - 1, l)))))
            }
            "END" | "ELSE" => true,
            _ => true,
        }
    }

    /// Whether `on` starts a foreign key's action: `ON DELETE` / `ON UPDATE`
    /// followed by one of [`REFERENTIAL_ACTIONS`].
    fn is_foreign_key_action(&self, on: usize) -> bool {
        self.is_word(on, "ON")
            && self.is_any_word(on + 1, &["DELETE", "UPDATE"])
            && self.is_any_word(on + 2, REFERENTIAL_ACTIONS)
    }

    /// Whether the SET at `i` is the clause of the DDL statement being read
    /// rather than a SET statement after it. A DDL statement's SET either
    /// opens a parenthesis (`ALTER TABLE t SET (...)`, `ALTER INDEX ... SET
    /// (...)`) or follows its header right away: `ALTER DATABASE d SET`,
    /// `ALTER DATABASE CURRENT SET`, `... SCOPED CONFIGURATION [FOR
    /// SECONDARY] SET`, `ALTER SERVER CONFIGURATION SET`, `ALTER EXTERNAL
    /// DATA SOURCE s SET`; or it is a foreign key's action. So `ALTER TABLE
    /// t ADD c int` or `CREATE TABLE ...` followed by `SET NOCOUNT ON` on the
    /// next line is two statements.
    fn is_ddl_set_clause(&self, kind: Kind, i: usize) -> bool {
        // A foreign key's `ON DELETE SET NULL` / `ON UPDATE SET DEFAULT`.
        if self.is_foreign_key_action(i.wrapping_sub(2)) || self.is_op(i + 1, "(") {
            return true;
        }
        !matches!(kind, Kind::AlterTable | Kind::AlterIndex)
            && (self.is_any_word(i.wrapping_sub(2), &["DATABASE", "SOURCE"])
                || self.is_any_word(
                    i.wrapping_sub(1),
                    &["CONFIGURATION", "CURRENT", "SECONDARY"],
                ))
    }

    /// Whether the continuing word at `prev` (`ALL`, `ROW`, `ROWS`) ends
    /// its statement instead, before the statement keyword after it: `ALL`
    /// continues only a set operator (`UNION ALL SELECT`), `ROW`/`ROWS`
    /// only into the paging `FETCH NEXT 5 ROWS ONLY`, not a cursor's `FETCH
    /// NEXT FROM c`. So `ALTER TABLE t NOCHECK CONSTRAINT ALL` or `...
    /// OFFSET 10 ROWS` before a statement on the next line, without a
    /// semicolon, end there.
    fn ends_a_statement(&self, prev: usize) -> bool {
        let next = prev + 1;
        if self.is_word(prev, "ALL") {
            !self.is_any_word(prev.wrapping_sub(1), &["EXCEPT", "INTERSECT", "UNION"])
        } else if self.is_any_word(prev, &["ROW", "ROWS"]) {
            !(self.is_word(next, "FETCH")
                && self.is_any_word(next + 1, &["FIRST", "NEXT"])
                && !self.is_word(next + 2, "FROM"))
        } else {
            false
        }
    }

    /// Scans a statement body from the current position.
    pub(super) fn scan(&mut self, st: &mut Stmt) {
        while let Some(t) = self.tok(self.pos) {
            let depth0 = st.frames.is_empty();
            if depth0 && st.case_depth == 0 && !st.until_close {
                if t.is_op(self.src, ";") {
                    self.pos += 1;
                    break;
                }
                if self.is_boundary(st) {
                    break;
                }
            }
            if st.kind == Kind::Routine && depth0 && self.routine_end(st) {
                break;
            }
            // Item starts in list frames.
            if let Some(f) = st.frames.last_mut()
                && f.item_start
                && !(t.is_op(self.src, ",") || t.is_op(self.src, ")"))
            {
                f.item_start = false;
                let kind = f.kind;
                let commas = f.commas;
                if self.item_start(kind, commas) {
                    continue;
                }
            }
            if depth0 && st.item_at_depth0 && t.kind == TokenKind::Word {
                st.item_at_depth0 = false;
                if self.depth0_item(st) {
                    continue;
                }
            }
            if !t.is_op(self.src, ")")
                && let Some(f) = st.frames.last_mut()
            {
                f.nonempty = true;
            }
            if depth0 && st.kind == Kind::Grant && self.is_any_word(self.pos, &["TO", "FROM"]) {
                st.grant_open = false;
            } else if depth0
                && st.kind == Kind::Grant
                && !st.grant_open
                && self.is_word(self.pos, "AS")
                && self.is_name(self.pos + 1)
                && !self.is_op(self.pos + 2, "(")
            {
                // GRANT ... TO u AS grantor: the principal the grant is made
                // as (not a `WITH c AS (...)` that follows without `;`).
                self.emit(K::Clause, "AS PRINCIPAL", None, self.pos, self.pos);
            }
            let before = self.pos;
            match t.kind {
                TokenKind::Operator => {
                    if self.operator(st) {
                        break;
                    }
                }
                TokenKind::Error => {
                    self.unparsed("UNTERMINATED STRING OR COMMENT", self.pos);
                    self.pos += 1;
                }
                TokenKind::GlobalVariable => {
                    // `DECLARE @@x int`: a local variable named with `@@`.
                    let declared = depth0
                        && st.kind == Kind::Declare
                        && (self.is_word(self.pos.wrapping_sub(1), "DECLARE")
                            || self.is_op(self.pos.wrapping_sub(1), ","));
                    if declared {
                        self.emit(K::Clause, "@@LOCAL VARIABLE", None, self.pos, self.pos);
                    } else {
                        let name = self.text(self.pos).to_uppercase();
                        if name == "@@ERROR" {
                            self.error_number_tests(self.pos, self.pos + 1);
                        }
                        self.emit(K::GlobalVariable, name, None, self.pos, self.pos);
                    }
                    self.pos += 1;
                }
                TokenKind::Money => {
                    self.emit(K::Clause, "MONEY LITERAL", None, self.pos, self.pos);
                    self.pos += 1;
                }
                // A backslash-newline inside a literal continues the line.
                TokenKind::String | TokenKind::NString | TokenKind::Binary
                    if self.text(self.pos).contains("\\\n")
                        || self.text(self.pos).contains("\\\r\n") =>
                {
                    self.emit(K::Clause, "LINE CONTINUATION", None, self.pos, self.pos);
                    self.pos += 1;
                }
                TokenKind::Variable => self.variable(st),
                TokenKind::Word | TokenKind::QuotedIdent | TokenKind::SqlcmdVariable => {
                    self.word(st)
                }
                _ => self.pos += 1,
            }
            if self.pos == before {
                self.pos += 1;
            }
        }
        // Frames left open at the statement end: finish their counts.
        while let Some(f) = st.frames.pop() {
            self.close_frame(f);
        }
        self.unordered_tops(st, 0);
    }

    /// Handles an operator; returns true when the statement ends here.
    fn operator(&mut self, st: &mut Stmt) -> bool {
        let i = self.pos;
        let op = self.text(i);
        self.pos += 1;
        match op {
            "(" => {
                if st.frames.len() >= MAX_PAREN_DEPTH {
                    self.unparsed("NESTING TOO DEEP", i);
                    self.pos = self.toks.len();
                    st.frames.clear();
                    return true;
                }
                if let Some(f) = st.frames.last_mut() {
                    f.nonempty = true;
                }
                let kind = st.pending.take().unwrap_or(FrameKind::Other);
                st.frames.push(Frame {
                    kind,
                    open: i,
                    obs: None,
                    commas: 0,
                    nonempty: false,
                    item_start: matches!(
                        kind,
                        FrameKind::ColumnDefs
                            | FrameKind::Options
                            | FrameKind::QueryHints
                            | FrameKind::TableHints
                            | FrameKind::Convert
                    ),
                });
                false
            }
            ")" => {
                // Queries inside the closing parenthesis are complete.
                self.unordered_tops(st, st.frames.len().max(1));
                match st.frames.pop() {
                    Some(f) => {
                        let rowset = f
                            .obs
                            .and_then(|k| self.obs.get(k))
                            .is_some_and(|o| matches!(o.name.as_str(), "OPENJSON" | "OPENXML"));
                        if rowset {
                            st.rowset_close = Some(i);
                        }
                        self.close_frame(f)
                    }
                    None => self.unparsed("UNBALANCED PARENTHESIS", i),
                }
                st.until_close && st.frames.is_empty()
            }
            "," => {
                if let Some(f) = st.frames.last_mut() {
                    f.commas += 1;
                    f.item_start = true;
                } else if matches!(st.kind, Kind::AlterDatabase) || st.alter_add {
                    st.item_at_depth0 = true;
                }
                false
            }
            "!<" | "!>" => {
                let op = self.text(i).to_owned();
                self.emit(K::Clause, op, None, i, i);
                false
            }
            // `a || b` and `@s ||= b`: SQL Server 2025's string concatenation
            // operator (the lexer reads `|` `|` and `|` `|=`; one `|` is OR).
            "|" if self.is_op(i + 1, "|") || self.is_op(i + 1, "|=") => {
                let op = if self.is_op(i + 1, "|=") { "||=" } else { "||" };
                self.emit(
                    K::Clause,
                    "DOUBLE BAR CONCATENATION",
                    Some(op.into()),
                    i,
                    i + 1,
                );
                self.pos += 1;
                false
            }
            // `a *= b` as a join; `UPDATE t SET a *= 2, b *= 3` assigns.
            "*=" if matches!(
                st.kind,
                Kind::Select | Kind::Update | Kind::Delete | Kind::Insert | Kind::Cond
            ) && !(st.kind == Kind::Update
                && (self.is_word(i.wrapping_sub(2), "SET")
                    || self.is_op(i.wrapping_sub(2), ","))) =>
            {
                self.emit(K::Clause, "OLD STYLE OUTER JOIN", Some("*=".into()), i, i);
                false
            }
            "=" if self.is_op(self.pos, "*")
                && self
                    .tok(self.pos)
                    .is_some_and(|t| t.start == self.tok(i).map_or(0, |p| p.end))
                && self.is_name(self.pos + 1) =>
            {
                self.emit(
                    K::Clause,
                    "OLD STYLE OUTER JOIN",
                    Some("=*".into()),
                    i,
                    self.pos,
                );
                self.pos += 1;
                false
            }
            // `SELECT + 'abc'`: a `+` with no left operand, on a string.
            "+" if self
                .tok(self.pos)
                .is_some_and(|t| matches!(t.kind, TokenKind::String | TokenKind::NString))
                && self.no_left_operand(i) =>
            {
                self.emit(K::Clause, "UNARY PLUS STRING", None, i, self.pos);
                false
            }
            // ODBC escapes: {fn f()}, {d '...'} / {t ...} / {ts ...}, {oj ...},
            // {escape '\\'}.
            "{" => {
                let name = match self.upper(self.pos).as_str() {
                    "FN" => Some("{FN"),
                    "OJ" => Some("{OJ"),
                    "D" => Some("{D"),
                    "T" => Some("{T"),
                    "TS" => Some("{TS"),
                    "ESCAPE" => Some("{ESCAPE"),
                    _ => None,
                };
                if let Some(name) = name {
                    self.emit(K::Clause, name, None, i, self.pos);
                    self.pos += 1;
                }
                false
            }
            "::" => {
                // `FROM ::fn_trace_gettable(...)`: the pre-2005 call syntax
                // of a system table-valued function.
                let old_syntax = i == 0
                    || self.is_op(i - 1, ",")
                    || ["FROM", "JOIN", "APPLY"]
                        .iter()
                        .any(|w| self.is_word(i - 1, w));
                if old_syntax && self.is_name(self.pos) && self.is_op(self.pos + 1, "(") {
                    let name = self.name_text(self.pos);
                    self.emit(K::Clause, "COLON COLON FUNCTION CALL", None, i, self.pos);
                    self.call(st, K::Function, name, self.pos, self.pos);
                } else if self.is_name(self.pos) && self.is_op(self.pos + 1, "(") {
                    // type::Method(...) on spatial / hierarchyid types; on
                    // any other type it is a CLR user-defined type's static
                    // method, and Babelfish has no CLR types.
                    let name = self.name_text(self.pos);
                    let ty = i.saturating_sub(1);
                    let user_type = i > 0
                        && self.is_name(ty)
                        && !SYSTEM_CLR_TYPES.contains(&self.name_text(ty).as_str());
                    // A user type's method is that call, not a method of a
                    // system type that shares its name (`Parse`), nor an
                    // unknown one: one observation, one finding.
                    let (kind, name) = if user_type {
                        (K::Clause, "CLR TYPE STATIC METHOD CALL".to_owned())
                    } else {
                        (K::Method, name)
                    };
                    self.call(st, kind, name, ty, self.pos);
                }
                false
            }
            _ => false,
        }
    }

    /// Whether the OUTPUT at `i` marks an output parameter (`INSERT INTO #t
    /// EXEC p @a OUTPUT, @b`) rather than starting an OUTPUT clause. A
    /// variable before it is not enough: a table variable is a DML target
    /// (`DELETE FROM @queue OUTPUT deleted.id`) and a variable ends a SET
    /// (`UPDATE t SET a = @v OUTPUT inserted.a`). What follows decides: a
    /// clause has an expression list, a parameter marker ends the argument.
    fn is_output_parameter(&self, i: usize) -> bool {
        if self.kind(i.wrapping_sub(1)) != Some(TokenKind::Variable)
            || self.is_word(i.wrapping_sub(2), "INTO")
        {
            return false;
        }
        match self.tok(i + 1) {
            None => true,
            Some(t) => {
                t.is_op(self.src, ",")
                    || t.is_op(self.src, ";")
                    || t.is_op(self.src, ")")
                    || t.kind == TokenKind::Word
                        && (in_sorted(keywords::STATEMENT_STARTS, t.text(self.src))
                            || self.is_word(i + 1, "WITH"))
            }
        }
    }

    /// Whether the operator at `i` starts an operand rather than joining two:
    /// it follows nothing, another operator (not `)`), or a keyword that
    /// introduces an expression.
    fn no_left_operand(&self, i: usize) -> bool {
        const BEFORE_EXPRESSION: &[&str] = &[
            "AND", "BY", "DISTINCT", "ELSE", "NOT", "OR", "PRINT", "RETURN", "SELECT", "THEN",
            "WHEN",
        ];
        let Some(p) = i.checked_sub(1) else {
            return true;
        };
        match self.kind(p) {
            Some(TokenKind::Operator) => !self.is_op(p, ")"),
            Some(TokenKind::Word) => self.is_any_word(p, BEFORE_EXPRESSION),
            _ => false,
        }
    }

    /// Reports `SELECT TOP` without ORDER BY for queries at `depth` or
    /// deeper (their parenthesis closed, or the statement ended).
    fn unordered_tops(&mut self, st: &mut Stmt, depth: usize) {
        while let Some(&(d, tok)) = st.tops.last() {
            if d < depth {
                break;
            }
            st.tops.pop();
            self.emit(K::Clause, "TOP WITHOUT ORDER BY", None, tok, tok);
        }
    }

    fn close_frame(&mut self, f: Frame) {
        if let Some(k) = f.obs {
            let n = if f.nonempty { f.commas + 1 } else { 0 };
            if let Some(o) = self.obs.get_mut(k) {
                o.detail = Some(n.to_string());
            }
        }
    }

    /// Emits a call observation for `name` whose `(` is at `paren - 1 + 1`
    /// (the token after `last`), consumes through the `(` and pushes a
    /// counting frame.
    fn call(&mut self, st: &mut Stmt, kind: K, name: String, first: usize, last: usize) {
        let frame_kind = match name.as_str() {
            "CONVERT" | "TRY_CONVERT" => FrameKind::Convert,
            "CAST" | "TRY_CAST" | "PARSE" | "TRY_PARSE" => FrameKind::Cast,
            _ => FrameKind::Call,
        };
        let property = (kind == K::Function)
            .then(|| keywords::property_argument(&name))
            .flatten()
            .and_then(|index| self.literal_argument(last + 1, index));
        let clause = property.map(|value| (format!("{name} ARGUMENT"), value));
        // `INSERT INTO OPENQUERY(...)`, `UPDATE f(...) SET`: a function as
        // the table a DML statement writes to.
        if kind == K::Function && self.dml_target_position(first) {
            self.emit(
                K::Clause,
                "DML TARGET FUNCTION",
                Some(name.clone()),
                first,
                last,
            );
        }
        let trim_from = kind == K::Function && name == "TRIM" && self.trim_from(last + 1);
        // detail: the SQL Server 2022 LEADING / TRAILING / BOTH keyword, if any.
        let trim_side = (trim_from && self.is_any_word(last + 2, &["LEADING", "TRAILING", "BOTH"]))
            .then(|| self.upper(last + 2).as_str().to_owned());
        self.emit(kind, name, None, first, last);
        let k = self.obs.len() - 1;
        if let Some((clause, value)) = clause {
            self.emit(K::Clause, clause, Some(value), first, last);
        }
        if trim_from {
            self.emit(K::Clause, "TRIM FROM", trim_side, first, last);
        }
        self.pos = last + 1;
        st.pending = Some(frame_kind);
        // Consume the `(` through the operator path so depth limits apply.
        if self.is_op(self.pos, "(")
            && !self.operator(st)
            && let Some(f) = st.frames.last_mut()
        {
            f.obs = Some(k);
        }
    }

    /// Whether the `TRIM(` at `open` uses the SQL-standard form
    /// (`TRIM('x' FROM s)`, `TRIM(LEADING FROM s)`): a `FROM` at its own
    /// depth, or a leading `LEADING` / `TRAILING` / `BOTH`.
    fn trim_from(&self, open: usize) -> bool {
        let Some(close) = self
            .is_op(open, "(")
            .then(|| self.close_paren(open))
            .flatten()
        else {
            return false;
        };
        if self.is_any_word(open + 1, &["LEADING", "TRAILING", "BOTH"]) {
            return true;
        }
        let mut depth = 0usize;
        for j in open + 1..close {
            if self.is_op(j, "(") {
                depth += 1;
            } else if self.is_op(j, ")") {
                depth = depth.saturating_sub(1);
            } else if depth == 0 && self.is_word(j, "FROM") {
                return true;
            }
        }
        false
    }

    /// The upper-case text of the string literal that is argument `index`
    /// of the call whose `(` is at `open`; `None` if it is not one literal.
    fn literal_argument(&self, open: usize, index: usize) -> Option<String> {
        if !self.is_op(open, "(") {
            return None;
        }
        let close = self.close_paren(open)?;
        let (mut n, mut depth, mut start) = (0usize, 0usize, open + 1);
        for j in open + 1..=close {
            if self.is_op(j, "(") {
                depth += 1;
            } else if self.is_op(j, ")") && j < close {
                depth -= 1;
            } else if depth == 0 && (self.is_op(j, ",") || j == close) {
                if n == index {
                    let t = self.tok(start)?;
                    if j != start + 1 || !matches!(t.kind, TokenKind::String | TokenKind::NString) {
                        return None;
                    }
                    let text = self.text(start).trim_start_matches(['N', 'n']);
                    let inner = text.get(1..text.len().saturating_sub(1))?;
                    return Some(inner.replace("''", "'").to_uppercase());
                }
                n += 1;
                start = j + 1;
            }
        }
        None
    }

    /// Start of an item in a list frame; returns true if tokens were consumed.
    fn item_start(&mut self, kind: FrameKind, commas: u32) -> bool {
        let i = self.pos;
        match kind {
            FrameKind::Convert => {
                if commas == 0 && self.is_name(i) {
                    self.data_type();
                    return true;
                }
                if commas == 2 && self.kind(i) == Some(TokenKind::Integer) {
                    let style = self.text(i).to_owned();
                    self.emit(K::Option, "CONVERT STYLE", Some(style), i, i);
                }
                false
            }
            FrameKind::Options => {
                self.option_item(i, K::Option);
                false
            }
            FrameKind::QueryHints => {
                self.option_item(i, K::QueryHint);
                false
            }
            FrameKind::TableHints => {
                if self.kind(i) == Some(TokenKind::Word) {
                    let name = self.name_text(i);
                    self.emit(K::TableHint, name, None, i, i);
                    self.pos += 1;
                    return true;
                }
                false
            }
            FrameKind::ColumnDefs => self.column_item(),
            _ => false,
        }
    }

    /// `NAME [NAME...] [= value]` items of WITH (...) and OPTION (...).
    fn option_item(&mut self, i: usize, kind: K) {
        let mut j = i;
        let mut words = Vec::new();
        while self.kind(j) == Some(TokenKind::Word) && words.len() < 6 {
            words.push(self.name_text(j));
            j += 1;
        }
        if words.is_empty() {
            return;
        }
        let name = words.join(" ");
        let detail = if self.is_op(j, "=") {
            Some(self.value_text(j + 1))
        } else if matches!(
            self.kind(j),
            Some(TokenKind::Integer | TokenKind::String | TokenKind::NString)
        ) {
            Some(self.value_text(j))
        } else {
            None
        };
        let last = if detail.is_some() {
            j + usize::from(self.is_op(j, "="))
        } else {
            j - 1
        };
        self.emit(kind, name, detail, i, last);
    }

    /// `CLUSTERED COLUMNSTORE` for an inline index of that type (`INDEX` at
    /// token `i`, its name next): the index's own words decide, never the
    /// rest of the table (`INDEX ix (c), INDEX cci CLUSTERED COLUMNSTORE`).
    fn inline_index_detail(&self, i: usize) -> Option<String> {
        (self.is_word(i + 2, "CLUSTERED") && self.is_word(i + 3, "COLUMNSTORE"))
            .then(|| "CLUSTERED COLUMNSTORE".to_owned())
    }

    /// A column or constraint in CREATE TABLE / table type / table variable.
    fn column_item(&mut self) -> bool {
        let i = self.pos;
        const CONSTRAINT_WORDS: &[&str] = &[
            "CONSTRAINT",
            "PRIMARY",
            "UNIQUE",
            "CHECK",
            "FOREIGN",
            "INDEX",
            "PERIOD",
        ];
        if self.is_any_word(i, CONSTRAINT_WORDS) {
            if self.is_word(i, "INDEX") {
                self.emit(K::Clause, "INLINE INDEX", self.inline_index_detail(i), i, i);
                if self.is_name(i + 1) {
                    // The index's name, not a function call on `(cols)`.
                    self.pos = i + 2;
                    return true;
                }
            }
            return false;
        }
        if !self.is_name(i) {
            return false;
        }
        self.pos += 1;
        if self.is_word(self.pos, "AS") {
            // Computed column: look ahead (bounded) for PERSISTED.
            // The expression ends at the first top-level `,`, `)` or
            // column attribute.
            const ATTRIBUTES: &[&str] = &[
                "CHECK",
                "CONSTRAINT",
                "FOREIGN",
                "NOT",
                "NULL",
                "PERSISTED",
                "PRIMARY",
                "REFERENCES",
                "UNIQUE",
            ];
            let mut depth = 0usize;
            let mut persisted = false;
            let mut expr_end = None;
            let mut j = self.pos + 1;
            while j < (self.pos + 256).min(self.toks.len()) {
                if self.is_op(j, "(") {
                    depth += 1;
                } else if self.is_op(j, ")") {
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                } else if depth == 0 && (self.is_op(j, ",") || self.is_op(j, ";")) {
                    break;
                } else if depth == 0 && self.is_any_word(j, ATTRIBUTES) {
                    expr_end.get_or_insert(j);
                    persisted |= self.is_word(j, "PERSISTED");
                }
                j += 1;
            }
            let expr_end = expr_end.unwrap_or(j);
            let detail = persisted.then(|| "PERSISTED".to_owned());
            if self.computed_concatenates(self.pos + 1, expr_end) {
                self.emit(
                    K::Clause,
                    "COMPUTED COLUMN STRING CONCAT",
                    detail.clone(),
                    i,
                    self.pos,
                );
            }
            if let Some((at, what)) = self.computed_non_immutable(self.pos + 1, expr_end) {
                self.emit(
                    K::Clause,
                    "COMPUTED COLUMN NON-IMMUTABLE",
                    Some(what),
                    at,
                    at,
                );
            }
            self.emit(K::Clause, "COMPUTED COLUMN", detail, i, self.pos);
            self.pos += 1;
            return true;
        }
        self.data_type();
        true
    }

    /// Items after ALTER DATABASE ... SET and ALTER TABLE ... ADD.
    fn depth0_item(&mut self, st: &mut Stmt) -> bool {
        let i = self.pos;
        if st.kind == Kind::AlterDatabase {
            let name = self.name_text(i);
            let mut j = i + 1;
            let assigned = self.is_op(j, "=");
            if assigned {
                j += 1;
            }
            // `SET MULTI_USER` takes no value: an UPDATE on the next line is
            // a statement, not the option's value.
            let next_statement =
                !assigned && in_sorted(keywords::STATEMENT_STARTS, self.upper(j).as_str());
            let has_value = !next_statement
                && self.tok(j).is_some_and(|t| {
                    matches!(
                        t.kind,
                        TokenKind::Word
                            | TokenKind::Integer
                            | TokenKind::String
                            | TokenKind::NString
                    ) && !self.is_any_word(j, &["WITH"])
                });
            let detail = has_value.then(|| self.value_text(j));
            let last = if has_value { j } else { i };
            self.emit(K::Option, name, detail, i, last);
            self.pos = last + 1;
            // `QUERY_STORE = ON (OPERATION_MODE = READ_WRITE)`: what is in
            // the parentheses belongs to the option just emitted (Compass
            // reports it as one item), so it is read as plain text rather
            // than as options of its own.
            if self.is_op(self.pos, "(") {
                st.pending = Some(FrameKind::Other);
            }
            return true;
        }
        // ALTER TABLE ADD: a column unless it is a constraint / period.
        const NOT_COLUMN: &[&str] = &[
            "CONSTRAINT",
            "PRIMARY",
            "UNIQUE",
            "CHECK",
            "FOREIGN",
            "PERIOD",
            "DEFAULT",
            "INDEX",
        ];
        if self.is_any_word(i, NOT_COLUMN) || !self.is_name(i) {
            return false;
        }
        self.column_item()
    }

    /// Ends a routine header at `AS` (or a body start); true if it ended.
    fn routine_end(&mut self, st: &mut Stmt) -> bool {
        let i = self.pos;
        if self.is_word(i, "AS") && self.kind(i.wrapping_sub(1)) != Some(TokenKind::Variable) {
            self.pos += 1;
            if self.is_word(self.pos, "EXTERNAL") {
                self.emit(K::Clause, "EXTERNAL NAME", None, self.pos, self.pos);
                self.pos += 1;
                return false;
            }
            return true;
        }
        st.routine != "VIEW" && self.is_any_word(i, &["BEGIN", "RETURN"])
    }

    fn variable(&mut self, st: &mut Stmt) {
        let i = self.pos;
        self.pos += 1;
        // @x.method(...)
        if self.is_op(self.pos, ".") && self.is_name(self.pos + 1) && self.is_op(self.pos + 2, "(")
        {
            let name = self.name_text(self.pos + 1);
            self.call(st, K::Method, name, i, self.pos + 1);
            return;
        }
        // @x.property: only a value of a CLR type has properties (spatial
        // STX, Lat, STSrid; a user-defined type's own), read as a method.
        if self.is_op(self.pos, ".") && self.is_name(self.pos + 1) {
            let name = self.name_text(self.pos + 1);
            self.emit(K::Method, name, None, i, self.pos + 1);
            self.pos += 2;
            return;
        }
        // Declarations: `@x [AS] type`.
        let declaring = matches!(st.kind, Kind::Declare | Kind::Routine)
            && st.frames.len() <= 1
            && (self.is_name(self.pos) || self.is_word(self.pos, "AS"));
        if declaring {
            if self.is_word(self.pos, "AS") {
                self.pos += 1;
            }
            if self.is_word(self.pos, "TABLE") {
                self.emit(K::Clause, "TABLE VARIABLE", None, i, self.pos);
                self.pos += 1;
                st.pending = Some(FrameKind::ColumnDefs);
            } else if self.is_name(self.pos) {
                self.data_type();
            }
        }
    }

    /// Parses a data type at the current position and emits it.
    pub(super) fn data_type(&mut self) {
        let i = self.pos;
        if !self.is_name(i) {
            return;
        }
        let n = self.read_name(i);
        let mut last = n.last;
        let mut name = self.name_string(&n);
        // Multi-word types. The ANSI synonyms Babelfish accepts are named by
        // their T-SQL type; those it rejects keep the name they are written
        // with, so the catalog can tell them apart (Compass's type list;
        // Compass reads CHAR VARYING as CHARACTER VARYING, and so every
        // `[N]CHAR[ACTER] VARYING` spelling alike).
        if n.n == 1 {
            for (words, norm) in [
                (&["DOUBLE", "PRECISION"][..], Some("FLOAT")),
                (&["CHAR", "VARYING"][..], None),
                (&["CHARACTER", "VARYING"][..], None),
                (&["NATIONAL", "CHARACTER", "VARYING"][..], None),
                (&["NATIONAL", "CHAR", "VARYING"][..], None),
                (&["NATIONAL", "CHARACTER"][..], None),
                (&["NATIONAL", "CHAR"][..], Some("NCHAR")),
                (&["NATIONAL", "TEXT"][..], Some("NTEXT")),
                (&["NCHARACTER", "VARYING"][..], None),
                (&["NCHAR", "VARYING"][..], None),
                (&["BINARY", "VARYING"][..], Some("VARBINARY")),
            ] {
                if words
                    .iter()
                    .enumerate()
                    .all(|(k, w)| self.is_word(i + k, w))
                {
                    name = norm.map_or_else(|| words.join(" "), str::to_owned);
                    last = i + words.len() - 1;
                    break;
                }
            }
        }
        let mut detail = None;
        let mut end = last;
        if self.is_op(last + 1, "(") {
            // Simple argument lists only: (n), (n, m), (MAX), (CONTENT x.y).
            let mut j = last + 2;
            let mut ok = false;
            while j < last + 12 {
                match self.kind(j) {
                    Some(TokenKind::Operator) if self.is_op(j, ")") => {
                        ok = true;
                        break;
                    }
                    Some(TokenKind::Word) if self.is_word(j, "MAX") => {
                        detail = Some("MAX".to_owned())
                    }
                    Some(TokenKind::Word | TokenKind::QuotedIdent) => {
                        detail = Some("SCHEMA".to_owned());
                    }
                    Some(TokenKind::Integer | TokenKind::Operator) => {}
                    _ => break,
                }
                j += 1;
            }
            if ok {
                end = j;
            } else {
                detail = None;
            }
        }
        self.emit(K::DataType, name, detail, i, end);
        self.pos = end + 1;
    }

    /// Whether the token at `i` starts an item of an UPDATE's SET list: it
    /// follows the SET or a comma.
    fn starts_set_item(&self, i: usize) -> bool {
        i > 0 && (self.is_word(i - 1, "SET") || self.is_op(i - 1, ","))
    }

    /// A word, quoted identifier or sqlcmd variable in a body.
    fn word(&mut self, st: &mut Stmt) {
        let i = self.pos;
        let is_word = self.kind(i) == Some(TokenKind::Word);
        let w = self.upper(i);
        let w = w.as_str();
        let depth0 = st.frames.is_empty();
        let followed_by_paren = self.is_op(i + 1, "(");
        if is_word && self.keyword(st, w, depth0) {
            return;
        }
        if is_word && w == "ERROR_NUMBER" && followed_by_paren && self.is_op(i + 2, ")") {
            self.error_number_tests(i, i + 3);
        }
        if st.set_list && depth0 && self.is_any_word(i, &["FROM", "WHERE", "OUTPUT", "OPTION"]) {
            st.set_list = false;
        }
        // `(expr).Property`: only a value of a CLR type has properties (as
        // `@v.Property` in `variable`). A longer chain is a name, as in
        // `OPENDATASOURCE(...).db.dbo.t`.
        if i > 1
            && self.is_op(i - 1, ".")
            && self.is_op(i - 2, ")")
            && !followed_by_paren
            && !self.is_op(i + 1, ".")
        {
            let name = self.name_text(i);
            self.emit(K::Method, name, None, i, i);
            self.pos += 1;
            return;
        }
        // Dotted names and calls.
        if self.is_op(i + 1, ".") || followed_by_paren {
            let n = self.read_name(i);
            let after = n.last + 1;
            let parts = n.n;
            if self.is_op(after, "(")
                && n.n == 1
                && i > 1
                && self.is_op(i - 1, ".")
                && self.is_op(i - 2, ")")
            {
                // `expr).method(...)`, e.g. EVENTDATA().value(...).
                let name = self.name_text(i);
                self.call(st, K::Method, name, i, i);
                return;
            }
            if self.is_op(after, "(") {
                let last_part = n.last_part().map(|p| self.name_text(p)).unwrap_or_default();
                if parts >= 2 && in_sorted(keywords::METHODS, &last_part) && !self.is_sys_schema(&n)
                {
                    self.call(st, K::Method, last_part, n.first, n.last);
                    return;
                }
                if parts >= 2 && st.set_list && depth0 && self.starts_set_item(i) {
                    // `SET col.Method(args)` with no `=`: a mutator of a CLR
                    // user-defined type (an XML .modify() is a known method,
                    // handled above).
                    self.emit(
                        K::Clause,
                        "UDT MUTATOR CALL",
                        Some(last_part),
                        n.first,
                        n.last,
                    );
                }
                if parts == 1 && is_word && in_sorted(keywords::NOT_FUNCTIONS, w) {
                    self.pos += 1;
                    return;
                }
                let legacy_hint = self.is_any_word(after + 1, keywords::TABLE_HINTS)
                    && (self.is_op(after + 2, ")") || self.is_op(after + 2, ","))
                    && (!self.is_word(after + 1, "INDEX") || self.table_position(st, n.first));
                if legacy_hint {
                    // `FROM t (NOLOCK)`.
                    self.name_refs(&n, st, false);
                    st.pending = Some(FrameKind::TableHints);
                    self.pos = after;
                    return;
                }
                let alias = n.n == 1
                    && n.first > 0
                    && (self.is_op(n.first - 1, ")")
                        // In DDL, `AS f(x)` is a computed column, not an alias.
                        || self.is_word(n.first - 1, "AS") && !st.is_ddl());
                let target_call = self.dml_target_position(n.first) && self.argument_list_at(after);
                if alias || (self.column_list_position(st, n.first) && !target_call) {
                    // A table or view followed by a column list.
                    self.name_refs(&n, st, false);
                    self.pos = after;
                    return;
                }
                self.name_refs(&n, st, true);
                let name = self.name_string(&n);
                self.call(st, K::Function, name, n.first, n.last);
                return;
            }
            self.name_refs(&n, st, false);
            self.pos = after;
            return;
        }
        if is_word && in_sorted(keywords::COMPAT_VIEWS, w) && !self.is_op(i.wrapping_sub(1), ".") {
            self.emit(K::SystemObject, w.to_owned(), None, i, i);
        }
        if is_word && w.starts_with("##") && !self.is_op(i.wrapping_sub(1), ".") {
            self.emit(K::Clause, "GLOBAL TEMPORARY TABLE", None, i, i);
        } else if is_word
            && w.starts_with('#')
            && st.kind == Kind::Select
            && self.is_word(i.wrapping_sub(1), "INTO")
        {
            self.emit(K::Clause, "TEMPORARY TABLE", None, i, i);
        }
        self.pos += 1;
    }

    fn is_sys_schema(&self, n: &super::Name) -> bool {
        n.n >= 2
            && n.part(n.n.min(4) - 2)
                .is_some_and(|p| self.is_word(p, "SYS"))
    }

    /// System objects and cross-database / linked-server references.
    fn name_refs(&mut self, n: &super::Name, st: &Stmt, call: bool) {
        let parts = n.n.min(4);
        // `INSERT INTO ##g (cols)`, `tempdb..##g`, `##g.col`: every path
        // that names a global temporary table, not only a bare word.
        if (0..parts).any(|k| {
            n.part(k)
                .is_some_and(|p| self.unquoted(p).starts_with("##"))
        }) {
            self.emit(K::Clause, "GLOBAL TEMPORARY TABLE", None, n.first, n.last);
        }
        if parts >= 2 {
            // Compare without allocating: this runs for every dotted name.
            let schema = n.part(parts - 2).map_or("", |p| self.unquoted(p));
            let object = n.part(parts - 1).map_or("", |p| self.unquoted(p));
            if keywords::LEGACY_SCHEMAS
                .iter()
                .any(|l| schema.eq_ignore_ascii_case(l))
            {
                self.emit(K::Clause, "DB_OWNER SCHEMA", None, n.first, n.last);
            }
            // `cdc` is the schema change data capture creates and owns (its
            // change tables and query functions); enabling CDC refuses a
            // database where a user already has it.
            if schema.eq_ignore_ascii_case("SYS")
                || schema.eq_ignore_ascii_case("INFORMATION_SCHEMA")
                || schema.eq_ignore_ascii_case("CDC")
            {
                let name = format!("{}.{}", schema.to_uppercase(), object.to_uppercase());
                self.emit(K::SystemObject, name, None, n.first, n.last);
            } else if in_sorted(keywords::COMPAT_VIEWS, object) {
                self.emit(
                    K::SystemObject,
                    object.to_uppercase(),
                    None,
                    n.first,
                    n.last,
                );
            }
        }
        if n.n >= 4 && !call && self.table_position(st, n.first) {
            let target = self
                .dml_target_position(n.first)
                .then(|| "TARGET".to_owned());
            self.emit(
                K::Clause,
                "LINKED SERVER REFERENCE",
                target,
                n.first,
                n.last,
            );
        } else if call || self.table_position(st, n.first) {
            self.database_name_refs(n);
        }
    }

    /// A three-part name (`db.schema.object`): another database, which the
    /// catalog judges per statement (`CREATE/ALTER TABLE` and `SET
    /// IDENTITY_INSERT` read the name in their header and call this too),
    /// and the objects of the databases SQL Server's own services keep
    /// (msdb's Agent, backup and mail tables, the Integration Services
    /// catalog, the replication distributor), which have rules of their own
    /// (`msdb..sysjobs` names the dbo schema). `..t` and tempdb are the
    /// current server's scratch space, not another database.
    pub(super) fn database_name_refs(&mut self, n: &super::Name) {
        if n.n != 3 {
            return;
        }
        let db = n.part(0).map_or("", |p| self.unquoted(p));
        if keywords::SERVICE_DATABASES
            .iter()
            .any(|s| db.eq_ignore_ascii_case(s))
        {
            let schema = n.part(1).map_or("DBO", |p| self.unquoted(p));
            let object = n.part(2).map_or("", |p| self.unquoted(p));
            let name = format!(
                "{}.{}.{}",
                db.to_uppercase(),
                schema.to_uppercase(),
                object.to_uppercase()
            );
            self.emit(K::SystemObject, name, None, n.first, n.last);
        }
        if !db.is_empty() && !db.eq_ignore_ascii_case("TEMPDB") {
            self.emit(K::Clause, "CROSS DATABASE REFERENCE", None, n.first, n.last);
        }
    }

    /// Whether token `i` names the table a DML statement writes to:
    /// `INSERT [INTO] x`, `UPDATE x`, `DELETE [FROM] x`, `MERGE [INTO] x`.
    fn dml_target_position(&self, i: usize) -> bool {
        let Some(mut p) = i.checked_sub(1) else {
            return false;
        };
        let into = self.is_word(p, "INTO");
        let from = self.is_word(p, "FROM");
        if into || from {
            let Some(b) = p.checked_sub(1) else {
                return false;
            };
            p = b;
        }
        // `TOP (n) [PERCENT]` between the verb and the target.
        if self.is_word(p, "PERCENT") && p > 0 {
            p -= 1;
        }
        if self.is_op(p, ")")
            && let Some(open) = self.open_paren(p)
            && open >= 2
            && self.is_word(open - 1, "TOP")
        {
            p = open - 2;
        }
        let verbs: &[&str] = if into {
            &["INSERT", "MERGE"]
        } else if from {
            &["DELETE"]
        } else {
            &["UPDATE", "DELETE", "MERGE", "INSERT"]
        };
        self.is_any_word(p, verbs)
    }

    /// Whether token `i` stands where a table name is expected.
    fn table_position(&self, st: &Stmt, i: usize) -> bool {
        let Some(p) = i.checked_sub(1) else {
            return false;
        };
        if self.is_any_word(
            p,
            &[
                "FROM",
                "JOIN",
                "INTO",
                "UPDATE",
                "TABLE",
                "REFERENCES",
                "MERGE",
                "USING",
                "EXEC",
                "EXECUTE",
                "INSERT",
                "DELETE",
                "APPLY",
                "VIEW",
            ],
        ) {
            return true;
        }
        // `CREATE INDEX i ON t (cols)`, `DROP INDEX i ON t`, `... ON
        // [PRIMARY]`, partition scheme.
        self.is_word(p, "ON") && (st.is_ddl() || self.stmt == "DROP INDEX")
    }

    /// Whether the parentheses at `open`, after a DML target's name, hold
    /// a function's arguments rather than a column list: they hold a
    /// literal or a variable, or a column list follows them (`INSERT INTO
    /// dbo.f(1) (a) VALUES ...`). Bounded by `close_paren`.
    fn argument_list_at(&self, open: usize) -> bool {
        let Some(close) = self.close_paren(open) else {
            return false;
        };
        self.is_op(close + 1, "(")
            || (open + 1..close).any(|j| {
                matches!(
                    self.kind(j),
                    Some(
                        TokenKind::Integer
                            | TokenKind::String
                            | TokenKind::NString
                            | TokenKind::Variable
                    )
                )
            })
    }

    /// Whether a name at `i` followed by `(` is a table with a column list.
    fn column_list_position(&self, st: &Stmt, i: usize) -> bool {
        let Some(p) = i.checked_sub(1) else {
            return false;
        };
        // `INSERT INTO OPENQUERY(srv, 'q')`: a rowset function, not a table
        // with its column list.
        if self.is_any_word(i, &["OPENQUERY", "OPENROWSET", "OPENDATASOURCE"]) {
            return false;
        }
        self.is_any_word(
            p,
            &[
                "INTO",
                "TABLE",
                "REFERENCES",
                "INSERT",
                "VIEW",
                "MERGE",
                "TYPE",
            ],
        ) || self.is_word(p, "ON") && st.is_ddl()
    }

    /// Keyword-driven constructs; returns true if it consumed tokens.
    fn keyword(&mut self, st: &mut Stmt, w: &str, depth0: bool) -> bool {
        let i = self.pos;
        let next = self.upper(i + 1);
        let next = next.as_str();
        let paren = self.is_op(i + 1, "(");
        match w {
            // `b nvarchar(100) INDEX ix_b`: an index declared on one column.
            "INDEX"
                if st
                    .frames
                    .last()
                    .is_some_and(|f| f.kind == FrameKind::ColumnDefs && !f.item_start)
                    && self.is_name(i + 1) =>
            {
                self.emit(K::Clause, "INLINE INDEX", self.inline_index_detail(i), i, i);
                self.pos += 2;
                true
            }
            // Graph tables: `CREATE TABLE t (...) AS NODE` / `AS EDGE`, and
            // an edge table without columns (`CREATE TABLE likes AS EDGE`).
            "AS" if depth0
                && matches!(next, "NODE" | "EDGE")
                && self.stmt == "CREATE TABLE"
                && (self.is_op(i.wrapping_sub(1), ")") || self.is_name(i.wrapping_sub(1))) =>
            {
                self.emit(K::Clause, format!("AS {next}"), None, i, i + 1);
                self.pos += 2;
                true
            }
            // `a IS [NOT] DISTINCT FROM b`: FROM here starts no table source.
            "IS" if next == "DISTINCT" || (next == "NOT" && self.is_word(i + 2, "DISTINCT")) => {
                let not = next == "NOT";
                let from = i + 2 + usize::from(not);
                if !self.is_word(from, "FROM") {
                    return false;
                }
                let name = if not {
                    "IS NOT DISTINCT FROM"
                } else {
                    "IS DISTINCT FROM"
                };
                self.emit(K::Clause, name, None, i, from);
                self.pos = from + 1;
                true
            }
            "CASE" => {
                st.case_depth += 1;
                self.pos += 1;
                true
            }
            "END" => {
                st.case_depth = st.case_depth.saturating_sub(1);
                self.pos += 1;
                true
            }
            "EXEC" | "EXECUTE" => {
                // `EXECUTE AS` after WITH or a comma is an option (a module's,
                // a queue's ACTIVATION list), not the impersonation statement.
                if st.kind == Kind::Grant
                    || self.is_word(i.wrapping_sub(1), "WITH")
                    || (self.is_op(i.wrapping_sub(1), ",") && self.is_word(i + 1, "AS"))
                {
                    return false;
                }
                if st.kind == Kind::Insert {
                    let source = self.insert_exec_source(i + 1);
                    self.emit(K::Clause, "INSERT EXECUTE", Some(source.into()), i, i);
                }
                self.exec();
                true
            }
            "INTO" if depth0 && st.kind == Kind::Select && !st.output_open => {
                self.emit(K::Clause, "SELECT INTO", None, i, i);
                // `SELECT ... INTO t ON [fg] FROM ...` (SQL Server 2017).
                let on = self.read_name(i + 1).last + 1;
                if self.is_name(i + 1) && self.is_word(on, "ON") && self.is_name(on + 1) {
                    self.emit(K::Clause, "SELECT INTO ON FILEGROUP", None, on, on + 1);
                }
                false
            }
            "OFFSET" if self.is_any_word(i + 2, &["ROW", "ROWS"]) || self.is_op(i + 1, "(") => {
                self.emit(K::Clause, "OFFSET FETCH", None, i, i);
                self.pos += 1;
                true
            }
            "WITHIN" if next == "GROUP" => {
                self.emit(K::Clause, "WITHIN GROUP", None, i, i + 1);
                self.pos += 2;
                true
            }
            // `EXEC ('...') AT linked_server`, `EXEC ('...') AS USER = 'u'`:
            // the words after the string's closing parenthesis, never the
            // text of a parameter such as `@ExecuteAsUser`.
            "AT" if matches!(st.kind, Kind::Exec | Kind::Insert)
                && self.is_op(i.wrapping_sub(1), ")")
                && self.is_name(i + 1) =>
            {
                self.emit(K::Clause, "EXECUTE AT", None, i, i + 1);
                self.pos += 2;
                true
            }
            "AS" if matches!(st.kind, Kind::Exec | Kind::Insert)
                && self.is_op(i.wrapping_sub(1), ")")
                && matches!(next, "LOGIN" | "USER") =>
            {
                self.emit(
                    K::Clause,
                    "EXECUTE STRING AS",
                    Some(next.to_owned()),
                    i,
                    i + 1,
                );
                self.pos += 2;
                true
            }
            "AT" if next == "TIME" && self.is_word(i + 2, "ZONE") => {
                self.emit(K::Clause, "AT TIME ZONE", None, i, i + 2);
                self.pos += 3;
                true
            }
            "READONLY" if st.kind == Kind::Routine => {
                self.emit(K::Option, "READONLY", None, i, i);
                self.pos += 1;
                true
            }
            "OVER" if paren => {
                self.emit(K::Clause, "OVER", None, i, i);
                st.pending = Some(FrameKind::Over);
                self.pos += 1;
                true
            }
            // SQL Server 2022's named windows: `OVER win` and the query's
            // `WINDOW win AS (...)` clause.
            "OVER" if self.is_name(i + 1) && self.is_op(i.wrapping_sub(1), ")") => {
                self.emit(K::Clause, "OVER WINDOW NAME", None, i, i + 1);
                self.pos += 2;
                true
            }
            "WINDOW"
                if self.is_name(i + 1) && self.is_word(i + 2, "AS") && self.is_op(i + 3, "(") =>
            {
                self.emit(K::Clause, "WINDOW", None, i, i + 2);
                self.pos += 3;
                true
            }
            // SQL Server 2022's null treatment: `FIRST_VALUE(x) IGNORE NULLS OVER (...)`.
            "IGNORE" | "RESPECT" if next == "NULLS" && self.is_op(i.wrapping_sub(1), ")") => {
                self.emit(K::Clause, "NULL TREATMENT", Some(w.to_owned()), i, i + 1);
                self.pos += 2;
                true
            }
            "ROWS" | "RANGE" if st.frames.last().is_some_and(|f| f.kind == FrameKind::Over) => {
                self.emit(K::Clause, format!("OVER {w}"), None, i, i);
                self.pos += 1;
                true
            }
            "OPTION" if paren => {
                st.pending = Some(FrameKind::QueryHints);
                self.pos += 1;
                true
            }
            "WITH" => self.with_word(st, depth0, paren),
            "TABLE" if paren => {
                st.pending = Some(FrameKind::ColumnDefs);
                self.pos += 1;
                true
            }
            "AS" if st.frames.last().is_some_and(|f| f.kind == FrameKind::Cast) => {
                self.pos += 1;
                self.data_type();
                true
            }
            "FOR" => {
                let clause = match next {
                    "XML" | "JSON" => {
                        let mode = self.upper(i + 2);
                        Some((
                            format!("FOR {next} {}", mode.as_str())
                                .trim_end()
                                .to_owned(),
                            2,
                        ))
                    }
                    "SYSTEM_TIME" => Some(("FOR SYSTEM_TIME".to_owned(), 1)),
                    // A cursor's `FOR UPDATE [OF columns]` after its query.
                    "UPDATE" if st.kind == Kind::DeclareCursor => {
                        Some(("FOR UPDATE".to_owned(), 1))
                    }
                    "BROWSE" => Some(("FOR BROWSE".to_owned(), 1)),
                    "REPLICATION" => Some(("FOR REPLICATION".to_owned(), 1)),
                    _ => None,
                };
                if let Some((name, n)) = clause {
                    let kind = if name == "FOR REPLICATION" {
                        K::Option
                    } else {
                        K::Clause
                    };
                    self.emit(kind, name.clone(), None, i, i + n);
                    if next == "XML"
                        && let Some(at) = self.for_xml_elements(i + 1 + n)
                    {
                        // Reported where the FOR XML clause starts, as Compass
                        // does when the options sit on lines of their own.
                        self.emit(K::Clause, format!("{name} ELEMENTS"), None, i, at);
                    }
                    if name == "FOR XML PATH"
                        && let Some((first, columns)) = self.string_aggregation_idiom(st, i)
                    {
                        let clause = if columns == 1 {
                            "FOR XML PATH STRING AGGREGATION"
                        } else {
                            "FOR XML PATH STRING AGGREGATION MULTIPLE COLUMNS"
                        };
                        self.emit(K::Clause, clause, Some(columns.to_string()), first, i + n);
                    }
                    self.pos += 1 + n;
                    return true;
                }
                if st.ddl_trigger {
                    // DDL trigger events: FOR CREATE_TABLE, ALTER_TABLE ...
                    let mut j = i + 1;
                    while self.kind(j) == Some(TokenKind::Word) && !self.is_word(j, "AS") {
                        let ev = self.name_text(j);
                        self.emit(K::Option, ev, None, j, j);
                        j += 1;
                        if self.is_op(j, ",") {
                            j += 1;
                        }
                    }
                    self.pos = j;
                    return true;
                }
                false
            }
            "OUTPUT"
                if matches!(
                    st.kind,
                    Kind::Insert | Kind::Update | Kind::Delete | Kind::Merge
                ) && !self.is_output_parameter(i) =>
            {
                self.emit(K::Clause, "OUTPUT", None, i, i);
                if st.output_seen {
                    // `OUTPUT ... INTO @t OUTPUT ...`: rows returned and
                    // captured by one statement.
                    self.emit(K::Clause, "OUTPUT OUTPUT", None, i, i);
                }
                st.output_seen = true;
                st.output_open = true;
                self.pos += 1;
                true
            }
            "INTO" if st.output_open && depth0 => {
                self.emit(K::Clause, "OUTPUT INTO", None, i, i);
                st.output_open = false;
                false
            }
            "PIVOT" | "UNPIVOT" if paren => {
                self.emit(K::Clause, w.to_owned(), None, i, i);
                self.pos += 1;
                true
            }
            "CROSS" | "OUTER" if next == "APPLY" => {
                self.emit(K::Clause, format!("{w} APPLY"), None, i, i + 1);
                self.pos += 2;
                true
            }
            // INSERT / UPDATE / DELETE TOP (n): which rows is not determined.
            "TOP" if self.is_any_word(i.wrapping_sub(1), &["INSERT", "UPDATE", "DELETE"]) => {
                let verb = self.upper(i - 1);
                self.emit(K::Clause, format!("{} TOP", verb.as_str()), None, i - 1, i);
                // TOP (SELECT ...): a query where the row count goes. Babelfish's
                // grammar (Compass's) takes TOP ((SELECT ...)) as an expression.
                if self.is_op(i + 1, "(") && self.is_word(i + 2, "SELECT") {
                    let name = format!("{} TOP SUBQUERY", verb.as_str());
                    self.emit(K::Clause, name, None, i - 1, i);
                }
                false
            }
            // INSERT ... OUTPUT ... DEFAULT VALUES.
            "DEFAULT"
                if st.kind == Kind::Insert && st.output_seen && next == "VALUES" && depth0 =>
            {
                self.emit(K::Clause, "OUTPUT DEFAULT VALUES", None, i, i + 1);
                false
            }
            "GROUP" if next == "BY" && self.is_word(i + 2, "ALL") => {
                self.emit(K::Clause, "GROUP BY ALL", None, i, i + 2);
                self.pos += 3;
                true
            }
            "WHERE" if next == "CURRENT" && self.is_word(i + 2, "OF") => {
                self.emit(K::Clause, "WHERE CURRENT OF", None, i, i + 2);
                self.pos += 3;
                true
            }
            // `FROM (VALUES (1), (2)) AS v(a)`, `JOIN (VALUES ...)`.
            "VALUES"
                if self.is_op(i.wrapping_sub(1), "(")
                    && self.is_any_word(i.wrapping_sub(2), &["FROM", "JOIN", "APPLY"]) =>
            {
                self.emit(K::Clause, "VALUES IN FROM", None, i, i);
                self.pos += 1;
                true
            }
            // `FROM (DELETE ... OUTPUT ...) AS d`: composable DML.
            "INSERT" | "UPDATE" | "DELETE" | "MERGE"
                if self.is_op(i.wrapping_sub(1), "(")
                    && self.is_any_word(i.wrapping_sub(2), &["FROM", "JOIN", "APPLY"]) =>
            {
                self.emit(K::Clause, "DML TABLE SOURCE", None, i, i);
                false
            }
            // `LIKE '[A-C]%'`: a character class in a literal pattern.
            "LIKE"
                if matches!(
                    self.kind(i + 1),
                    Some(TokenKind::String | TokenKind::NString)
                ) && self.text(i + 1).contains('[') =>
            {
                self.emit(K::Clause, "LIKE BRACKETS", None, i, i + 1);
                self.pos += 2;
                true
            }
            // `$IDENTITY`, `$ROWGUID`, `IDENTITYCOL`, `ROWGUIDCOL` as a column
            // reference. Named apart from the `ROWGUIDCOL` column property
            // of table DDL, which is a different feature.
            "$IDENTITY" | "$ROWGUID" | "IDENTITYCOL" | "ROWGUIDCOL"
                if matches!(
                    st.kind,
                    Kind::Select | Kind::Insert | Kind::Update | Kind::Delete
                ) =>
            {
                self.emit(K::Clause, "SPECIAL COLUMN", Some(w.to_owned()), i, i);
                self.pos += 1;
                true
            }
            // SQL graph pseudo-columns, wherever they are named (DML, index
            // keys, constraints): only node and edge tables have them.
            "$NODE_ID" | "$EDGE_ID" | "$FROM_ID" | "$TO_ID" => {
                self.emit(K::Clause, "GRAPH PSEUDO COLUMN", Some(w.to_owned()), i, i);
                self.pos += 1;
                true
            }
            "TOP" => {
                if self.is_any_word(i.wrapping_sub(1), &["SELECT", "DISTINCT", "ALL"])
                    && st.tops.len() < 64
                {
                    st.tops.push((st.frames.len(), i));
                }
                // TOP n PERCENT / TOP (n) PERCENT
                let mut j = i + 1;
                if self.is_op(j, "(") {
                    let mut d = 0usize;
                    while j < i + 64 && j < self.toks.len() {
                        if self.is_op(j, "(") {
                            d += 1;
                        } else if self.is_op(j, ")") {
                            d -= 1;
                            if d == 0 {
                                break;
                            }
                        }
                        j += 1;
                    }
                }
                if self.is_word(j + 1, "PERCENT") {
                    // `TOP 100 PERCENT` / `TOP (100) PERCENT`: every row.
                    let hundred = (i + 1..=j)
                        .filter(|&k| !self.is_op(k, "(") && !self.is_op(k, ")"))
                        .map(|k| self.text(k))
                        .eq(["100"]);
                    let subquery = (i + 1..=j).any(|k| self.is_word(k, "SELECT"));
                    let detail = if hundred {
                        Some("100".to_owned())
                    } else {
                        subquery.then(|| "SUBQUERY".to_owned())
                    };
                    self.emit(K::Clause, "TOP PERCENT", detail, i, j + 1);
                }
                false
            }
            "ORDER" if next == "BY" => {
                // Orders the innermost open TOP query at this depth (an
                // OVER (ORDER BY) is in a deeper frame and does not).
                let depth = st.frames.len();
                if st.tops.last().is_some_and(|&(d, _)| d == depth) {
                    st.tops.pop();
                }
                false
            }
            "COMPUTE" if depth0 => {
                self.emit(K::Clause, "COMPUTE", None, i, i);
                self.pos += 1;
                true
            }
            "CURRENT_TIMESTAMP" | "CURRENT_USER" | "SESSION_USER" | "SYSTEM_USER" if !paren => {
                self.emit(K::Function, w.to_owned(), Some("0".into()), i, i);
                self.pos += 1;
                true
            }
            "WHERE" if depth0 && st.kind == Kind::CreateIndex => {
                self.emit(K::Clause, "FILTERED INDEX", None, i, i);
                self.pos += 1;
                true
            }
            "AT" if depth0 && st.kind == Kind::Exec && self.is_op(i.wrapping_sub(1), ")") => {
                self.emit(K::Clause, "EXECUTE AT", None, i, i + 1);
                self.pos += 1;
                true
            }
            "GROUPING" if next == "SETS" => {
                self.emit(K::Clause, "GROUPING SETS", None, i, i + 1);
                self.pos += 2;
                true
            }
            "CUBE" | "ROLLUP" if paren => {
                self.emit(K::Clause, w.to_owned(), None, i, i);
                self.pos += 1;
                true
            }
            "TABLESAMPLE" => {
                self.emit(K::Clause, "TABLESAMPLE", None, i, i);
                self.pos += 1;
                true
            }
            "COLLATE" => {
                let detail = self.is_name(i + 1).then(|| self.name_text(i + 1));
                self.emit(K::Clause, "COLLATE", detail, i, i + 1);
                self.pos += 2;
                true
            }
            "NEXT" if next == "VALUE" && self.is_word(i + 2, "FOR") => {
                // detail: the contexts Babelfish does not accept it in: an IF
                // or WHILE condition, `OVER (...)`, a `db..seq` name.
                let n = self.read_name(i + 3);
                let detail = if st.kind == Kind::Cond {
                    Some("CONDITION")
                } else if self.is_word(n.last + 1, "OVER") {
                    Some("OVER")
                } else if n.n == 3 && n.part(1).is_none() {
                    Some("DOTDOT")
                } else {
                    None
                };
                self.emit(
                    K::Clause,
                    "NEXT VALUE FOR",
                    detail.map(str::to_owned),
                    i,
                    i + 2,
                );
                self.pos += 3;
                true
            }
            "INSTEAD" if next == "OF" => {
                self.emit(K::Clause, "INSTEAD OF", None, i, i + 1);
                self.pos += 2;
                true
            }
            "NOT" if next == "FOR" && self.is_word(i + 2, "REPLICATION") => {
                self.emit(K::Clause, "NOT FOR REPLICATION", None, i, i + 2);
                self.pos += 3;
                true
            }
            "WHEN" if next == "NOT" && self.is_word(i + 2, "MATCHED") => {
                if self.is_word(i + 3, "BY") && self.is_any_word(i + 4, &["SOURCE", "TARGET"]) {
                    let by = self.name_text(i + 4);
                    self.emit(
                        K::Clause,
                        format!("WHEN NOT MATCHED BY {by}"),
                        None,
                        i,
                        i + 4,
                    );
                    self.pos += 5;
                } else {
                    self.emit(K::Clause, "WHEN NOT MATCHED", None, i, i + 2);
                    self.pos += 3;
                }
                true
            }
            "PERIOD" if next == "FOR" => {
                let detail = self
                    .is_any_word(i.wrapping_sub(1), &["ADD", "DROP"])
                    .then(|| self.name_text(i - 1));
                self.emit(K::Clause, "PERIOD FOR SYSTEM_TIME", detail, i, i + 2);
                self.pos += 3;
                true
            }
            "ROWGUIDCOL" | "SPARSE" | "FILESTREAM" | "PERSISTED" | "HIDDEN"
                if !depth0 || st.is_ddl() =>
            {
                self.emit(K::Clause, w.to_owned(), None, i, i);
                self.pos += 1;
                true
            }
            "COLUMN_SET" if next == "FOR" && self.is_word(i + 2, "ALL_SPARSE_COLUMNS") => {
                self.emit(
                    K::Clause,
                    "COLUMN_SET FOR ALL_SPARSE_COLUMNS",
                    None,
                    i,
                    i + 2,
                );
                self.pos += 3;
                true
            }
            "MASKED" if next == "WITH" => {
                self.emit(K::Clause, "MASKED WITH", None, i, i + 1);
                self.pos += 2;
                true
            }
            "GENERATED" if next == "ALWAYS" => {
                self.emit(K::Clause, "GENERATED ALWAYS", None, i, i + 1);
                self.pos += 2;
                true
            }
            "IDENTITY" => {
                self.emit(K::Clause, "IDENTITY", None, i, i);
                let function = paren && st.kind == Kind::Select;
                self.identity_type(i, function);
                if function {
                    self.call(st, K::Function, "IDENTITY".into(), i, i);
                } else {
                    self.pos += 1;
                }
                true
            }
            "LOOP" | "HASH" | "MERGE" | "REMOTE" if next == "JOIN" && depth0 => {
                self.emit(K::JoinHint, w.to_owned(), None, i, i + 1);
                self.pos += 2;
                true
            }
            "CLUSTERED" | "NONCLUSTERED"
                if self.is_any_word(i.wrapping_sub(1), &["KEY", "UNIQUE"])
                    || self.is_word(i.wrapping_sub(2), "INDEX") =>
            {
                self.emit(K::Option, w.to_owned(), None, i, i);
                if next == "COLUMNSTORE" {
                    self.emit(K::Option, "COLUMNSTORE", None, i + 1, i + 1);
                    self.pos += 1;
                } else if next == "HASH" {
                    // Memory-optimized hash index: `PRIMARY KEY NONCLUSTERED HASH`,
                    // reported where the constraint starts (its CONSTRAINT
                    // keyword when named), as Compass does.
                    self.emit(K::Option, "HASH", None, self.constraint_start(i), i + 1);
                    self.pos += 1;
                }
                self.pos += 1;
                true
            }
            // Inline hash index: `INDEX ix HASH (c) WITH (BUCKET_COUNT = n)`.
            "HASH" if st.is_ddl() && self.is_word(i.wrapping_sub(2), "INDEX") => {
                self.emit(K::Option, "HASH", None, i, i);
                self.pos += 1;
                true
            }
            // A descending key in `ALTER TABLE ... PRIMARY KEY (a DESC)`.
            "DESC" if st.kind == Kind::AlterTable => {
                self.emit(K::Clause, "DESC", None, i, i);
                self.pos += 1;
                true
            }
            // `CREATE TABLE t (...) TEXTIMAGE_ON fg FILESTREAM_ON fs`.
            "FILESTREAM_ON" | "TEXTIMAGE_ON" if depth0 && st.is_ddl() => {
                let last = if self.is_name(i + 1) { i + 1 } else { i };
                self.emit(K::Option, w, None, i, last);
                self.pos = last + 1;
                true
            }
            "INCLUDE" if depth0 && st.kind == Kind::CreateIndex && paren => {
                self.emit(K::Clause, "INCLUDE", None, i, i);
                self.pos += 1;
                true
            }
            // Storage after the column list or options: `) ON [PRIMARY]`,
            // `) ON ps_date (d)`; not `ON DELETE` / `ON UPDATE` actions.
            "ON" if depth0
                && self.is_op(i.wrapping_sub(1), ")")
                && !matches!(next, "DELETE" | "UPDATE")
                && (matches!(st.kind, Kind::CreateIndex | Kind::AlterTable)
                    || self.stmt == "CREATE TABLE")
                && self.is_name(i + 1) =>
            {
                if self.is_op(i + 2, "(") {
                    self.emit(K::Clause, "ON PARTITION SCHEME", None, i, i + 1);
                    self.pos += 2;
                } else {
                    self.emit(K::Clause, "ON FILEGROUP", None, i, i + 1);
                    self.pos += 1;
                }
                true
            }
            "CACHE" if depth0 && self.stmt.ends_with(" SEQUENCE") => {
                let no = self.is_word(i.wrapping_sub(1), "NO");
                let first = if no { i - 1 } else { i };
                let name = if no { "NO CACHE" } else { "CACHE" };
                self.emit(K::Option, name, None, first, i);
                self.pos += 1;
                true
            }
            "AUTHORIZATION" if depth0 && st.is_ddl() => {
                self.emit(K::Option, "AUTHORIZATION", None, i, i);
                self.pos += 1;
                true
            }
            "UNIQUE" if matches!(st.kind, Kind::AlterTable | Kind::Ddl) && next != "INDEX" => {
                self.emit(K::Option, "UNIQUE", None, i, i);
                self.pos += 1;
                true
            }
            "PRIMARY" if next == "KEY" && matches!(st.kind, Kind::AlterTable | Kind::Ddl) => {
                self.emit(K::Option, "PRIMARY KEY", None, i, i + 1);
                self.pos += 2;
                true
            }
            "$PARTITION" => {
                self.emit(K::Clause, "$PARTITION", None, i, i);
                self.pos += 1;
                // `$PARTITION.function(value)`: the function is part of it.
                if self.is_op(self.pos, ".") && self.is_name(self.pos + 1) {
                    self.pos += 2;
                }
                true
            }
            "SET" if depth0 && matches!(st.kind, Kind::AlterDatabase) => {
                st.item_at_depth0 = true;
                self.pos += 1;
                true
            }
            "SET" if depth0 && matches!(st.kind, Kind::AlterTable | Kind::AlterIndex) && paren => {
                st.pending = Some(FrameKind::Options);
                self.pos += 1;
                true
            }
            "ADD" if depth0 && st.kind == Kind::AlterTable => {
                st.alter_add = true;
                st.item_at_depth0 = true;
                self.pos += 1;
                true
            }
            // `ALTER TABLE t DROP ck_name`: a constraint named without the
            // CONSTRAINT keyword.
            "DROP"
                if depth0
                    && st.kind == Kind::AlterTable
                    && self.is_name(i + 1)
                    && !self.is_any_word(
                        i + 1,
                        &[
                            "COLUMN",
                            "CONSTRAINT",
                            "INDEX",
                            "PERIOD",
                            "ROWGUIDCOL",
                            "MASKED",
                            "IF",
                        ],
                    )
                    && !self.is_word(i.wrapping_sub(1), "NOT") =>
            {
                self.emit(K::Clause, "DROP CONSTRAINT NAME ONLY", None, i, i + 1);
                self.pos += 2;
                true
            }
            "ALTER" if depth0 && st.kind == Kind::AlterTable && next == "COLUMN" => {
                self.pos += 2;
                if self.is_name(self.pos) {
                    self.pos += 1;
                    if self.is_any_word(self.pos, &["ADD", "DROP"]) {
                        // `ALTER COLUMN c ADD MASKED WITH (...)`, `DROP ROWGUIDCOL`:
                        // the property follows, not a column definition.
                        // `DROP MASKED` takes masking off: the same feature.
                        if self.is_word(self.pos, "DROP") && self.is_word(self.pos + 1, "MASKED") {
                            self.emit(K::Clause, "MASKED", None, self.pos, self.pos + 1);
                            self.pos += 1;
                        }
                        self.pos += 1;
                    } else {
                        self.data_type();
                        let at = self.pos;
                        if self.is_word(at, "NULL") {
                            self.emit(K::Clause, "ALTER COLUMN NULL", None, at, at);
                            self.pos += 1;
                        } else if self.is_word(at, "NOT") && self.is_word(at + 1, "NULL") {
                            self.emit(K::Clause, "ALTER COLUMN NOT NULL", None, at, at + 1);
                            self.pos += 2;
                        }
                    }
                }
                true
            }
            "NOCHECK" | "CHECK"
                if depth0 && st.kind == Kind::AlterTable && next == "CONSTRAINT" =>
            {
                self.emit(K::Clause, format!("{w} CONSTRAINT"), None, i, i + 1);
                self.pos += 2;
                true
            }
            "ENABLE" | "DISABLE" if depth0 && st.kind == Kind::AlterTable && next == "TRIGGER" => {
                self.emit(K::Clause, format!("{w} TRIGGER"), None, i, i + 1);
                self.pos += 2;
                true
            }
            // `ALTER TABLE [s.]t REBUILD`: right after the table's name.
            "REBUILD"
                if depth0
                    && st.kind == Kind::AlterTable
                    && (self.is_word(i.wrapping_sub(2), "TABLE")
                        || self.is_op(i.wrapping_sub(2), ".")) =>
            {
                self.emit(K::Option, "REBUILD", None, i, i);
                self.pos += 1;
                true
            }
            "SWITCH" if depth0 && st.kind == Kind::AlterTable => {
                self.emit(K::Clause, "SWITCH", None, i, i);
                self.pos += 1;
                true
            }
            "REBUILD" | "REORGANIZE" | "DISABLE" | "RESUME" | "PAUSE" | "ABORT"
                if depth0 && st.kind == Kind::AlterIndex =>
            {
                self.emit(K::Option, w.to_owned(), None, i, i);
                self.pos += 1;
                true
            }
            "RETURNS" if st.kind == Kind::Routine => {
                self.pos += 1;
                if self.kind(self.pos) == Some(TokenKind::Variable) {
                    self.emit(
                        K::Clause,
                        "MULTI-STATEMENT TABLE-VALUED FUNCTION",
                        None,
                        i,
                        self.pos,
                    );
                    self.pos += 1;
                    if self.is_word(self.pos, "TABLE") {
                        self.pos += 1;
                        st.pending = Some(FrameKind::ColumnDefs);
                    }
                } else if self.is_word(self.pos, "TABLE") {
                    self.emit(K::Clause, "INLINE TABLE-VALUED FUNCTION", None, i, self.pos);
                    self.pos += 1;
                } else {
                    self.data_type();
                }
                true
            }
            _ => false,
        }
    }

    /// `WITH` inside a statement: hints, options, TIES, CHECK OPTION, ...
    fn with_word(&mut self, st: &mut Stmt, depth0: bool, paren: bool) -> bool {
        let i = self.pos;
        if paren && i > 0 && st.rowset_close == Some(i - 1) {
            self.emit(K::Clause, "WITH SCHEMA", None, i, i);
            st.pending = Some(FrameKind::ColumnDefs);
            self.pos += 1;
            return true;
        }
        if paren {
            let hint = self.is_any_word(i + 2, keywords::TABLE_HINTS)
                && !st.is_ddl()
                && self.stmt != "BULK INSERT";
            st.pending = Some(if hint {
                FrameKind::TableHints
            } else {
                FrameKind::Options
            });
            self.pos += 1;
            return true;
        }
        let next = self.upper(i + 1);
        // `DECLARE c CURSOR FOR WITH XMLNAMESPACES (...) SELECT ...`: the
        // prefix inside a statement (at a statement start, `with_cte` reads
        // it).
        if next.as_str() == "XMLNAMESPACES" && self.is_op(i + 2, "(") {
            self.emit(K::Clause, "WITH XMLNAMESPACES", None, i + 1, i + 1);
            self.pos += 2;
            return true;
        }
        // EXECUTE ... WITH RESULT SETS {NONE | UNDEFINED | ((column defs))}.
        if next.as_str() == "RESULT" && self.is_word(i + 2, "SETS") {
            let detail = if self.is_op(i + 3, "(") {
                "SCHEMA".to_owned()
            } else {
                self.value_text(i + 3)
            };
            let last = if detail == "SCHEMA" { i + 2 } else { i + 3 };
            self.emit(K::Option, "WITH RESULT SETS", Some(detail), i, last);
            self.pos = last + 1;
            return true;
        }
        // ALTER DATABASE ... SET option WITH {ROLLBACK IMMEDIATE | ROLLBACK
        // AFTER n [SECONDS] | NO_WAIT}: how the SET treats open transactions,
        // part of the option it ends rather than an option of its own.
        if st.kind == Kind::AlterDatabase && matches!(next.as_str(), "ROLLBACK" | "NO_WAIT") {
            let mut j = i + 2;
            if next.as_str() == "ROLLBACK" {
                if self.is_word(j, "AFTER") {
                    j += 1;
                    if self.kind(j) == Some(TokenKind::Integer) {
                        j += 1;
                    }
                    if self.is_word(j, "SECONDS") {
                        j += 1;
                    }
                } else if self.is_word(j, "IMMEDIATE") {
                    j += 1;
                }
            }
            self.pos = j;
            return true;
        }
        let name = match next.as_str() {
            "TIES" => Some("WITH TIES"),
            "ROLLUP" => Some("WITH ROLLUP"),
            "CUBE" => Some("WITH CUBE"),
            "CHECK" if self.is_word(i + 2, "OPTION") => Some("WITH CHECK OPTION"),
            "GRANT" if self.is_word(i + 2, "OPTION") => Some("WITH GRANT OPTION"),
            _ => None,
        };
        if let Some(name) = name {
            let n = if name.ends_with(" OPTION") { 2 } else { 1 };
            self.emit(K::Clause, name, None, i, i + n);
            self.pos += 1 + n;
            return true;
        }
        if !depth0 {
            return false;
        }
        if matches!(next.as_str(), "CHECK" | "NOCHECK") {
            let opt = format!("WITH {}", next.as_str());
            self.emit(K::Option, opt, None, i, i + 1);
            self.pos += 2;
            return true;
        }
        // Option words: WITH RECOMPILE, EXECUTE AS OWNER, NOWAIT, LOG,
        // FILLFACTOR = 80, ROLLBACK IMMEDIATE ...
        let mut j = i + 1;
        let mut any = false;
        while self.kind(j) == Some(TokenKind::Word) {
            let item = j;
            let w = self.upper(j);
            if matches!(w.as_str(), "EXECUTE" | "EXEC") && self.is_word(j + 1, "AS") {
                let detail = self.value_text(j + 2);
                self.emit(K::Option, "EXECUTE AS", Some(detail), j, j + 2);
                j += 3;
            } else if w.as_str() == "AS"
                || w.as_str() == "FOR" && !self.is_word(j + 1, "REPLICATION")
            {
                break;
            } else {
                let mut words = vec![self.name_text(j)];
                j += 1;
                while self.kind(j) == Some(TokenKind::Word)
                    && !self.is_any_word(j, &["AS", "FOR", "ON"])
                    && !in_sorted(keywords::STATEMENT_STARTS, self.text(j))
                    && !self.is_op(j + 1, "=")
                    && words.len() < 4
                    && matches!(
                        words[0].as_str(),
                        "ROLLBACK"
                            | "RETURNS"
                            | "CALLED"
                            | "NULL"
                            | "NO_WAIT"
                            | "NOT"
                            | "NO"
                            | "VIEW_METADATA"
                    )
                {
                    words.push(self.name_text(j));
                    j += 1;
                }
                // `CALLED | RETURNS NULL` `ON NULL INPUT`: read the whole
                // option, so that a list going on after it (`, ENCRYPTION`)
                // is read too.
                if matches!(words[0].as_str(), "CALLED" | "RETURNS")
                    && self.is_word(j, "ON")
                    && self.is_word(j + 1, "NULL")
                    && self.is_word(j + 2, "INPUT")
                {
                    words.extend(["ON", "NULL", "INPUT"].map(String::from));
                    j += 3;
                }
                let mut detail = None;
                if self.is_op(j, "=") {
                    detail = Some(self.value_text(j + 1));
                    j += 2;
                }
                let name = words.join(" ");
                self.emit(K::Option, name, detail, item, j - 1);
            }
            any = true;
            // Flags after a value (`PASSWORD = '...' MUST_CHANGE, ...`).
            // `PASSWORD = 0x... HASHED`, `PASSWORD = '...' UNLOCK` end the list.
            while self.kind(j) == Some(TokenKind::Word)
                && (self.is_op(j + 1, ",")
                    || self.is_any_word(j, &["HASHED", "MUST_CHANGE", "UNLOCK"]))
                && !in_sorted(keywords::STATEMENT_STARTS, self.text(j))
            {
                let flag = self.name_text(j);
                self.emit(K::Option, flag, None, j, j);
                j += 1;
            }
            if self.is_op(j, ",") && self.kind(j + 1) == Some(TokenKind::Word) {
                j += 1;
            } else if !(self.is_word(j, "OLD_PASSWORD") && self.is_op(j + 1, "=")) {
                // `PASSWORD = 'new' OLD_PASSWORD = 'old'` has no comma.
                break;
            }
        }
        if any {
            self.pos = j;
        }
        any
    }

    /// `EXEC ...` at the current position (statement start or inside
    /// INSERT ... EXEC).
    pub(super) fn exec(&mut self) {
        let i = self.pos;
        self.pos += 1;
        if self.is_word(self.pos, "AS") {
            // The impersonation statement: EXECUTE AS {LOGIN | USER} = 'name'
            // [WITH {NO REVERT | COOKIE INTO @v}] | EXECUTE AS CALLER.
            let detail = self.value_text(self.pos + 1);
            self.stmt = "EXECUTE AS".into();
            self.emit(K::Statement, "EXECUTE AS", Some(detail), i, self.pos + 1);
            self.pos += 2;
            if self.is_op(self.pos, "=") {
                self.pos += 2;
            }
            if self.is_word(self.pos, "WITH")
                && (self.is_word(self.pos + 1, "NO") || self.is_word(self.pos + 1, "COOKIE"))
            {
                let option = if self.is_word(self.pos + 1, "NO") {
                    "NO REVERT"
                } else {
                    "COOKIE"
                };
                self.emit(K::Option, option, None, self.pos, self.pos + 2);
                self.pos += 3;
                if self.is_word(self.pos - 1, "INTO") {
                    self.pos += 1;
                }
            }
            return;
        }
        if self.is_op(self.pos, "(") {
            self.emit(K::Clause, "EXECUTE STRING", None, i, self.pos);
            // EXEC ('...' [+ '...']...): literals only. A variable anywhere
            // makes the string unknown: no part of it is read alone.
            let mut lits = Vec::new();
            let mut j = self.pos + 1;
            let mut last = None;
            while let Some(lit) = self.tok(j)
                && matches!(lit.kind, TokenKind::String | TokenKind::NString)
            {
                lits.push(lit);
                last = Some(j);
                if !self.is_op(j + 1, "+") {
                    break;
                }
                j += 2;
            }
            if let Some(last) = last
                && self.is_op(last + 1, ")")
            {
                parse_dynamic(self.src, &lits, self.dyn_depth, &mut self.obs);
            }
            return;
        }
        // @ret = proc
        if self.kind(self.pos) == Some(TokenKind::Variable) && self.is_op(self.pos + 1, "=") {
            self.pos += 2;
        }
        self.exec_target();
    }

    /// `@@ERROR = n`, `ERROR_NUMBER() <> n`, `@@ERROR IN (n, m)`: the error
    /// numbers an error test at `at` (the value ends before `after`)
    /// compares with, each as an `ERROR NUMBER TEST` clause whose detail is
    /// the number. Babelfish raises only the error numbers it maps, so a
    /// test of any other number never fires. Numbers above 50000 are
    /// user-defined messages and left out; literals only (`n = @@ERROR` and
    /// variables are not followed).
    fn error_number_tests(&mut self, at: usize, after: usize) {
        const COMPARISONS: &[&str] = &["=", "<>", "!=", "<", ">", "<=", ">="];
        let mut numbers = Vec::new();
        if COMPARISONS.iter().any(|op| self.is_op(after, op)) {
            numbers.push(after + 1);
        } else {
            let open = after + usize::from(self.is_word(after, "NOT")) + 1;
            if self.is_word(open - 1, "IN") && self.is_op(open, "(") {
                let mut j = open + 1;
                while self.kind(j) == Some(TokenKind::Integer) {
                    numbers.push(j);
                    if !self.is_op(j + 1, ",") {
                        break;
                    }
                    j += 2;
                }
            }
        }
        for j in numbers {
            let value = match self.kind(j) {
                Some(TokenKind::Integer) => self.text(j).parse::<u64>().ok(),
                _ => None,
            };
            if let Some(value) = value.filter(|v| *v <= 50_000) {
                self.emit(
                    K::Clause,
                    "ERROR NUMBER TEST",
                    Some(value.to_string()),
                    at,
                    at,
                );
            }
        }
    }

    /// The pre-2017 string-aggregation idiom: `STUFF((SELECT ',' + x ... FOR
    /// XML PATH('')), 1, 1, '')` (or SUBSTRING, or `..., TYPE).value(...)`),
    /// with `FOR` at `for_at`. Babelfish runs FOR XML PATH, but this idiom
    /// does not give SQL Server's result there, which is why Compass flags it
    /// and suggests STRING_AGG. Returns the subquery's `(` and the number of
    /// columns the subquery selects.
    fn string_aggregation_idiom(&self, st: &Stmt, for_at: usize) -> Option<(usize, usize)> {
        // Look-ahead bound: the select list is scanned once per idiom.
        const MAX_SELECT_LIST: usize = 4096;
        let [.., call, subquery] = st.frames.as_slice() else {
            return None;
        };
        let name = call.obs.and_then(|k| self.obs.get(k))?;
        let first_argument = call.commas == 0 && subquery.open == call.open + 1;
        if !matches!(name.name.as_str(), "STUFF" | "SUBSTRING")
            || !first_argument
            || !self.is_word(subquery.open + 1, "SELECT")
        {
            return None;
        }
        // PATH('') or PATH(N''): rows without an element name; or a bare
        // PATH whose typed result is read back with .value(), `FOR XML PATH,
        // TYPE).value('.', ...)`, which Compass reads as PATH('').
        let path = for_at + 3;
        let empty = self.is_op(path, "(")
            && self.is_op(path + 2, ")")
            && matches!(self.text(path + 1), "''" | "N''" | "n''");
        let bare_typed = self.is_op(path, ",")
            && self.is_word(path + 1, "TYPE")
            && self.is_op(path + 2, ")")
            && self.is_op(path + 3, ".")
            && self.is_word(path + 4, "VALUE");
        // `SELECT *` makes elements of every column: not the idiom.
        if !(empty || bare_typed) || self.is_op(subquery.open + 2, "*") {
            return None;
        }
        let (mut columns, mut depth) = (1, 0usize);
        for j in subquery.open + 2..for_at.min(subquery.open + MAX_SELECT_LIST) {
            if self.is_op(j, "(") {
                depth += 1;
            } else if self.is_op(j, ")") {
                depth = depth.saturating_sub(1);
            } else if depth == 0 && self.is_op(j, ",") {
                columns += 1;
            } else if depth == 0 && self.is_word(j, "FROM") {
                break;
            }
        }
        // Reported at the subquery's `(`, as Compass does: the call's name
        // may sit lines above it.
        Some((subquery.open, columns))
    }

    /// The first token of the constraint whose `CLUSTERED`/`NONCLUSTERED`
    /// is at `i`: `[CONSTRAINT name] PRIMARY KEY` or `[CONSTRAINT name]
    /// UNIQUE`; `i` itself when neither precedes it.
    fn constraint_start(&self, i: usize) -> usize {
        let key = if self.is_word(i.wrapping_sub(1), "KEY")
            && self.is_word(i.wrapping_sub(2), "PRIMARY")
        {
            i - 2
        } else if self.is_word(i.wrapping_sub(1), "UNIQUE") {
            i - 1
        } else {
            return i;
        };
        if self.is_word(key.wrapping_sub(2), "CONSTRAINT") {
            key - 2
        } else {
            key
        }
    }

    /// The `ELEMENTS` directive among a FOR XML clause's options, which
    /// follow the mode: `RAW('row'), ELEMENTS XSINIL, ROOT('r'), TYPE`.
    fn for_xml_elements(&self, from: usize) -> Option<usize> {
        const OPTIONS: &[&str] = &[
            "ABSENT",
            "BASE64",
            "BINARY",
            "ROOT",
            "TYPE",
            "XMLDATA",
            "XMLSCHEMA",
            "XSINIL",
        ];
        let mut j = from;
        let end = (from + 64).min(self.toks.len());
        while j < end {
            if self.is_op(j, "(") {
                // The mode's or ROOT's argument: `('row')`.
                j = self.close_paren(j)? + 1;
                continue;
            }
            if self.is_word(j, "ELEMENTS") {
                return Some(j);
            }
            if !(self.is_op(j, ",") || self.is_any_word(j, OPTIONS)) {
                return None;
            }
            j += 1;
        }
        None
    }

    /// The `(` that the `)` at `close` closes, if it is within 4,096 tokens
    /// before it (bounded like `close_paren`).
    fn open_paren(&self, close: usize) -> Option<usize> {
        const MAX_SCAN: usize = 4096;
        let mut depth = 0usize;
        for j in (close.saturating_sub(MAX_SCAN)..=close).rev() {
            if self.is_op(j, ")") {
                depth += 1;
            } else if self.is_op(j, "(") {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
        }
        None
    }

    /// The `)` that closes the `(` at `open`, if there is one within 4,096
    /// tokens: bounded, so that many calls on unbalanced input (a hostile
    /// script of `SERVERPROPERTY(` repeated) stay linear overall.
    pub(super) fn close_paren(&self, open: usize) -> Option<usize> {
        const MAX_SCAN: usize = 4096;
        let mut depth = 0usize;
        for j in open..(open + MAX_SCAN).min(self.toks.len()) {
            if self.is_op(j, "(") {
                depth += 1;
            } else if self.is_op(j, ")") {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
        }
        None
    }

    /// What an `INSERT ... EXEC` runs, from the token after EXEC: `STRING`
    /// (one literal in parentheses), `EXPRESSION` (anything else in
    /// parentheses), `SP_EXECUTESQL`, or `PROCEDURE` (a named procedure or
    /// one named by a variable).
    fn insert_exec_source(&self, j: usize) -> &'static str {
        if self.is_op(j, "(") {
            // `EXECUTE (...) AT server`: the rows come from a linked server,
            // whatever the batch text is.
            if self
                .close_paren(j)
                .is_some_and(|close| self.is_word(close + 1, "AT"))
            {
                return "AT SERVER";
            }
            let literal = self
                .tok(j + 1)
                .is_some_and(|t| matches!(t.kind, TokenKind::String | TokenKind::NString));
            return if literal && self.is_op(j + 2, ")") {
                "STRING"
            } else {
                "EXPRESSION"
            };
        }
        // `@ret = proc`
        let j = if self.kind(j) == Some(TokenKind::Variable) && self.is_op(j + 1, "=") {
            j + 2
        } else {
            j
        };
        if self.is_name(j) {
            let n = self.read_name(j);
            if n.last_part()
                .is_some_and(|p| self.unquoted(p).eq_ignore_ascii_case("SP_EXECUTESQL"))
            {
                return "SP_EXECUTESQL";
            }
        }
        "PROCEDURE"
    }

    /// The procedure name of an EXEC and its special arguments.
    pub(super) fn exec_target(&mut self) {
        let i = self.pos;
        if self.kind(i) == Some(TokenKind::Variable) {
            self.emit(K::Clause, "EXECUTE VARIABLE", None, i, i);
            self.pos += 1;
            return;
        }
        if !self.is_name(i) {
            return;
        }
        let n = self.read_name(i);
        let last = n.last_part().map(|p| self.name_text(p)).unwrap_or_default();
        let system = last.starts_with("SP_") || last.starts_with("XP_");
        let name = if system {
            last.clone()
        } else {
            self.name_string(&n)
        };
        if n.n >= 4 {
            self.emit(K::Clause, "LINKED SERVER REFERENCE", None, n.first, n.last);
        } else if n.n == 3 && !system {
            self.emit(K::Clause, "CROSS DATABASE REFERENCE", None, n.first, n.last);
        }
        let detail = if matches!(
            last.as_str(),
            "SP_ADDEXTENDEDPROPERTY" | "SP_UPDATEEXTENDEDPROPERTY"
        ) {
            self.extended_property_type(n.last + 1, 2)
        } else if last == "SP_DROPEXTENDEDPROPERTY" {
            // No @value argument: the level types come one place earlier.
            self.extended_property_type(n.last + 1, 1)
        } else if last == "SP_RENAME" {
            Some(self.rename_object_type(n.last + 1))
        } else {
            None
        };
        self.emit(K::Procedure, name, detail, n.first, n.last);
        self.pos = n.last + 1;
        // `EXEC p;2`: a numbered procedure (a statement never starts with
        // a number, so the `;` cannot end the statement here).
        if self.is_op(self.pos, ";") && self.kind(self.pos + 1) == Some(TokenKind::Integer) {
            self.emit(
                K::Clause,
                "NUMBERED PROCEDURE CALL",
                None,
                n.first,
                self.pos + 1,
            );
            self.pos += 2;
        }
        // Procedures whose first argument is a T-SQL string.
        if matches!(
            last.as_str(),
            "SP_EXECUTESQL" | "SP_MSFOREACHDB" | "SP_MSFOREACHTABLE"
        ) {
            let mut j = self.pos;
            if self.kind(j) == Some(TokenKind::Variable) && self.is_op(j + 1, "=") {
                j += 2;
            }
            let literal = self
                .tok(j)
                .filter(|t| matches!(t.kind, TokenKind::String | TokenKind::NString));
            if let Some(lit) = literal {
                parse_dynamic(self.src, &[lit], self.dyn_depth, &mut self.obs);
            }
            // A statement held in a variable (a procedure argument is a
            // constant or a variable, never an expression), or none at all,
            // is known only at run time: nothing in it can be assessed,
            // which must not read as "supported" (Compass: review manually).
            if last == "SP_EXECUTESQL" && literal.is_none() {
                self.emit(
                    K::Clause,
                    "SP_EXECUTESQL UNKNOWN STATEMENT",
                    None,
                    n.first,
                    n.last,
                );
            }
        }
    }

    /// The object type an `sp_rename` call names: its third argument, by
    /// position or as `@objtype =` (`INDEX`, `COLUMN` ...), `NONE` when it
    /// is absent or NULL, `VARIABLE` when a variable gives it.
    fn rename_object_type(&self, from: usize) -> String {
        // An argument list is a few tokens; bound the look-ahead.
        const MAX_TOKENS: usize = 32;
        let mut arguments: Vec<(Option<String>, String)> = Vec::new();
        let mut j = from;
        while j < from + MAX_TOKENS {
            let named = (self.kind(j) == Some(TokenKind::Variable) && self.is_op(j + 1, "="))
                .then(|| self.text(j).to_ascii_uppercase());
            if named.is_some() {
                j += 2;
            }
            let value = match self.kind(j) {
                Some(TokenKind::String | TokenKind::NString) => {
                    let text = self.text(j).trim_start_matches(['N', 'n']);
                    text.get(1..text.len().saturating_sub(1))
                        .unwrap_or("")
                        .trim()
                        .to_uppercase()
                }
                Some(TokenKind::Variable) => "VARIABLE".to_owned(),
                Some(TokenKind::Word) if self.is_word(j, "NULL") => String::new(),
                _ => break,
            };
            arguments.push((named, value));
            j += 1;
            if !self.is_op(j, ",") {
                break;
            }
            j += 1;
        }
        let objtype = arguments
            .iter()
            .find(|(name, _)| name.as_deref() == Some("@OBJTYPE"))
            .or_else(|| arguments.get(2).filter(|(name, _)| name.is_none()))
            .map(|(_, value)| value.clone())
            .unwrap_or_default();
        if objtype.is_empty() {
            "NONE".to_owned()
        } else {
            objtype
        }
    }

    /// The deepest `@levelNtype` of an sp_addextendedproperty call (or of
    /// sp_updateextendedproperty's, sp_dropextendedproperty's), whose
    /// positional `@level0type` is argument `first_type` (0-based); a literal
    /// that is no documented level type is `OTHER`.
    fn extended_property_type(&self, from: usize, first_type: usize) -> Option<String> {
        let mut positional = 0usize;
        let mut found: Option<String> = None;
        let mut named: Option<String> = None;
        let mut j = from;
        let end = (from + 64).min(self.toks.len());
        while j < end {
            if self.is_op(j, ";")
                || (self.kind(j) == Some(TokenKind::Word)
                    && in_sorted(keywords::STATEMENT_STARTS, self.text(j)))
            {
                break;
            }
            if self.kind(j) == Some(TokenKind::Variable) && self.is_op(j + 1, "=") {
                named = Some(self.text(j).to_ascii_lowercase());
                j += 2;
                continue;
            }
            if matches!(self.kind(j), Some(TokenKind::String | TokenKind::NString)) {
                let is_type = match &named {
                    Some(p) => p.starts_with("@level") && p.ends_with("type"),
                    None => [0, 2, 4].iter().any(|k| positional == first_type + k),
                };
                if is_type {
                    let t = self.text(j);
                    let t = t.trim_start_matches(['N', 'n']).trim_matches('\'');
                    // Only the documented level types: never echo an
                    // arbitrary literal.
                    found = Some(if keywords::one_of(t, EXTENDED_PROPERTY_LEVELS) {
                        t.to_uppercase()
                    } else {
                        "OTHER".to_owned()
                    });
                }
            }
            if self.is_op(j, ",") {
                positional += 1;
                named = None;
            }
            j += 1;
        }
        found
    }
}
