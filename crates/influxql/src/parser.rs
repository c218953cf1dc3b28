//! A recursive-descent parser of InfluxQL, written from the grammar InfluxDB publishes
//! (influxql's README: EBNF and prose). Errors read as InfluxDB's do — `found X, expected Y
//! at line L, char C` — because clients and the conformance suite compare them as text.
//!
//! Bound parameters (`$name`, the `params` of `/query`) are substituted while parsing: a
//! string is a string literal in an expression and an identifier where a name is expected.

use std::collections::HashMap;
use std::fmt;

use crate::ast::*;
use crate::lexer::{self, Token};

/// A query the parser refused, with the byte offset of the token it stopped at.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at line {}, char {}", self.message, self.line, self.column)
    }
}

impl std::error::Error for ParseError {}

/// Bound parameters by name.
pub type Params = HashMap<String, serde_json::Value>;

/// Parses every statement of `text` (separated by `;`).
pub fn parse_query(text: &str, params: &Params) -> std::result::Result<Vec<Statement>, ParseError> {
    let mut parser = Parser { text, pos: 0, params, nesting: 0, into_required: false };
    let mut statements = Vec::new();
    loop {
        while parser.eat_op(";") {}
        if parser.peek() == Token::Eof {
            break;
        }
        statements.push(parser.statement()?);
        if parser.peek() != Token::Eof && !parser.eat_op(";") {
            return Err(parser.unexpected(";"));
        }
    }
    if statements.is_empty() {
        return Err(parser.unexpected(STATEMENT_STARTS));
    }
    Ok(statements)
}

/// The depth of `e`'s tree, counted no further than `cap` (so the count itself recurses at
/// most `cap` deep).
fn expr_depth(e: &Expr, cap: usize) -> usize {
    if cap == 0 {
        return 0;
    }
    let below = |x: &Expr| expr_depth(x, cap - 1);
    1 + match e {
        Expr::Binary { lhs, rhs, .. } => below(lhs).max(below(rhs)),
        Expr::Paren(inner) => below(inner),
        Expr::Call { args, .. } => args.iter().map(below).max().unwrap_or(0),
        _ => 0,
    }
}

/// What a statement may begin with, as InfluxDB lists it.
const STATEMENT_STARTS: &str = "SELECT, DELETE, SHOW, CREATE, DROP, EXPLAIN, GRANT, REVOKE, ALTER, SET, KILL";

/// How deep the parser follows parentheses, calls, signs and subqueries.
const MAX_NESTING: usize = 64;

/// The deepest expression tree accepted: evaluating and dropping one recurse over it, so a
/// hostile `a + a + … + a` must not build one deeper than a thread's stack can follow.
const MAX_EXPR_DEPTH: usize = 256;

struct Parser<'t> {
    text: &'t str,
    pos: usize,
    params: &'t Params,
    /// The current nesting (see [`MAX_NESTING`]).
    nesting: usize,
    /// The next SELECT must have INTO (a continuous query's).
    into_required: bool,
}

type Result<T> = std::result::Result<T, ParseError>;

impl Parser<'_> {
    // ---- tokens ----

    fn peek(&self) -> Token {
        self.bind(lexer::scan(self.text, self.pos).0)
    }

    fn next(&mut self) -> Token {
        let (token, _, end) = lexer::scan(self.text, self.pos);
        self.pos = end;
        self.bind(token)
    }

    /// A bound parameter becomes the literal it names (an unknown one stays and fails later).
    fn bind(&self, token: Token) -> Token {
        let Token::BoundParam(name) = &token else { return token };
        match self.params.get(name) {
            Some(serde_json::Value::String(s)) => Token::Str(s.clone()),
            Some(serde_json::Value::Number(n)) => match n.as_i64() {
                Some(i) => Token::Integer(i.to_string()),
                None => Token::Number(n.as_f64().unwrap_or(f64::NAN), n.to_string()),
            },
            Some(serde_json::Value::Bool(b)) => Token::Ident(b.to_string()),
            _ => token,
        }
    }

    fn error_here(&self, message: String) -> ParseError {
        let (token, start, _) = lexer::scan(self.text, self.pos);
        let (line, mut column) = lexer::line_and_char(self.text, start);
        if token == Token::Eof {
            // InfluxDB's scanner stands one past the end when it reports EOF.
            column += 1;
        }
        ParseError { message, line, column }
    }

    fn unexpected(&self, expected: &str) -> ParseError {
        self.error_here(format!("found {}, expected {expected}", self.peek().describe()))
    }

    fn eat_op(&mut self, op: &str) -> bool {
        if self.peek() == Token::Op(leak(op)) {
            self.next();
            true
        } else {
            false
        }
    }

    fn expect_op(&mut self, op: &'static str) -> Result<()> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(self.unexpected(op))
        }
    }

    fn eat_keyword(&mut self, word: &str) -> bool {
        if self.peek().is_keyword(word) {
            self.next();
            true
        } else {
            false
        }
    }

    fn expect_keyword(&mut self, word: &str) -> Result<()> {
        if self.eat_keyword(word) {
            Ok(())
        } else {
            Err(self.unexpected(word))
        }
    }

    /// An identifier: quoted, unquoted and not a keyword, or a bound string.
    fn ident(&mut self) -> Result<String> {
        match self.peek() {
            Token::QuotedIdent(s) | Token::Str(s) if self.is_bound_or_quoted() => {
                self.next();
                Ok(s)
            }
            Token::Ident(s) if !lexer::is_keyword(&s) => {
                self.next();
                Ok(s)
            }
            _ => Err(self.unexpected("identifier")),
        }
    }

    /// Whether the token at the position is a quoted identifier or a bound parameter (a
    /// bound string may name things; a written string may not).
    fn is_bound_or_quoted(&self) -> bool {
        matches!(lexer::scan(self.text, self.pos).0, Token::QuotedIdent(_) | Token::BoundParam(_))
    }

    fn integer(&mut self) -> Result<i64> {
        match self.peek() {
            Token::Integer(s) => {
                self.next();
                s.parse().map_err(|_| self.error_here(format!("unable to parse integer {s}")))
            }
            _ => Err(self.unexpected("integer")),
        }
    }

    fn duration(&mut self) -> Result<i64> {
        match self.peek() {
            Token::Duration(ns, _) => {
                self.next();
                Ok(ns)
            }
            _ => Err(self.unexpected("duration")),
        }
    }

    fn string(&mut self) -> Result<String> {
        match self.peek() {
            Token::Str(s) => {
                self.next();
                Ok(s)
            }
            _ => Err(self.unexpected("string")),
        }
    }

    fn regex(&mut self) -> Option<String> {
        let (token, _, end) = lexer::scan_regex(self.text, self.pos)?;
        self.pos = end;
        match token {
            Token::Regex(r) => Some(r),
            _ => None,
        }
    }

    // ---- statements ----

    fn statement(&mut self) -> Result<Statement> {
        let token = self.peek();
        let word = match &token {
            Token::Ident(w) => w.to_ascii_uppercase(),
            _ => return Err(self.unexpected(STATEMENT_STARTS)),
        };
        match word.as_str() {
            "SELECT" => Ok(Statement::Select(Box::new(self.select()?))),
            "SHOW" => self.show(),
            "CREATE" => self.create(),
            "DROP" => self.drop(),
            "DELETE" => self.delete(),
            "GRANT" | "REVOKE" => self.grant_or_revoke(),
            "SET" => self.set_password(),
            _ => Err(self.unexpected(STATEMENT_STARTS)),
        }
    }

    fn select(&mut self) -> Result<Select> {
        self.nested(Self::select_body)
    }

    fn select_body(&mut self) -> Result<Select> {
        self.expect_keyword("SELECT")?;
        let into_required = std::mem::take(&mut self.into_required);
        let mut select = Select { fields: self.fields()?, ..Select::default() };
        if self.eat_keyword("INTO") {
            select.into = Some(self.target_measurement()?);
        } else if into_required {
            return Err(self.unexpected("INTO"));
        }
        self.expect_keyword("FROM")?;
        select.sources = self.sources(true)?;
        select.condition = self.where_clause()?;
        select.dimensions = self.group_by()?;
        select.fill = self.fill()?;
        select.descending = self.order_by()?;
        select.limit = self.count_clause("LIMIT")?;
        select.offset = self.count_clause("OFFSET")?.unwrap_or(0);
        select.slimit = self.count_clause("SLIMIT")?;
        select.soffset = self.count_clause("SOFFSET")?.unwrap_or(0);
        select.timezone = self.timezone()?;
        Ok(select)
    }

    fn fields(&mut self) -> Result<Vec<Field>> {
        let mut fields = Vec::new();
        loop {
            let expr = if self.eat_keyword("DISTINCT") {
                // `SELECT DISTINCT value` and `SELECT DISTINCT(value)` are `distinct(value)`.
                let mut inner = self.expr()?;
                while let Expr::Paren(e) = inner {
                    inner = *e;
                }
                Expr::Call { name: "distinct".into(), args: vec![inner] }
            } else {
                self.expr()?
            };
            let alias = if self.eat_keyword("AS") { Some(self.ident()?) } else { None };
            fields.push(Field { expr, alias });
            if !self.eat_op(",") {
                return Ok(fields);
            }
        }
    }

    fn sources(&mut self, subqueries: bool) -> Result<Vec<Source>> {
        let mut sources = Vec::new();
        loop {
            if subqueries && self.eat_op("(") {
                let inner = self.select()?;
                self.expect_op(")")?;
                sources.push(Source::Subquery(Box::new(inner)));
            } else {
                sources.push(self.measurement_source()?);
            }
            if !self.eat_op(",") {
                return Ok(sources);
            }
        }
    }

    /// `[db.][rp.]name`, `db..name`, or a regex in the last place.
    fn measurement_source(&mut self) -> Result<Source> {
        self.measurement_or_back_reference(false)
    }

    /// INTO's target: a measurement, or `[db.][rp.]:MEASUREMENT` (each source's own name).
    fn target_measurement(&mut self) -> Result<Source> {
        self.measurement_or_back_reference(true)
    }

    fn measurement_or_back_reference(&mut self, back_reference: bool) -> Result<Source> {
        let mut parts: Vec<Option<String>> = Vec::new();
        loop {
            if back_reference && self.text[lexer::skip_space(self.text, self.pos)..].starts_with(':') {
                self.pos = lexer::skip_space(self.text, self.pos) + 1;
                self.expect_keyword("MEASUREMENT")?;
                let (database, policy) = qualifiers(parts);
                let name = crate::select::into::SOURCE_MEASUREMENT.to_string();
                return Ok(Source::Measurement { database, policy, name });
            }
            if let Some(pattern) = self.regex() {
                let (database, policy) = qualifiers(parts);
                return Ok(Source::Regex { database, policy, pattern });
            }
            if matches!(self.peek(), Token::Op(".")) {
                // An empty part: `db..m`.
                parts.push(None);
                self.next();
                continue;
            }
            let name = match self.peek() {
                Token::Ident(s) if !lexer::is_keyword(&s) => {
                    self.next();
                    s
                }
                Token::QuotedIdent(s) => {
                    self.next();
                    s
                }
                Token::Str(s) if self.is_bound_or_quoted() => {
                    self.next();
                    s
                }
                _ => return Err(self.unexpected("identifier")),
            };
            if parts.len() < 2 && self.eat_op(".") {
                parts.push(Some(name));
                continue;
            }
            let (database, policy) = qualifiers(parts);
            return Ok(Source::Measurement { database, policy, name });
        }
    }

    fn where_clause(&mut self) -> Result<Option<Expr>> {
        if self.eat_keyword("WHERE") {
            Ok(Some(self.expr()?))
        } else {
            Ok(None)
        }
    }

    fn group_by(&mut self) -> Result<Vec<Dimension>> {
        if !self.eat_keyword("GROUP") {
            return Ok(Vec::new());
        }
        self.expect_keyword("BY")?;
        let mut dims = Vec::new();
        loop {
            dims.push(self.dimension()?);
            if !self.eat_op(",") {
                return Ok(dims);
            }
        }
    }

    fn dimension(&mut self) -> Result<Dimension> {
        if self.eat_op("*") {
            return Ok(Dimension::Wildcard);
        }
        if let Some(pattern) = self.regex() {
            return Ok(Dimension::Regex(pattern));
        }
        if self.peek().is_keyword("time") {
            let save = self.pos;
            self.next();
            if self.eat_op("(") {
                let interval = self.duration()?;
                let mut offset = 0;
                if self.eat_op(",") {
                    let negative = self.eat_op("-");
                    if self.peek().is_keyword("now") {
                        self.next();
                        self.expect_op("(")?;
                        self.expect_op(")")?;
                        offset = i64::MIN; // resolved against now() by the evaluator
                    } else {
                        offset = self.duration()?;
                        if negative {
                            offset = -offset;
                        }
                    }
                }
                self.expect_op(")")?;
                return Ok(Dimension::Time { interval, offset });
            }
            self.pos = save;
        }
        let name = self.ident()?;
        if self.eat_op("::") {
            self.ident()?;
        }
        Ok(Dimension::Tag(name))
    }

    fn fill(&mut self) -> Result<Fill> {
        if !self.peek().is_keyword("fill") {
            return Ok(Fill::Null);
        }
        self.next();
        self.expect_op("(")?;
        let fill = match self.next() {
            Token::Ident(w) if w.eq_ignore_ascii_case("null") => Fill::Null,
            Token::Ident(w) if w.eq_ignore_ascii_case("none") => Fill::None,
            Token::Ident(w) if w.eq_ignore_ascii_case("previous") => Fill::Previous,
            Token::Ident(w) if w.eq_ignore_ascii_case("linear") => Fill::Linear,
            Token::Integer(s) => Fill::Number(s.parse().unwrap_or(f64::NAN)),
            Token::Number(n, _) => Fill::Number(n),
            Token::Op("-") => match self.next() {
                Token::Integer(s) => Fill::Number(-s.parse::<f64>().unwrap_or(f64::NAN)),
                Token::Number(n, _) => Fill::Number(-n),
                _ => {
                    return Err(
                        self.error_here("fill must be a number, null, none, previous or linear".into())
                    )
                }
            },
            _ => return Err(self.error_here("fill must be a number, null, none, previous or linear".into())),
        };
        self.expect_op(")")?;
        Ok(fill)
    }

    fn order_by(&mut self) -> Result<bool> {
        if !self.eat_keyword("ORDER") {
            return Ok(false);
        }
        self.expect_keyword("BY")?;
        let mut descending = false;
        loop {
            let field = self.ident()?;
            if !field.eq_ignore_ascii_case("time") {
                return Err(self.error_here("only ORDER BY time supported at this time".into()));
            }
            if self.eat_keyword("DESC") {
                descending = true;
            } else {
                self.eat_keyword("ASC");
            }
            if !self.eat_op(",") {
                return Ok(descending);
            }
        }
    }

    fn count_clause(&mut self, word: &str) -> Result<Option<usize>> {
        if !self.eat_keyword(word) {
            return Ok(None);
        }
        let n = self.integer()?;
        let n = usize::try_from(n).map_err(|_| self.error_here(format!("invalid {word} {n}")))?;
        // As InfluxDB: a count of 0 is no limit (found by fuzzing: `LIMIT 0` answered nothing).
        Ok((n > 0).then_some(n))
    }

    fn timezone(&mut self) -> Result<Option<String>> {
        if !self.peek().is_keyword("tz") {
            return Ok(None);
        }
        self.next();
        self.expect_op("(")?;
        let name = self.string()?;
        self.expect_op(")")?;
        Ok(Some(name))
    }

    fn on_database(&mut self) -> Result<Option<String>> {
        if self.eat_keyword("ON") {
            Ok(Some(self.ident()?))
        } else {
            Ok(None)
        }
    }

    fn show(&mut self) -> Result<Statement> {
        self.expect_keyword("SHOW")?;
        let word = match self.peek() {
            Token::Ident(w) => w.to_ascii_uppercase(),
            _ => String::new(),
        };
        match word.as_str() {
            "DATABASES" => {
                self.next();
                Ok(Statement::ShowDatabases)
            }
            "USERS" => {
                self.next();
                Ok(Statement::ShowUsers)
            }
            "GRANTS" => {
                self.next();
                self.expect_keyword("FOR")?;
                Ok(Statement::ShowGrants { user: self.ident()? })
            }
            "RETENTION" => {
                self.next();
                self.expect_keyword("POLICIES")?;
                Ok(Statement::ShowRetentionPolicies { database: self.on_database()? })
            }
            "CONTINUOUS" => {
                self.next();
                self.expect_keyword("QUERIES")?;
                Ok(Statement::ShowContinuousQueries)
            }
            "SUBSCRIPTIONS" => {
                self.next();
                Ok(Statement::ShowSubscriptions)
            }
            "STATS" => {
                self.next();
                let module = if self.eat_keyword("FOR") { Some(self.string()?) } else { None };
                Ok(Statement::ShowStats { module })
            }
            "MEASUREMENT" => {
                self.next();
                let exact = self.cardinality()?;
                let mut filter = ShowFilter { database: self.on_database()?, ..ShowFilter::default() };
                self.show_tail(&mut filter, true)?;
                Ok(Statement::ShowCardinality { of: Cardinality::Measurements, exact, filter })
            }
            "MEASUREMENTS" => {
                self.next();
                let mut filter = ShowFilter { database: self.on_database()?, ..ShowFilter::default() };
                if self.eat_keyword("WITH") {
                    self.expect_keyword("MEASUREMENT")?;
                    filter.measurement = Some(self.measurement_condition()?);
                }
                self.show_tail(&mut filter, false)?;
                Ok(Statement::ShowMeasurements(filter))
            }
            "SERIES" => {
                self.next();
                let exact = self.maybe_cardinality()?;
                let mut filter = ShowFilter { database: self.on_database()?, ..ShowFilter::default() };
                self.show_tail(&mut filter, true)?;
                Ok(match exact {
                    Some(exact) => Statement::ShowCardinality { of: Cardinality::Series, exact, filter },
                    None => Statement::ShowSeries(filter),
                })
            }
            "FIELD" => {
                self.next();
                let cardinality = if self.eat_keyword("KEY") {
                    Some(self.cardinality()?)
                } else {
                    self.expect_keyword("KEYS")?;
                    None
                };
                let mut filter = ShowFilter { database: self.on_database()?, ..ShowFilter::default() };
                self.show_tail(&mut filter, true)?;
                Ok(match cardinality {
                    Some(exact) => Statement::ShowCardinality { of: Cardinality::FieldKeys, exact, filter },
                    None => Statement::ShowFieldKeys(filter),
                })
            }
            "TAG" => {
                self.next();
                if self.eat_keyword("KEYS") {
                    let mut filter = ShowFilter { database: self.on_database()?, ..ShowFilter::default() };
                    self.show_tail(&mut filter, true)?;
                    return Ok(Statement::ShowTagKeys(filter));
                }
                if self.eat_keyword("KEY") {
                    let exact = self.cardinality()?;
                    let mut filter = ShowFilter { database: self.on_database()?, ..ShowFilter::default() };
                    self.show_tail(&mut filter, true)?;
                    return Ok(Statement::ShowCardinality { of: Cardinality::TagKeys, exact, filter });
                }
                self.expect_keyword("VALUES")?;
                let exact = self.maybe_cardinality()?;
                let mut filter = ShowFilter { database: self.on_database()?, ..ShowFilter::default() };
                if self.eat_keyword("FROM") {
                    filter.sources = self.sources(false)?;
                }
                self.expect_keyword("WITH")?;
                self.expect_keyword("KEY")?;
                let keys = self.key_selector()?;
                self.show_tail(&mut filter, false)?;
                Ok(match exact {
                    Some(exact) => {
                        Statement::ShowCardinality { of: Cardinality::TagValues(keys), exact, filter }
                    }
                    None => Statement::ShowTagValues { filter, keys },
                })
            }
            _ => Err(self.unexpected(
                "CONTINUOUS, DATABASES, DIAGNOSTICS, FIELD, GRANTS, MEASUREMENT, MEASUREMENTS, QUERIES, \
                 RETENTION, SERIES, SHARD, SHARDS, STATS, SUBSCRIPTIONS, TAG, USERS",
            )),
        }
    }

    /// `[EXACT] CARDINALITY`, required: whether EXACT was given.
    fn cardinality(&mut self) -> Result<bool> {
        match self.maybe_cardinality()? {
            Some(exact) => Ok(exact),
            None => Err(self.unexpected("CARDINALITY")),
        }
    }

    /// `[EXACT] CARDINALITY` if it comes next: whether EXACT was given.
    fn maybe_cardinality(&mut self) -> Result<Option<bool>> {
        if self.eat_keyword("CARDINALITY") {
            return Ok(Some(false));
        }
        if self.eat_keyword("EXACT") {
            self.expect_keyword("CARDINALITY")?;
            return Ok(Some(true));
        }
        Ok(None)
    }

    /// `= name` or `=~ /re/` after `WITH MEASUREMENT`.
    fn measurement_condition(&mut self) -> Result<Source> {
        if self.eat_op("=~") {
            let pattern = self.regex().ok_or_else(|| self.unexpected("regex"))?;
            return Ok(Source::Regex { database: None, policy: None, pattern });
        }
        self.expect_op("=")?;
        self.measurement_source()
    }

    fn key_selector(&mut self) -> Result<KeySelector> {
        if self.eat_keyword("IN") {
            self.expect_op("(")?;
            let mut keys = vec![self.ident()?];
            while self.eat_op(",") {
                keys.push(self.ident()?);
            }
            self.expect_op(")")?;
            return Ok(KeySelector::In(keys));
        }
        if self.eat_op("=~") {
            return self.regex().map(KeySelector::Regex).ok_or_else(|| self.unexpected("regex"));
        }
        if self.eat_op("!~") {
            return self.regex().map(KeySelector::NotRegex).ok_or_else(|| self.unexpected("regex"));
        }
        if self.eat_op("!=") || self.eat_op("<>") {
            return Ok(KeySelector::NotEqual(self.ident()?));
        }
        if self.eat_op("=") {
            return Ok(KeySelector::Equal(self.ident()?));
        }
        Err(self.unexpected("=, !=, =~, !~, IN"))
    }

    /// `[FROM …] [WHERE …] [LIMIT n] [OFFSET n]` of a SHOW.
    fn show_tail(&mut self, filter: &mut ShowFilter, from: bool) -> Result<()> {
        if from && self.eat_keyword("FROM") {
            filter.sources = self.sources(false)?;
        }
        filter.condition = self.where_clause()?;
        filter.limit = self.count_clause("LIMIT")?;
        filter.offset = self.count_clause("OFFSET")?.unwrap_or(0);
        Ok(())
    }

    fn create(&mut self) -> Result<Statement> {
        self.expect_keyword("CREATE")?;
        if self.eat_keyword("USER") {
            let name = self.ident()?;
            self.expect_keyword("WITH")?;
            self.expect_keyword("PASSWORD")?;
            let password = self.string()?;
            let admin = self.eat_keyword("WITH");
            if admin {
                self.expect_keyword("ALL")?;
                self.expect_keyword("PRIVILEGES")?;
            }
            return Ok(Statement::CreateUser { name, password, admin });
        }
        if self.eat_keyword("DATABASE") {
            let name = self.ident()?;
            if !self.eat_keyword("WITH") {
                return Ok(Statement::CreateDatabase { name, policy: None });
            }
            let mut policy = PolicySpec::default();
            self.policy_options(&mut policy, true)?;
            if self.eat_keyword("NAME") {
                policy.name = Some(self.ident()?);
            }
            return Ok(Statement::CreateDatabase { name, policy: Some(policy) });
        }
        if self.eat_keyword("RETENTION") {
            self.expect_keyword("POLICY")?;
            let name = self.ident()?;
            self.expect_keyword("ON")?;
            let database = self.ident()?;
            let mut policy = PolicySpec { name: Some(name), ..PolicySpec::default() };
            self.expect_keyword("DURATION")?;
            policy.duration = Some(self.policy_duration()?);
            self.expect_keyword("REPLICATION")?;
            policy.replication = Some(self.integer()?);
            if self.eat_keyword("SHARD") {
                self.expect_keyword("DURATION")?;
                policy.shard_duration = Some(self.policy_duration()?);
            }
            let default = self.eat_keyword("DEFAULT");
            return Ok(Statement::CreateRetentionPolicy { database, policy, default });
        }
        if self.eat_keyword("CONTINUOUS") {
            return self.create_continuous_query();
        }
        if self.eat_keyword("SUBSCRIPTION") {
            let (name, database, policy) = self.subscription_name()?;
            self.expect_keyword("DESTINATIONS")?;
            let any = if self.eat_keyword("ANY") {
                true
            } else if self.eat_keyword("ALL") {
                false
            } else {
                return Err(self.unexpected("ALL, ANY"));
            };
            let mut destinations = vec![self.string()?];
            while self.eat_op(",") {
                destinations.push(self.string()?);
            }
            return Ok(Statement::CreateSubscription { name, database, policy, any, destinations });
        }
        Err(self.unexpected("CONTINUOUS, DATABASE, USER, RETENTION, SUBSCRIPTION"))
    }

    /// `name ON db.rp` of a subscription.
    fn subscription_name(&mut self) -> Result<(String, String, String)> {
        let name = self.ident()?;
        self.expect_keyword("ON")?;
        let database = self.ident()?;
        self.expect_op(".")?;
        let policy = self.ident()?;
        Ok((name, database, policy))
    }

    /// After `CREATE CONTINUOUS`: `QUERY name ON db [RESAMPLE [EVERY d] [FOR d]] BEGIN
    /// select END`, checked as InfluxDB checks it.
    fn create_continuous_query(&mut self) -> Result<Statement> {
        self.expect_keyword("QUERY")?;
        let name = self.ident()?;
        self.expect_keyword("ON")?;
        let database = self.ident()?;
        let (mut every, mut for_) = (0, 0);
        if self.eat_keyword("RESAMPLE") {
            if self.eat_keyword("EVERY") {
                every = self.duration()?;
            }
            if self.eat_keyword("FOR") {
                for_ = self.duration()?;
            }
            if every == 0 && for_ == 0 {
                return Err(self.unexpected("EVERY, FOR"));
            }
        }
        if !self.peek().is_keyword("BEGIN") {
            return Err(self.unexpected("BEGIN"));
        }
        self.next();
        if !self.peek().is_keyword("SELECT") {
            return Err(self.unexpected("SELECT"));
        }
        self.into_required = true;
        let select = self.select()?;
        let interval = select.dimensions.iter().find_map(|d| match d {
            Dimension::Time { interval, .. } => Some(*interval),
            _ => None,
        });
        let aggregate = select.fields.iter().any(|f| crate::select::has_reducer(&f.expr));
        if aggregate && interval.is_none() {
            return Err(self.unexpected("GROUP BY time(...)"));
        }
        self.expect_keyword("END")?;
        if for_ != 0 {
            let least = every.max(interval.unwrap_or(0));
            if least > for_ {
                return Err(self.error_here(format!(
                    "FOR duration must be >= GROUP BY time duration: must be a minimum of {}, got {}",
                    crate::print::format_duration(least),
                    crate::print::format_duration(for_)
                )));
            }
        }
        Ok(Statement::CreateContinuousQuery(Box::new(ContinuousQuery {
            name,
            database,
            every,
            for_,
            select,
        })))
    }

    /// `DURATION d REPLICATION n SHARD DURATION d`, each optional, in that order.
    fn policy_options(&mut self, policy: &mut PolicySpec, _in_create_database: bool) -> Result<()> {
        if self.eat_keyword("DURATION") {
            policy.duration = Some(self.policy_duration()?);
        }
        if self.eat_keyword("REPLICATION") {
            let n = self.integer()?;
            if n < 1 {
                return Err(self.error_here(format!("invalid value {n}: must be 1 <= n <= 2147483647")));
            }
            policy.replication = Some(n);
        }
        if self.eat_keyword("SHARD") {
            self.expect_keyword("DURATION")?;
            policy.shard_duration = Some(self.policy_duration()?);
        }
        Ok(())
    }

    /// A duration or `INF` (0).
    fn policy_duration(&mut self) -> Result<i64> {
        if self.eat_keyword("INF") {
            return Ok(0);
        }
        self.duration()
    }

    fn drop(&mut self) -> Result<Statement> {
        self.expect_keyword("DROP")?;
        if self.eat_keyword("USER") {
            return Ok(Statement::DropUser { name: self.ident()? });
        }
        if self.eat_keyword("DATABASE") {
            return Ok(Statement::DropDatabase { name: self.ident()? });
        }
        if self.eat_keyword("RETENTION") {
            self.expect_keyword("POLICY")?;
            let name = self.ident()?;
            self.expect_keyword("ON")?;
            return Ok(Statement::DropRetentionPolicy { database: self.ident()?, name });
        }
        if self.eat_keyword("MEASUREMENT") {
            let name = self.ident()?;
            let source = Source::Measurement { database: None, policy: None, name };
            return Ok(Statement::Delete {
                database: None,
                sources: vec![source],
                condition: None,
                time_allowed: false,
            });
        }
        if self.eat_keyword("SERIES") {
            let database = self.on_database()?;
            let sources = if self.eat_keyword("FROM") { self.sources(false)? } else { Vec::new() };
            let condition = self.where_clause()?;
            if sources.is_empty() && condition.is_none() {
                return Err(self.unexpected("FROM or WHERE"));
            }
            return Ok(Statement::Delete { database, sources, condition, time_allowed: false });
        }
        if self.eat_keyword("CONTINUOUS") {
            self.expect_keyword("QUERY")?;
            let name = self.ident()?;
            self.expect_keyword("ON")?;
            return Ok(Statement::DropContinuousQuery { name, database: self.ident()? });
        }
        if self.eat_keyword("SUBSCRIPTION") {
            let (name, database, policy) = self.subscription_name()?;
            return Ok(Statement::DropSubscription { name, database, policy });
        }
        Err(self
            .unexpected("CONTINUOUS, MEASUREMENT, RETENTION, SERIES, SHARD, SUBSCRIPTION, USER, DATABASE"))
    }

    /// `GRANT|REVOKE READ|WRITE|ALL [PRIVILEGES] [ON db] TO|FROM user`.
    fn grant_or_revoke(&mut self) -> Result<Statement> {
        let grant = self.eat_keyword("GRANT");
        if !grant {
            self.expect_keyword("REVOKE")?;
        }
        let privilege = if self.eat_keyword("READ") {
            Privilege::Read
        } else if self.eat_keyword("WRITE") {
            Privilege::Write
        } else if self.eat_keyword("ALL") {
            self.eat_keyword("PRIVILEGES");
            Privilege::All
        } else {
            return Err(self.unexpected("READ, WRITE, ALL [PRIVILEGES]"));
        };
        let database = if privilege == Privilege::All {
            if self.eat_keyword("ON") {
                Some(self.ident()?)
            } else {
                None
            }
        } else {
            self.expect_keyword("ON")?;
            Some(self.ident()?)
        };
        self.expect_keyword(if grant { "TO" } else { "FROM" })?;
        let user = self.ident()?;
        Ok(if grant {
            Statement::Grant { user, privilege, database }
        } else {
            Statement::Revoke { user, privilege, database }
        })
    }

    /// `SET PASSWORD FOR user = 'password'`.
    fn set_password(&mut self) -> Result<Statement> {
        self.expect_keyword("SET")?;
        self.expect_keyword("PASSWORD")?;
        self.expect_keyword("FOR")?;
        let name = self.ident()?;
        self.expect_op("=")?;
        Ok(Statement::SetPassword { name, password: self.string()? })
    }

    fn delete(&mut self) -> Result<Statement> {
        self.expect_keyword("DELETE")?;
        let database = self.on_database()?;
        let sources = if self.eat_keyword("FROM") { self.sources(false)? } else { Vec::new() };
        let condition = self.where_clause()?;
        if sources.is_empty() && condition.is_none() {
            return Err(self.unexpected("FROM or WHERE"));
        }
        Ok(Statement::Delete { database, sources, condition, time_allowed: true })
    }

    // ---- expressions ----

    fn expr(&mut self) -> Result<Expr> {
        self.nested(|p| p.binary(1))
    }

    /// Runs `parse` one level deeper, refusing past [`MAX_NESTING`].
    fn nested<T>(&mut self, parse: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.nesting >= MAX_NESTING {
            return Err(self.error_here(format!("the query nests more than {MAX_NESTING} levels deep")));
        }
        self.nesting += 1;
        let out = parse(self);
        self.nesting -= 1;
        out
    }

    /// Precedence climbing over [`BinaryOp::precedence`].
    fn binary(&mut self, min: u8) -> Result<Expr> {
        let mut lhs = self.unary()?;
        let mut depth = expr_depth(&lhs, MAX_EXPR_DEPTH + 1);
        loop {
            let op = match self.peek() {
                Token::Op(o) => BinaryOp::from_op(o),
                Token::Ident(w) if w.eq_ignore_ascii_case("AND") => Some(BinaryOp::And),
                Token::Ident(w) if w.eq_ignore_ascii_case("OR") => Some(BinaryOp::Or),
                _ => None,
            };
            let Some(op) = op.filter(|op| op.precedence() >= min) else { return Ok(lhs) };
            self.next();
            let rhs = if matches!(op, BinaryOp::RegexMatch | BinaryOp::RegexNoMatch) {
                match self.regex() {
                    Some(r) => Expr::Regex(r),
                    None => self.binary(op.precedence() + 1)?,
                }
            } else {
                self.binary(op.precedence() + 1)?
            };
            depth = depth.max(expr_depth(&rhs, MAX_EXPR_DEPTH + 1)) + 1;
            if depth > MAX_EXPR_DEPTH {
                return Err(self.error_here(format!("an expression deeper than {MAX_EXPR_DEPTH} levels")));
            }
            lhs = Expr::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) };
        }
    }

    fn unary(&mut self) -> Result<Expr> {
        if self.eat_op("-") {
            return Ok(match self.nested(Self::unary)? {
                Expr::Integer(i) => Expr::Integer(-i),
                Expr::Number(n) => Expr::Number(-n),
                Expr::Duration(d) => Expr::Duration(-d),
                other => {
                    Expr::Binary { op: BinaryOp::Mul, lhs: Box::new(Expr::Integer(-1)), rhs: Box::new(other) }
                }
            });
        }
        if self.eat_op("+") {
            return self.nested(Self::unary);
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr> {
        if let Some(pattern) =
            (lexer::scan(self.text, self.pos).0 == Token::Op("/")).then(|| self.regex()).flatten()
        {
            return Ok(Expr::Regex(pattern));
        }
        match self.peek() {
            Token::Op("(") => {
                self.next();
                let inner = self.expr()?;
                self.expect_op(")")?;
                Ok(Expr::Paren(Box::new(inner)))
            }
            Token::Op("*") => {
                self.next();
                if self.eat_op("::") {
                    self.ident()?;
                }
                Ok(Expr::Wildcard)
            }
            Token::Integer(s) => {
                self.next();
                match s.parse() {
                    Ok(i) => Ok(Expr::Integer(i)),
                    Err(_) => Ok(Expr::Number(s.parse().unwrap_or(f64::INFINITY))),
                }
            }
            Token::Number(n, _) => {
                self.next();
                Ok(Expr::Number(n))
            }
            Token::Duration(ns, _) => {
                self.next();
                Ok(Expr::Duration(ns))
            }
            Token::Str(s) => {
                self.next();
                Ok(Expr::Str(s))
            }
            Token::Ident(w) if w.eq_ignore_ascii_case("true") || w.eq_ignore_ascii_case("false") => {
                self.next();
                Ok(Expr::Bool(w.eq_ignore_ascii_case("true")))
            }
            Token::Ident(w) if !lexer::is_keyword(&w) => {
                self.next();
                if self.eat_op("(") {
                    return self.call(w);
                }
                Ok(Expr::Ref { name: w, kind: self.cast()? })
            }
            Token::QuotedIdent(w) => {
                self.next();
                Ok(Expr::Ref { name: w, kind: self.cast()? })
            }
            _ => Err(self.unexpected("identifier, string, number, bool")),
        }
    }

    fn cast(&mut self) -> Result<RefType> {
        if !self.eat_op("::") {
            return Ok(RefType::Any);
        }
        // `field` is a keyword, and still a type here.
        let kind = match self.peek() {
            Token::Ident(w) => {
                self.next();
                w
            }
            _ => return Err(self.unexpected("field, tag, float, integer, unsigned, string or boolean")),
        };
        Ok(match kind.to_ascii_lowercase().as_str() {
            "field" | "float" | "integer" | "unsigned" | "string" | "boolean" => RefType::Field,
            "tag" => RefType::Tag,
            _ => return Err(self.error_here(format!("invalid cast type {kind}"))),
        })
    }

    fn call(&mut self, name: String) -> Result<Expr> {
        let mut args = Vec::new();
        if !self.eat_op(")") {
            loop {
                if self.eat_keyword("DISTINCT") {
                    // `count(DISTINCT value)` and `count(DISTINCT(value))` are
                    // `count(distinct(value))`.
                    let mut inner = self.expr()?;
                    while let Expr::Paren(e) = inner {
                        inner = *e;
                    }
                    args.push(Expr::Call { name: "distinct".into(), args: vec![inner] });
                } else {
                    args.push(self.expr()?);
                }
                if self.eat_op(")") {
                    break;
                }
                self.expect_op(",")?;
            }
        }
        Ok(Expr::Call { name: name.to_ascii_lowercase(), args })
    }
}

/// The `db` and `rp` of the parts before a measurement's name (`db.rp.m`, `rp.m`, `db..m`).
fn qualifiers(parts: Vec<Option<String>>) -> (Option<String>, Option<String>) {
    match parts.len() {
        0 => (None, None),
        1 => (None, parts.into_iter().next().flatten()),
        _ => {
            let mut it = parts.into_iter();
            (it.next().flatten(), it.next().flatten())
        }
    }
}

/// Operators as the `'static` strings tokens hold.
fn leak(op: &str) -> &'static str {
    [
        "!=", "<>", "<=", ">=", "=~", "!~", "::", "+", "-", "*", "/", "%", "&", "|", "^", "=", "<", ">", "(",
        ")", ",", ";", ".",
    ]
    .into_iter()
    .find(|o| *o == op)
    .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<Statement> {
        parse_query(text, &Params::new()).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn error(text: &str) -> String {
        parse_query(text, &Params::new()).unwrap_err().to_string()
    }

    #[test]
    fn grafana_default_query() {
        let q = parse(
            "SELECT mean(\"value\") FROM \"autogen\".\"cpu\" WHERE (\"host\" =~ /^a$/) AND time >= 1700000000000ms \
             and time <= 1700000900000ms GROUP BY time(30s), \"host\" fill(null) ORDER BY time DESC LIMIT 10 tz('UTC')",
        );
        let Statement::Select(s) = &q[0] else { panic!() };
        assert_eq!(
            s.sources[0],
            Source::Measurement { database: None, policy: Some("autogen".into()), name: "cpu".into() }
        );
        assert_eq!(
            s.dimensions,
            vec![Dimension::Time { interval: 30_000_000_000, offset: 0 }, Dimension::Tag("host".into())]
        );
        assert!(s.descending);
        assert_eq!(s.limit, Some(10));
        assert_eq!(s.timezone.as_deref(), Some("UTC"));
    }

    /// Found by fuzzing the print round trip: `LIMIT 0` was a limit of no rows; in InfluxDB
    /// (checked against 1.6) it is no limit, and printing leaves it out.
    #[test]
    fn a_count_of_zero_is_no_limit() {
        let q = parse("SELECT v FROM cpu LIMIT 0 SLIMIT 0; SHOW MEASUREMENTS LIMIT 0");
        let Statement::Select(s) = &q[0] else { panic!() };
        assert_eq!((s.limit, s.slimit), (None, None));
        assert_eq!(q[1], parse("SHOW MEASUREMENTS")[0]);
    }

    #[test]
    fn several_statements_and_sources() {
        let q = parse("SHOW DATABASES; SELECT * FROM db0..cpu, /^m/; SHOW TAG VALUES FROM cpu WITH KEY IN (host, region)");
        assert_eq!(q.len(), 3);
        let Statement::Select(s) = &q[1] else { panic!() };
        assert_eq!(
            s.sources[0],
            Source::Measurement { database: Some("db0".into()), policy: None, name: "cpu".into() }
        );
        assert_eq!(s.sources[1], Source::Regex { database: None, policy: None, pattern: "^m".into() });
    }

    #[test]
    fn precedence() {
        let q = parse("SELECT a + b * 2 FROM m WHERE x = 'a' OR y = 'b' AND z = 'c'");
        let Statement::Select(s) = &q[0] else { panic!() };
        let Expr::Binary { op: BinaryOp::Add, rhs, .. } = &s.fields[0].expr else { panic!() };
        assert!(matches!(**rhs, Expr::Binary { op: BinaryOp::Mul, .. }));
        let Some(Expr::Binary { op: BinaryOp::Or, .. }) = &s.condition else { panic!() };
    }

    #[test]
    fn errors_read_as_influxdbs() {
        assert_eq!(error("CREATE DATABASE 0xdb0"), "found 0xdb0, expected identifier at line 1, char 17");
        assert_eq!(
            error("CREATE DATABASE db0 WITH DURATION xyz"),
            "found xyz, expected duration at line 1, char 35"
        );
        assert_eq!(
            error("CREATE DATABASE db0 WITH NAME"),
            "found EOF, expected identifier at line 1, char 31"
        );
        assert!(error("SELEC x").starts_with("found SELEC, expected SELECT, DELETE"));
    }

    #[test]
    fn bound_parameters() {
        let mut params = Params::new();
        params.insert("host".into(), serde_json::json!("a"));
        params.insert("n".into(), serde_json::json!(5));
        let q = parse_query("SELECT v FROM m WHERE host = $host AND v > $n", &params).unwrap();
        let Statement::Select(s) = &q[0] else { panic!() };
        let text = format!("{:?}", s.condition);
        assert!(text.contains("Str(\"a\")") && text.contains("Integer(5)"), "{text}");
    }

    #[test]
    fn hostile_nesting_is_an_error_not_a_stack_overflow() {
        let deep_parens = format!("SELECT {}value{} FROM cpu", "(".repeat(100_000), ")".repeat(100_000));
        let long_chain = format!("SELECT {} FROM cpu", vec!["value"; 100_000].join(" + "));
        let signs = format!("SELECT {}value FROM cpu", "- ".repeat(100_000));
        let calls = format!("SELECT {}value{} FROM cpu", "abs(".repeat(100_000), ")".repeat(100_000));
        let subqueries =
            format!("SELECT * FROM {}cpu{}", "(SELECT * FROM ".repeat(10_000), ")".repeat(10_000));
        for q in [deep_parens, long_chain, signs, calls, subqueries] {
            let e = parse_query(&q, &Params::new()).unwrap_err().to_string();
            assert!(e.contains("levels") && e.contains(" at line 1"), "{e}");
        }
        // What people write stays well inside the limits.
        let nested = format!("SELECT {}value{} FROM cpu", "(".repeat(50), ")".repeat(50));
        assert!(parse_query(&nested, &Params::new()).is_ok());
        let chain = format!("SELECT {} FROM cpu", vec!["value"; 200].join(" + "));
        assert!(parse_query(&chain, &Params::new()).is_ok());
    }

    proptest::proptest! {
        /// Any sequence of InfluxQL's words, operators and literals parses or is an error
        /// that names a line and a character; never a panic.
        #[test]
        fn any_token_soup_parses_or_says_where_it_fails(
            words in proptest::collection::vec(proptest::sample::select(vec![
                "SELECT", "FROM", "WHERE", "GROUP", "BY", "time(1m)", "fill(", ")", "(", ",", ";", "*",
                "mean(", "top(", "value", "\"q\"", "'s'", "/re/", "=~", "!~", "=", "<>", ">=", "AND", "OR",
                "1", "-2.5", "10s", "now()", "-", "+", "SHOW", "TAG", "VALUES", "WITH", "KEY", "IN",
                "CARDINALITY", "EXACT", "CREATE", "USER", "PASSWORD", "GRANT", "ON", "TO", "INTO", "TZ(",
                "LIMIT", "OFFSET", "SLIMIT", "ORDER", "DESC", "::field", "$x", "DISTINCT", "\u{00e9}",
            ]), 0..24)
        ) {
            let text = words.join(" ");
            if let Err(e) = parse_query(&text, &Params::new()) {
                proptest::prop_assert!(e.to_string().contains(" at line "), "{}: {}", text, e);
            }
        }
    }
}
