//! Statement recognition: leading keywords, control-of-flow blocks, object
//! headers (CREATE/ALTER of procedures, views, tables, ...).
//!
//! Guarantees: [`Parser::statement`] always consumes at least one token;
//! block recursion is bounded by `MAX_BLOCK_DEPTH`.

use super::body::{FrameKind, Kind, Stmt};
use super::keywords::{self, OBJECT_TYPES, in_sorted, one_of};
use super::{MAX_BLOCK_DEPTH, MAX_DYNAMIC_BLOCK_DEPTH, Parser};
use crate::findings::{ObjectKind, ObjectRef};
use crate::tsql::ObjectSpan;
use crate::tsql::lexer::TokenKind;
use crate::tsql::observation::ObservationKind as K;

impl Parser<'_> {
    /// Parses one statement (or block) at the current position.
    pub(super) fn statement(&mut self) {
        let before = self.pos;
        while self.is_op(self.pos, ";") {
            self.pos += 1;
        }
        if self.pos >= self.toks.len()
            || (self.pos > before
                && (self.is_block_end(self.pos) || self.is_word(self.pos, "ELSE")))
        {
            // Block ends and ELSE belong to the caller.
            return;
        }
        if self.block_depth >= self.max_block_depth() {
            self.unparsed("NESTING TOO DEEP", self.pos);
            self.pos = self.toks.len();
            return;
        }
        if self.pos > before {
            self.schema_elements = None;
        }
        if let Some(schema) = self.schema_elements {
            self.schema_element(schema);
        }
        self.block_depth += 1;
        self.statement_inner();
        self.block_depth -= 1;
        if self.pos == before {
            // Safety net: whatever happened, make progress.
            self.unparsed("UNEXPECTED TOKEN", self.pos);
            self.pos += 1;
        }
    }

    /// A statement that continues `CREATE SCHEMA s ...` (at token `schema`)
    /// as one of its elements, or the end of the schema definition. The
    /// element is reported where the statement starts, as Compass does.
    fn schema_element(&mut self, schema: usize) {
        let i = self.pos;
        let element = if self.is_word(i, "CREATE") && self.is_any_word(i + 1, &["TABLE", "VIEW"]) {
            Some(format!("CREATE {}", self.upper(i + 1).as_str()))
        } else if self.is_any_word(i, &["GRANT", "REVOKE", "DENY"]) {
            Some(self.upper(i).as_str().to_owned())
        } else {
            None
        };
        match element {
            Some(what) => self.emit(K::Clause, "SCHEMA ELEMENT", Some(what), schema, schema),
            // The body of a CREATE VIEW element.
            None if self.is_any_word(i, &["SELECT", "WITH"])
                && self
                    .obs
                    .iter()
                    .rev()
                    .find(|o| o.kind == K::Clause && o.name == "SCHEMA ELEMENT")
                    .is_some_and(|o| o.detail.as_deref() == Some("CREATE VIEW")) => {}
            None => self.schema_elements = None,
        }
    }

    /// Dynamic SQL parses nest inside the outer parse's stack, so they get
    /// a smaller budget.
    fn max_block_depth(&self) -> usize {
        if self.dyn_depth == 0 {
            MAX_BLOCK_DEPTH
        } else {
            MAX_DYNAMIC_BLOCK_DEPTH
        }
    }

    fn statement_inner(&mut self) {
        let i = self.pos;
        let w = self.upper(i);
        match w.as_str() {
            "BEGIN" => self.begin(),
            "IF" | "WHILE" => {
                self.stmt = w.as_str().to_owned();
                self.emit(K::Statement, w.as_str(), None, i, i);
                self.pos += 1;
                let mut st = Stmt::new(Kind::Cond);
                self.scan(&mut st);
                let start = self.pos;
                if self.pos < self.toks.len() && !self.is_word(self.pos, "ELSE") {
                    self.statement();
                }
                // `IF c BEGIN ... END; ELSE ...`: a terminator may stand
                // between the branch and its ELSE.
                let mut j = self.pos;
                while self.is_op(j, ";") {
                    j += 1;
                }
                if w.as_str() == "IF" && self.is_word(j, "ELSE") && self.pos >= start {
                    self.pos = j + 1;
                    if self.pos < self.toks.len() {
                        self.statement();
                    }
                }
            }
            "ELSE" | "END" if w.as_str() == "ELSE" || self.is_block_end(i) => {
                self.unparsed(
                    if w.as_str() == "END" {
                        "UNEXPECTED END"
                    } else {
                        "UNEXPECTED ELSE"
                    },
                    i,
                );
                self.pos += 1;
            }
            "WITH" => self.with_cte(),
            "" if self.is_op(i, "(") => {
                self.stmt = "SELECT".into();
                let mut st = Stmt::new(Kind::Select);
                self.scan(&mut st);
            }
            _ if self.kind(i) == Some(TokenKind::Error) => {
                self.unparsed("UNTERMINATED STRING OR COMMENT", i);
                self.pos += 1;
            }
            _ if self.is_name(i) && self.is_op(i + 1, ":") && !self.is_op(i + 2, ":") => {
                // Label.
                self.pos += 2;
            }
            _ if in_sorted(keywords::STATEMENT_STARTS, self.text(i)) => self.simple_statement(),
            _ if self.is_name(i) && i == 0 => {
                // A procedure call without EXEC, allowed as a batch's first
                // statement.
                self.stmt = "EXECUTE".into();
                let mut st = Stmt::new(Kind::Exec);
                self.exec_target();
                self.scan(&mut st);
            }
            _ => {
                self.unparsed("UNKNOWN STATEMENT", i);
                self.pos += 1;
                self.resync();
            }
        }
    }

    fn begin(&mut self) {
        let i = self.pos;
        let next = self.upper(i + 1);
        match next.as_str() {
            "TRAN" | "TRANSACTION" => {
                self.simple_named("BEGIN TRANSACTION", 2, Kind::Other);
            }
            "DISTRIBUTED" => {
                self.simple_named("BEGIN DISTRIBUTED TRANSACTION", 3, Kind::Other);
            }
            "DIALOG" if self.is_word(i + 2, "CONVERSATION") => {
                // detail: the optional CONVERSATION keyword, as written.
                self.stmt = "BEGIN DIALOG".into();
                let detail = Some("CONVERSATION".to_owned());
                self.emit(K::Statement, "BEGIN DIALOG", detail, i, i + 2);
                self.pos += 3;
                let mut st = Stmt::new(Kind::Other);
                self.scan(&mut st);
            }
            "DIALOG" | "CONVERSATION" => {
                let name = format!("BEGIN {}", next.as_str());
                self.simple_named(&name, 2, Kind::Other);
            }
            "TRY" | "CATCH" => {
                let name = format!("BEGIN {}", next.as_str());
                self.stmt = name.clone();
                self.emit(K::Statement, name, None, i, i + 1);
                self.pos += 2;
                self.block(Some(next.as_str()));
            }
            "ATOMIC" => {
                self.stmt = "BEGIN ATOMIC".into();
                self.emit(K::Statement, "BEGIN ATOMIC", None, i, i + 1);
                self.pos += 2;
                if self.is_word(self.pos, "WITH") && self.is_op(self.pos + 1, "(") {
                    self.pos += 1;
                    let mut st = Stmt::new(Kind::Other);
                    st.until_close = true;
                    st.pending = Some(FrameKind::Options);
                    self.scan(&mut st);
                }
                self.block(Some("ATOMIC"));
            }
            _ => {
                self.pos += 1;
                self.block(None);
            }
        }
    }

    /// Whether token `i` is the `END` of a block (not `END CONVERSATION`).
    fn is_block_end(&self, i: usize) -> bool {
        self.is_word(i, "END") && !self.is_word(i + 1, "CONVERSATION")
    }

    /// Statements until `END` (and the optional word after it).
    fn block(&mut self, end_word: Option<&str>) {
        loop {
            if self.pos >= self.toks.len() {
                return;
            }
            if self.is_block_end(self.pos) {
                self.pos += 1;
                if let Some(w) = end_word
                    && self.is_word(self.pos, w)
                {
                    self.pos += 1;
                }
                return;
            }
            self.statement();
        }
    }

    /// `WITH [XMLNAMESPACES (...),] cte [(cols)] AS (...) [, ...] <DML>`.
    fn with_cte(&mut self) {
        let with_at = self.pos;
        let first_obs = self.obs.len();
        self.stmt = "SELECT".into();
        self.pos += 1;
        let mut ctes: Vec<&str> = Vec::new();
        loop {
            let i = self.pos;
            if self.is_word(i, "CHANGE_TRACKING_CONTEXT") && self.is_op(i + 1, "(") {
                // `WITH CHANGE_TRACKING_CONTEXT (@ctx) UPDATE ...`: not a CTE
                // but a prefix of the DML statement that follows, where it is
                // reported (as Compass does).
                self.pos += 1;
                let mut st = Stmt::new(Kind::Other);
                st.until_close = true;
                self.scan(&mut st);
                if self.pos < self.toks.len() {
                    self.emit(
                        K::Function,
                        "CHANGE_TRACKING_CONTEXT",
                        None,
                        self.pos,
                        self.pos,
                    );
                    self.statement();
                }
                return;
            } else if self.is_word(i, "XMLNAMESPACES") && self.is_op(i + 1, "(") {
                self.emit(K::Clause, "WITH XMLNAMESPACES", None, i, i);
                self.pos += 1;
                let mut st = Stmt::new(Kind::Select);
                st.until_close = true;
                self.scan(&mut st);
            } else if self.is_name(i) {
                self.emit(K::Clause, "CTE", None, i, i);
                let cte = self.unquoted(i);
                ctes.push(cte);
                self.pos += 1;
                if self.is_op(self.pos, "(") {
                    let mut st = Stmt::new(Kind::Other);
                    st.until_close = true;
                    self.scan(&mut st);
                }
                if self.is_word(self.pos, "AS") {
                    self.pos += 1;
                }
                if !self.is_op(self.pos, "(") {
                    self.unparsed(
                        "CTE WITHOUT BODY",
                        self.pos.min(self.toks.len().saturating_sub(1)),
                    );
                    self.resync();
                    return;
                }
                let body_start = self.pos;
                let mut st = Stmt::new(Kind::Select);
                st.until_close = true;
                self.scan(&mut st);
                // Recursive when the body names the CTE itself.
                let recursive = (body_start..self.pos)
                    .any(|j| self.is_name(j) && self.unquoted(j).eq_ignore_ascii_case(cte));
                if recursive {
                    self.emit(K::Clause, "RECURSIVE CTE", None, i, i);
                }
            } else {
                self.unparsed(
                    "UNEXPECTED TOKEN IN WITH",
                    i.min(self.toks.len().saturating_sub(1)),
                );
                self.resync();
                return;
            }
            if self.is_op(self.pos, ",") {
                self.pos += 1;
                continue;
            }
            break;
        }
        if self.pos < self.toks.len()
            && self.is_any_word(self.pos, &["SELECT", "INSERT", "UPDATE", "DELETE", "MERGE"])
        {
            if let Some(target) = self.dml_target(self.pos)
                && ctes
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(self.unquoted(target)))
            {
                let verb = self.upper(self.pos).as_str().to_owned();
                self.stmt = verb.clone();
                // Reported where the statement starts (its WITH), as
                // Compass does: the statement is what fails.
                self.emit(K::Clause, "DML TARGET CTE", Some(verb), with_at, with_at);
            }
            let head = self.obs.len();
            self.simple_statement();
            self.start_statement_at(first_obs, head, with_at);
        } else if self.pos < self.toks.len() {
            self.unparsed("CTE WITHOUT STATEMENT", self.pos);
            self.resync();
        }
    }

    /// Moves the statement observation pushed at `head` back to `first`,
    /// starting at token `at` (the WITH): the statement begins there, so its
    /// CTEs belong to it and a finding anchored to the statement is reported
    /// on the WITH line, as Compass does. Only the CTEs' observations shift.
    fn start_statement_at(&mut self, first: usize, head: usize, at: usize) {
        let Some(start) = self.tok(at).map(|t| t.start) else {
            return;
        };
        if first > head || self.obs.get(head).is_none_or(|o| o.kind != K::Statement) {
            return;
        }
        let stmt = &mut self.obs[head];
        stmt.len = (stmt.offset + stmt.len).saturating_sub(start);
        stmt.offset = start;
        self.obs[first..=head].rotate_right(1);
    }

    /// The one-part target name of the INSERT, UPDATE, DELETE or MERGE at
    /// `verb`: after `TOP (n) [PERCENT]` and `INTO` / `FROM`.
    fn dml_target(&self, verb: usize) -> Option<usize> {
        if self.is_word(verb, "SELECT") {
            return None;
        }
        let mut j = verb + 1;
        if self.is_word(j, "TOP") && self.is_op(j + 1, "(") {
            j = self.close_paren(j + 1)? + 1;
            if self.is_word(j, "PERCENT") {
                j += 1;
            }
        }
        if self.is_any_word(j, &["INTO", "FROM"]) {
            j += 1;
        }
        (self.is_name(j) && !self.is_op(j + 1, ".")).then_some(j)
    }

    /// Emits the statement observation for `n` head words and scans the body.
    fn simple_named(&mut self, name: &str, n: usize, kind: Kind) {
        let i = self.pos;
        self.stmt = name.to_owned();
        self.emit(K::Statement, name, None, i, i + n - 1);
        self.pos += n;
        let mut st = Stmt::new(kind);
        self.scan(&mut st);
    }

    /// `RAISERROR (n, ...)` with a literal message number below 50000: a
    /// system message, which Babelfish raises only where it maps that error
    /// number. User-defined numbers (50000 and up) need `sp_addmessage`,
    /// which is assessed on its own.
    fn raiserror_message_number(&mut self) {
        let (open, number) = (self.pos + 1, self.pos + 2);
        if self.is_op(open, "(") && (self.is_op(number + 1, ",") || self.is_op(number + 1, ")")) {
            self.system_error_number("RAISERROR MESSAGE NUMBER", number);
        }
    }

    /// `THROW n, ...` with a literal number below 50000: SQL Server rejects
    /// it (THROW takes 50000 and up), so the code never raised the error it
    /// names.
    fn throw_error_number(&mut self) {
        let number = self.pos + 1;
        if self.is_op(number + 1, ",") {
            self.system_error_number("THROW ERROR NUMBER", number);
        }
    }

    /// Emits `clause` from the statement start to `number` when that token is
    /// an integer literal below 50000 (a system error number), with the
    /// number as the observation's detail.
    fn system_error_number(&mut self, clause: &str, number: usize) {
        if self.kind(number) != Some(TokenKind::Integer) {
            return;
        }
        if let Ok(value) = self.text(number).parse::<u64>()
            && value < 50_000
        {
            let i = self.pos;
            self.emit(K::Clause, clause, Some(value.to_string()), i, number);
        }
    }

    /// A statement introduced by a keyword from `STATEMENT_STARTS`.
    fn simple_statement(&mut self) {
        let i = self.pos;
        let w = self.upper(i);
        let w1 = self.upper(i + 1);
        match w.as_str() {
            "CREATE" | "ALTER" | "DROP" => self.ddl(),
            "SELECT" => self.simple_named("SELECT", 1, Kind::Select),
            // INSERT BULK: the client bulk-copy statement (TDS bulk load).
            "INSERT" if w1.as_str() == "BULK" => self.simple_named("INSERT BULK", 2, Kind::Other),
            "INSERT" => self.simple_named("INSERT", 1, Kind::Insert),
            "UPDATE" if w1.as_str() == "STATISTICS" => {
                self.simple_named("UPDATE STATISTICS", 2, Kind::Other)
            }
            "UPDATE" => self.simple_named("UPDATE", 1, Kind::Update),
            "DELETE" => self.simple_named("DELETE", 1, Kind::Delete),
            "MERGE" => self.simple_named("MERGE", 1, Kind::Merge),
            "BULK" => self.simple_named("BULK INSERT", 2, Kind::Other),
            "TRUNCATE" => self.simple_named("TRUNCATE TABLE", 2, Kind::Other),
            // SQL Server 2000's forms of BACKUP and RESTORE (reserved words).
            "DUMP" | "LOAD" if one_of(w1.as_str(), &["DATABASE", "TRANSACTION", "TRAN"]) => {
                let what = if w1.as_str() == "DATABASE" {
                    "DATABASE"
                } else {
                    "TRANSACTION"
                };
                self.simple_named(&format!("{} {what}", w.as_str()), 2, Kind::Other);
            }
            "DECLARE" => {
                let cursor = self.is_name(i + 1)
                    && self.kind(i + 1) != Some(TokenKind::Variable)
                    && !self.is_op(i + 2, "=");
                if cursor {
                    self.declare_cursor();
                } else {
                    self.simple_named("DECLARE", 1, Kind::Declare);
                }
            }
            "SET" => self.set_statement(),
            "EXEC" | "EXECUTE" => {
                self.stmt = "EXECUTE".into();
                self.emit(K::Statement, "EXECUTE", None, i, i);
                let mut st = Stmt::new(Kind::Exec);
                self.exec();
                self.scan(&mut st);
            }
            "COMMIT" | "ROLLBACK" => {
                let n = if one_of(w1.as_str(), &["TRAN", "TRANSACTION", "WORK"]) {
                    2
                } else {
                    1
                };
                self.simple_named(w.as_str(), n, Kind::Other);
            }
            "SAVE" => self.simple_named("SAVE TRANSACTION", 2, Kind::Other),
            "DBCC" => {
                let name = format!("DBCC {}", w1.as_str());
                self.simple_named(&name, 2, Kind::Other);
            }
            "GRANT" | "REVOKE" | "DENY" => {
                let mut st = Stmt::new(Kind::Grant);
                st.grant_open = true;
                self.stmt = w.as_str().to_owned();
                self.emit(K::Statement, w.as_str(), None, i, i);
                self.pos += 1;
                if self.is_word(self.pos, "GRANT") && self.is_word(self.pos + 1, "OPTION") {
                    // REVOKE GRANT OPTION FOR ...
                    self.pos += 3;
                }
                self.permissions();
                self.scan(&mut st);
            }
            "OPEN" | "CLOSE"
                if one_of(w1.as_str(), &["SYMMETRIC", "ASYMMETRIC", "MASTER", "ALL"]) =>
            {
                let name = if w1.as_str() == "ALL" {
                    format!("{} ALL SYMMETRIC KEYS", w.as_str())
                } else {
                    format!("{} {} KEY", w.as_str(), w1.as_str())
                };
                let n = if w1.as_str() == "ALL" { 4 } else { 3 };
                self.simple_named(&name, n, Kind::Other);
            }
            "WAITFOR" => {
                // detail: DELAY or TIME (RECEIVE / GET CONVERSATION in parentheses).
                self.stmt = "WAITFOR".into();
                let detail =
                    one_of(w1.as_str(), &["DELAY", "TIME"]).then(|| w1.as_str().to_owned());
                self.emit(K::Statement, "WAITFOR", detail, i, i);
                self.pos += 1;
                let mut st = Stmt::new(Kind::Other);
                self.scan(&mut st);
            }
            "ENABLE" | "DISABLE" => {
                let name = format!("{} TRIGGER", w.as_str());
                self.simple_named(&name, 2, Kind::Other);
            }
            "GET" | "MOVE" => {
                let name = format!("{} CONVERSATION", w.as_str());
                self.simple_named(&name, 2, Kind::Other);
            }
            "END" => self.simple_named("END CONVERSATION", 2, Kind::Other),
            "ADD" => {
                // ADD SENSITIVITY CLASSIFICATION, ADD COUNTER SIGNATURE.
                let w2 = self.upper(i + 2);
                if one_of(w2.as_str(), &["CLASSIFICATION", "SIGNATURE"]) {
                    let name = format!("ADD {} {}", w1.as_str(), w2.as_str());
                    self.simple_named(&name, 3, Kind::Other);
                } else {
                    let name = format!("ADD {}", w1.as_str());
                    self.simple_named(&name, 2, Kind::Other);
                }
            }
            "BACKUP" | "RESTORE" | "KILL" => {
                // detail: what is backed up, restored or killed (`DATABASE`,
                // `LOG`, `CERTIFICATE`, `SERVICE MASTER KEY`, `STATS JOB` ...),
                // as far as it is one of the fixed forms; none for `KILL 52`.
                let forms: &[&[&str]] = &[
                    &["DATABASE"],
                    &["LOG"],
                    &["CERTIFICATE"],
                    &["MASTER", "KEY"],
                    &["SERVICE", "MASTER", "KEY"],
                    &["SYMMETRIC", "KEY"],
                    &["QUERY", "NOTIFICATION", "SUBSCRIPTION"],
                    &["STATS", "JOB"],
                ];
                let form = forms.iter().find(|f| {
                    f.iter()
                        .enumerate()
                        .all(|(k, word)| self.is_word(i + 1 + k, word))
                });
                let n = 1 + form.map_or(0, |f| f.len());
                let name = w.as_str().to_owned();
                self.stmt = name.clone();
                // `KILL 52` ends a session; `KILL 'guid'` / `KILL UOW` a
                // distributed transaction's unit of work.
                let detail = form.map(|f| f.join(" ")).or_else(|| {
                    (name == "KILL").then(|| {
                        if self.kind(i + 1) == Some(TokenKind::Integer) {
                            "SPID".to_owned()
                        } else {
                            "UOW".to_owned()
                        }
                    })
                });
                self.emit(K::Statement, &name, detail, i, i + n - 1);
                self.pos += n;
                let mut st = Stmt::new(Kind::Other);
                self.scan(&mut st);
            }
            "RAISERROR" => {
                self.stmt = "RAISERROR".to_owned();
                self.emit(K::Statement, "RAISERROR", None, i, i);
                self.raiserror_message_number();
                self.pos += 1;
                self.scan(&mut Stmt::new(Kind::Raiserror));
            }
            "THROW" => {
                self.stmt = "THROW".to_owned();
                self.throw_error_number();
                self.simple_named("THROW", 1, Kind::Other);
            }
            "OPEN" | "CLOSE" | "DEALLOCATE" | "FETCH" => self.cursor_statement(w.as_str()),
            _ => {
                let name = w.as_str().to_owned();
                self.simple_named(&name, 1, Kind::Other);
            }
        }
    }

    /// The permission list of GRANT / REVOKE / DENY: one `Option` named
    /// `PERMISSION` per permission, whose detail is the permission and the
    /// class of securable it is granted on (`SELECT ON OBJECT`, `EXECUTE ON
    /// SCHEMA`, `CONTROL ON DATABASE`, or `VIEW SERVER STATE` without `ON`):
    /// Babelfish supports some permissions on some classes only.
    fn permissions(&mut self) {
        let mut j = self.pos;
        let mut found: Vec<(String, usize, usize)> = Vec::new();
        // The `(` of a column list, after a permission or the object name.
        let mut columns: Option<usize> = None;
        while j < self.toks.len() && j < self.pos + 64 {
            let first = j;
            let mut words = Vec::new();
            while self.kind(j) == Some(TokenKind::Word)
                && !self.is_any_word(j, &["ON", "TO", "FROM"])
                && words.len() < 6
            {
                words.push(self.name_text(j));
                j += 1;
            }
            if words.is_empty() {
                break;
            }
            found.push((words.join(" "), first, j - 1));
            if self.is_op(j, "(") {
                // Column list: GRANT SELECT (a, b) ON t.
                columns.get_or_insert(j);
                while j < self.toks.len() && j < self.pos + 64 && !self.is_op(j, ")") {
                    j += 1;
                }
                j += 1;
            }
            if self.is_op(j, ",") {
                j += 1;
            } else {
                break;
            }
        }
        let class = self.is_word(j, "ON").then(|| self.securable_class(j + 1));
        for (permission, first, last) in found {
            let detail = match &class {
                Some(class) => format!("{permission} ON {class}"),
                None => permission,
            };
            self.emit(K::Option, "PERMISSION", Some(detail), first, last);
        }
        // GRANT SELECT ON t (a, b): the list is no function call.
        let mut end = j;
        // The object's name starts after `ON` or after `ON OBJECT::`.
        let name = (j + 1..j + 3)
            .find(|&k| self.is_op(k, "::"))
            .map_or(j + 1, |k| k + 1);
        if class.as_deref() == Some("OBJECT") && self.is_name(name) {
            let after = self.read_name(name).last + 1;
            if self.is_op(after, "(") {
                columns.get_or_insert(after);
                end = after;
                while end < self.toks.len() && end < after + 64 && !self.is_op(end, ")") {
                    end += 1;
                }
                end += 1;
            }
        }
        if let Some(open) = columns {
            self.emit(K::Clause, "COLUMN PERMISSION", None, open, open);
        }
        self.pos = end.min(self.toks.len());
    }

    /// `CREATE LOGIN l FROM WINDOWS`, `CREATE USER u FOR LOGIN l`, `ALTER
    /// LOGIN l DROP CREDENTIAL c`: the clause after a principal's name, as an
    /// option (`FROM WINDOWS`, `FOR LOGIN`, `DROP CREDENTIAL` ...). Consumed
    /// here so that `DROP` does not start a statement.
    fn principal_clause(&mut self) {
        let j = self.read_name(self.pos).last + 1;
        let (first, second) = (self.upper(j), self.upper(j + 1));
        let n = match (first.as_str(), second.as_str()) {
            ("FROM" | "FOR", "WINDOWS" | "CERTIFICATE" | "LOGIN")
            | ("ADD" | "DROP", "CREDENTIAL")
            | ("WITHOUT", "LOGIN") => 2,
            ("FROM" | "FOR", "ASYMMETRIC" | "EXTERNAL") => 3,
            _ => return,
        };
        let name: Vec<String> = (j..j + n).map(|k| self.name_text(k)).collect();
        self.emit(K::Option, name.join(" "), None, j, j + n - 1);
        self.pos = j + n;
    }

    /// The securable class after `ON`: the words before `::` (`SCHEMA`,
    /// `DATABASE`, `XML SCHEMA COLLECTION` ...), or `OBJECT` for a bare name.
    fn securable_class(&self, at: usize) -> String {
        let mut words = Vec::new();
        let mut j = at;
        while self.kind(j) == Some(TokenKind::Word) && words.len() < 4 {
            words.push(self.name_text(j));
            j += 1;
        }
        if words.is_empty() || !self.is_op(j, "::") {
            return "OBJECT".to_owned();
        }
        words.join(" ")
    }

    /// OPEN, CLOSE, DEALLOCATE or FETCH of a cursor. `GLOBAL` before the
    /// cursor name becomes an `Option` (Babelfish has LOCAL cursors only);
    /// an OPEN of a named cursor that no DECLARE before it in the batch
    /// declares becomes the clause `OPEN UNDECLARED CURSOR` (the cursor was
    /// declared in dynamic SQL or another batch, as Compass reports it).
    fn cursor_statement(&mut self, name: &str) {
        let i = self.pos;
        self.stmt = name.to_owned();
        self.emit(K::Statement, name, None, i, i);
        let mut at = i + 1;
        if name == "FETCH" {
            // `FETCH [NEXT | ABSOLUTE -2 | ...] FROM [GLOBAL] c`: FROM comes
            // within a few tokens when there is an orientation.
            if let Some(from) = (i + 1..i + 5).find(|&j| self.is_word(j, "FROM")) {
                at = from + 1;
            }
        }
        // `FETCH NEXT FROM global INTO ...` fetches from a cursor named GLOBAL.
        if self.is_word(at, "GLOBAL") && self.is_name(at + 1) && !self.is_word(at + 1, "INTO") {
            self.emit(K::Option, "GLOBAL", None, at, at);
            at += 1;
        }
        if name == "OPEN" && self.is_name(at) {
            let cursor = self.name_text(at);
            if !self.cursors.contains(&cursor) {
                self.emit(K::Clause, "OPEN UNDECLARED CURSOR", Some(cursor), i, at);
            }
        }
        self.pos = i + 1;
        let mut st = Stmt::new(Kind::Other);
        self.scan(&mut st);
    }

    fn declare_cursor(&mut self) {
        let i = self.pos;
        let cursor = self.name_text(i + 1);
        if !self.cursors.contains(&cursor) {
            self.cursors.push(cursor);
        }
        self.stmt = "DECLARE CURSOR".into();
        self.emit(K::Statement, "DECLARE CURSOR", None, i, i + 1);
        self.pos += 2;
        self.cursor_options();
    }

    /// The options before a cursor's FOR (ISO and T-SQL forms), each as an
    /// `Option` observation, then the cursor's query.
    fn cursor_options(&mut self) {
        while let Some(t) = self.tok(self.pos) {
            if t.kind != TokenKind::Word || self.is_word(self.pos, "FOR") {
                break;
            }
            if !self.is_word(self.pos, "CURSOR") {
                let name = self.name_text(self.pos);
                self.emit(K::Option, name, None, self.pos, self.pos);
            }
            self.pos += 1;
        }
        let mut st = Stmt::new(Kind::DeclareCursor);
        self.scan(&mut st);
    }

    fn set_statement(&mut self) {
        let i = self.pos;
        self.stmt = "SET".into();
        self.emit(K::Statement, "SET", None, i, i);
        self.pos += 1;
        if self.kind(self.pos) == Some(TokenKind::Variable) {
            // `SET @c = CURSOR [options] FOR ...`: a cursor variable takes
            // DECLARE CURSOR's options.
            if self.is_op(self.pos + 1, "=") && self.is_word(self.pos + 2, "CURSOR") {
                self.pos += 3;
                self.cursor_options();
                return;
            }
            let mut st = Stmt::new(Kind::Set);
            self.scan(&mut st);
            return;
        }
        // SET option[, option...] value   |   SET TRANSACTION ISOLATION LEVEL x
        let first = self.pos;
        let w1 = self.upper(first);
        if self.kind(first) != Some(TokenKind::Word) {
            self.unparsed(
                "SET WITHOUT OPTION",
                first.min(self.toks.len().saturating_sub(1)),
            );
            self.resync();
            return;
        }
        match w1.as_str() {
            // SQL Server takes TRAN for TRANSACTION here too.
            "TRANSACTION" | "TRAN" => {
                let mut j = first + 1;
                while self.is_any_word(j, &["ISOLATION", "LEVEL"]) {
                    j += 1;
                }
                let level_start = j;
                let levels = [
                    "READ",
                    "COMMITTED",
                    "UNCOMMITTED",
                    "REPEATABLE",
                    "SNAPSHOT",
                    "SERIALIZABLE",
                ];
                while self.is_any_word(j, &levels) && j < level_start + 2 {
                    j += 1;
                }
                let detail = (level_start..j)
                    .map(|k| self.name_text(k))
                    .collect::<Vec<_>>()
                    .join(" ");
                self.emit(
                    K::SetOption,
                    "TRANSACTION ISOLATION LEVEL",
                    Some(detail),
                    first,
                    j.saturating_sub(1).max(first),
                );
                self.pos = j;
            }
            "IDENTITY_INSERT" => {
                let mut j = first + 1;
                if self.is_name(j) {
                    let n = self.read_name(j);
                    self.database_name_refs(&n);
                    j = n.last + 1;
                }
                let value = self.value_text(j);
                self.emit(K::SetOption, "IDENTITY_INSERT", Some(value), first, j);
                self.pos = j + 1;
            }
            _ => {
                let mut names: Vec<(String, usize)> = Vec::new();
                let mut j = first;
                while self.kind(j) == Some(TokenKind::Word) && names.len() < 32 {
                    if self.is_word(j, "STATISTICS") && self.kind(j + 1) == Some(TokenKind::Word) {
                        names.push((format!("STATISTICS {}", self.name_text(j + 1)), j));
                        j += 2;
                    } else if self.is_any_word(j, &["IO", "TIME", "PROFILE", "XML"])
                        && names
                            .last()
                            .is_some_and(|(n, _)| n.starts_with("STATISTICS "))
                    {
                        // `SET STATISTICS IO, TIME ON`: the list goes on.
                        names.push((format!("STATISTICS {}", self.name_text(j)), j));
                        j += 1;
                    } else {
                        names.push((self.name_text(j), j));
                        j += 1;
                    }
                    if self.is_op(j, ",") && self.kind(j + 1) == Some(TokenKind::Word) {
                        j += 1;
                    } else {
                        break;
                    }
                }
                let has_value = self.tok(j).is_some_and(|t| {
                    !(t.is_op(self.src, ";")
                        || t.kind == TokenKind::Word
                            && in_sorted(keywords::STATEMENT_STARTS, t.text(self.src)))
                });
                let (value, last) = if has_value {
                    let last = if self.is_op(j, "-") { j + 1 } else { j };
                    (Some(self.value_text(j)), last)
                } else {
                    (None, j.saturating_sub(1))
                };
                for (name, k) in names {
                    self.emit(K::SetOption, name, value.clone(), k, last);
                }
                self.pos = last + 1;
            }
        }
        let mut st = Stmt::new(Kind::Other);
        self.scan(&mut st);
    }

    /// Text of an option value token: words upper-cased, numbers as is,
    /// strings and variables as a placeholder (never customer values).
    pub(super) fn value_text(&self, i: usize) -> String {
        match self.kind(i) {
            Some(TokenKind::Word | TokenKind::QuotedIdent) => self.name_text(i),
            Some(
                TokenKind::Integer | TokenKind::Decimal | TokenKind::Float | TokenKind::Binary,
            ) => self.text(i).to_owned(),
            Some(TokenKind::Operator) if self.is_op(i, "-") => {
                format!("-{}", self.text(i + 1))
            }
            Some(TokenKind::Variable) => "@VARIABLE".into(),
            Some(TokenKind::String | TokenKind::NString) => "STRING".into(),
            _ => self.text(i).to_uppercase(),
        }
    }

    /// CREATE / ALTER / DROP statements.
    /// Whether the table named at `k` is created from a query (Synapse's
    /// `CREATE TABLE t [(cols)] [WITH (...)] AS SELECT ...`).
    fn is_as_select(&self, k: usize) -> bool {
        if !self.is_name(k) {
            return false;
        }
        let mut j = self.read_name(k).last + 1;
        if self.is_op(j, "(") {
            match self.close_paren(j) {
                Some(close) => j = close + 1,
                None => return false,
            }
        }
        if self.is_word(j, "WITH") && self.is_op(j + 1, "(") {
            match self.close_paren(j + 1) {
                Some(close) => j = close + 1,
                None => return false,
            }
        }
        self.is_word(j, "AS") && self.is_word(j + 1, "SELECT")
    }

    fn ddl(&mut self) {
        let i = self.pos;
        let verb = self.upper(i);
        let mut j = i + 1;
        let mut name = verb.as_str().to_owned();
        if verb.as_str() == "CREATE" && self.is_word(j, "OR") && self.is_word(j + 1, "ALTER") {
            name.push_str(" OR ALTER");
            j += 2;
        }
        // Index modifiers (UNIQUE CLUSTERED COLUMNSTORE ...).
        let mods_start = j;
        while self.is_any_word(j, keywords::INDEX_MODIFIERS) && j < mods_start + 4 {
            j += 1;
        }
        let mods_end = j;
        let Some((ty, n)) = self.object_type(j) else {
            self.stmt = name.clone();
            self.emit(K::Statement, name, None, i, j.saturating_sub(1));
            self.unparsed(
                "UNKNOWN OBJECT TYPE",
                j.min(self.toks.len().saturating_sub(1)),
            );
            self.pos = j;
            self.resync();
            return;
        };
        if mods_end > mods_start && !ty.ends_with("INDEX") {
            // e.g. CREATE PRIMARY ...: not an index; treat words as type.
            self.unparsed("UNKNOWN OBJECT TYPE", mods_start);
        }
        name.push(' ');
        name.push_str(&ty);
        self.stmt = name.clone();
        let detail = if name == "CREATE TABLE" && self.is_as_select(j + n) {
            Some("AS SELECT".into())
        } else if ty == "AUTHORIZATION" && self.is_word(j + n, "ON") {
            // ALTER AUTHORIZATION ON class::name: the class decides (only a
            // database's owner can be changed on Babelfish).
            Some(self.securable_class(j + n + 1))
        } else {
            None
        };
        self.emit(K::Statement, name.clone(), detail, i, j + n - 1);
        for m in mods_start..mods_end {
            let opt = self.name_text(m);
            self.emit(K::Option, opt, None, m, m);
        }
        self.pos = j + n;
        let verb = verb.as_str();
        let creating = verb != "DROP";
        if !creating {
            self.drop_multiple(i, &ty);
        }
        let kind = match (ty.as_str(), verb) {
            ("TABLE", "ALTER") => Kind::AlterTable,
            ("DATABASE" | "DATABASE SCOPED CONFIGURATION", "ALTER") => Kind::AlterDatabase,
            ("INDEX", "ALTER") => Kind::AlterIndex,
            (_, "DROP") => Kind::Other,
            ("PROCEDURE" | "FUNCTION" | "TRIGGER" | "VIEW", _) => Kind::Routine,
            (
                "INDEX"
                | "XML INDEX"
                | "SPATIAL INDEX"
                | "FULLTEXT INDEX"
                | "SELECTIVE XML INDEX"
                | "JSON INDEX"
                | "VECTOR INDEX"
                | "STATISTICS",
                _,
            ) => Kind::CreateIndex,
            _ => Kind::Ddl,
        };
        let mut st = Stmt::new(kind);
        if kind == Kind::Routine {
            st.routine = ty.clone();
        }
        // The object's name.
        let object_kind = match ty.as_str() {
            "PROCEDURE" => Some(ObjectKind::Procedure),
            "FUNCTION" => Some(ObjectKind::Function),
            "VIEW" => Some(ObjectKind::View),
            "TRIGGER" => Some(ObjectKind::Trigger),
            "TABLE" => Some(ObjectKind::Table),
            "TYPE" => Some(ObjectKind::Type),
            "SEQUENCE" => Some(ObjectKind::Sequence),
            "SYNONYM" => Some(ObjectKind::Synonym),
            _ => None,
        };
        if ty == "DATABASE" && self.is_word(self.pos, "CURRENT") {
            self.emit(
                K::Clause,
                format!("{} DATABASE CURRENT", verb),
                None,
                self.pos,
                self.pos,
            );
        }
        let mut span_index = None;
        if let (Some(ok), true) = (object_kind, creating && self.is_name(self.pos)) {
            let n = self.read_name(self.pos);
            self.database_name_refs(&n);
            self.pos = n.last + 1;
            let parts: Vec<usize> = (0..n.n.min(4)).filter_map(|k| n.part(k)).collect();
            let obj_name = parts.last().map(|&p| self.name_as_written(p));
            let schema = (parts.len() >= 2).then(|| self.name_as_written(parts[parts.len() - 2]));
            let start = self.tok(i).map_or(0, |t| t.start);
            if let Some(obj_name) = obj_name {
                if obj_name.starts_with("##") {
                    self.emit(K::Clause, "GLOBAL TEMPORARY TABLE", None, n.first, n.last);
                } else if obj_name.starts_with('#') {
                    let what = if kind == Kind::Routine {
                        format!("TEMPORARY {ty}")
                    } else {
                        "TEMPORARY TABLE".to_owned()
                    };
                    self.emit(K::Clause, what, None, n.first, n.last);
                }
                // `CREATE TABLE db_owner.t`: an object in a fixed-role schema.
                if schema.as_deref().is_some_and(|s| {
                    keywords::LEGACY_SCHEMAS
                        .iter()
                        .any(|l| s.eq_ignore_ascii_case(l))
                }) {
                    self.emit(K::Clause, "DB_OWNER SCHEMA", None, n.first, n.last);
                }
                if start >= self.object_end && !obj_name.starts_with('#') {
                    let end = match kind {
                        Kind::Routine => self.batch_end(),
                        _ => start,
                    };
                    self.objects.push(ObjectSpan {
                        object: ObjectRef {
                            schema,
                            name: obj_name,
                            kind: ok,
                        },
                        start,
                        end,
                    });
                    self.object_end = end.max(start + 1);
                    if kind != Kind::Routine {
                        span_index = Some(self.objects.len() - 1);
                    }
                }
            }
            if kind == Kind::Routine
                && self.is_op(self.pos, ";")
                && self.kind(self.pos + 1) == Some(TokenKind::Integer)
            {
                self.emit(
                    K::Clause,
                    "NUMBERED PROCEDURE",
                    None,
                    self.pos,
                    self.pos + 1,
                );
                self.pos += 2;
            }
            if ty == "TABLE" && self.is_op(self.pos, "(") {
                st.pending = Some(FrameKind::ColumnDefs);
            }
            if ty == "TYPE" && self.is_word(self.pos, "FROM") {
                self.pos += 1;
                self.data_type();
            }
            // `CREATE TYPE t EXTERNAL NAME assembly.class`: a CLR type.
            if ty == "TYPE"
                && self.is_word(self.pos, "EXTERNAL")
                && self.is_word(self.pos + 1, "NAME")
            {
                self.emit(K::Clause, "EXTERNAL NAME", None, self.pos, self.pos + 1);
                self.pos += 2;
            }
            if ty == "TRIGGER" {
                self.trigger_head(&mut st);
            }
        }
        if matches!(ty.as_str(), "LOGIN" | "USER") && creating && self.is_name(self.pos) {
            self.principal_clause();
        }
        self.scan(&mut st);
        if ty == "SCHEMA" && verb == "CREATE" {
            // The scan may have consumed the `;` that ends the statement.
            self.schema_elements = (!self.is_op(self.pos.wrapping_sub(1), ";")).then_some(i);
        }
        if let Some(k) = span_index {
            let end = self.tok(self.pos.saturating_sub(1)).map_or(0, |t| t.end);
            if let Some(span) = self.objects.get_mut(k) {
                span.end = end.max(span.start);
                self.object_end = span.end.max(span.start + 1);
            }
        }
    }

    /// `DROP type [IF EXISTS] a [ON t], b ...`: several objects in one
    /// statement (detail: the object type).
    fn drop_multiple(&mut self, at: usize, ty: &str) {
        let mut k = self.pos;
        if self.is_word(k, "IF") && self.is_word(k + 1, "EXISTS") {
            k += 2;
        }
        if !self.is_name(k) {
            return;
        }
        k = self.read_name(k).last + 1;
        if self.is_word(k, "ON") && self.is_name(k + 1) {
            k = self.read_name(k + 1).last + 1;
        }
        if self.is_op(k, ",") {
            self.emit(K::Clause, "DROP MULTIPLE", Some(ty.to_owned()), at, k);
        }
    }

    /// Longest object type starting at token `j`: (normalised name, words).
    fn object_type(&self, j: usize) -> Option<(String, usize)> {
        let mut best: Option<&[&str]> = None;
        for words in OBJECT_TYPES {
            let matches = words
                .iter()
                .enumerate()
                .all(|(k, w)| self.is_word(j + k, w));
            if matches && best.is_none_or(|b| b.len() < words.len()) {
                best = Some(words);
            }
        }
        let words = best?;
        let name = match words {
            ["PROC"] => "PROCEDURE".to_owned(),
            ["DIAGNOSTICS", "SESSION"] => "DIAGNOSTIC SESSION".to_owned(),
            _ => words.join(" "),
        };
        Some((name, words.len()))
    }

    /// `ON table|DATABASE|ALL SERVER` and the event list of a trigger.
    fn trigger_head(&mut self, st: &mut Stmt) {
        if !self.is_word(self.pos, "ON") {
            return;
        }
        let on = self.pos;
        self.pos += 1;
        if self.is_word(self.pos, "DATABASE") {
            self.emit(
                K::Clause,
                "DDL TRIGGER",
                Some("DATABASE".into()),
                on,
                self.pos,
            );
            self.pos += 1;
            st.ddl_trigger = true;
        } else if self.is_word(self.pos, "ALL") && self.is_word(self.pos + 1, "SERVER") {
            self.emit(
                K::Clause,
                "DDL TRIGGER",
                Some("ALL SERVER".into()),
                on,
                self.pos + 1,
            );
            self.pos += 2;
            st.ddl_trigger = true;
        } else if self.is_name(self.pos) {
            let n = self.read_name(self.pos);
            self.pos = n.last + 1;
        }
    }
}
