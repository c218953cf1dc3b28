//! The statements and expressions the parser produces.

pub use crate::catalog::Privilege;

/// One statement of a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `SELECT …`.
    Select(Box<Select>),
    /// `SHOW DATABASES`.
    ShowDatabases,
    /// `SHOW RETENTION POLICIES [ON db]`.
    ShowRetentionPolicies { database: Option<String> },
    /// `SHOW MEASUREMENTS …`.
    ShowMeasurements(ShowFilter),
    /// `SHOW TAG KEYS …`.
    ShowTagKeys(ShowFilter),
    /// `SHOW TAG VALUES … WITH KEY …`.
    ShowTagValues { filter: ShowFilter, keys: KeySelector },
    /// `SHOW FIELD KEYS …`.
    ShowFieldKeys(ShowFilter),
    /// `SHOW SERIES …`.
    ShowSeries(ShowFilter),
    /// `SHOW SERIES|MEASUREMENT|TAG KEY|TAG VALUES|FIELD KEY [EXACT] CARDINALITY …`.
    ShowCardinality { of: Cardinality, exact: bool, filter: ShowFilter },
    /// `SHOW USERS`.
    ShowUsers,
    /// `SHOW GRANTS FOR user`.
    ShowGrants { user: String },
    /// `CREATE USER name WITH PASSWORD 'p' [WITH ALL PRIVILEGES]`.
    CreateUser { name: String, password: String, admin: bool },
    /// `DROP USER name`.
    DropUser { name: String },
    /// `SET PASSWORD FOR name = 'p'`.
    SetPassword { name: String, password: String },
    /// `GRANT p ON db TO user`; without a database, `GRANT ALL PRIVILEGES TO user` (admin).
    Grant { user: String, privilege: Privilege, database: Option<String> },
    /// `REVOKE p ON db FROM user`; without a database, `REVOKE ALL PRIVILEGES FROM user`.
    Revoke { user: String, privilege: Privilege, database: Option<String> },
    /// `CREATE DATABASE name [WITH …]`.
    CreateDatabase { name: String, policy: Option<PolicySpec> },
    /// `CREATE RETENTION POLICY name ON db …`.
    CreateRetentionPolicy { database: String, policy: PolicySpec, default: bool },
    /// `DROP DATABASE name`.
    DropDatabase { name: String },
    /// `DROP RETENTION POLICY name ON db`.
    DropRetentionPolicy { database: String, name: String },
    /// `CREATE CONTINUOUS QUERY name ON db [RESAMPLE [EVERY d] [FOR d]] BEGIN select END`.
    CreateContinuousQuery(Box<ContinuousQuery>),
    /// `DROP CONTINUOUS QUERY name ON db`.
    DropContinuousQuery { name: String, database: String },
    /// `SHOW CONTINUOUS QUERIES`.
    ShowContinuousQueries,
    /// `CREATE SUBSCRIPTION name ON db.rp DESTINATIONS ALL|ANY 'url'[, 'url']…`.
    CreateSubscription {
        name: String,
        database: String,
        policy: String,
        any: bool,
        destinations: Vec<String>,
    },
    /// `DROP SUBSCRIPTION name ON db.rp`.
    DropSubscription { name: String, database: String, policy: String },
    /// `SHOW SUBSCRIPTIONS`.
    ShowSubscriptions,
    /// `SHOW STATS [FOR 'module']`.
    ShowStats { module: Option<String> },
    /// `DROP SERIES [FROM …] [WHERE …]`, `DELETE [FROM …] [WHERE …]` (`time_allowed`), `DROP
    /// MEASUREMENT m`.
    Delete { database: Option<String>, sources: Vec<Source>, condition: Option<Expr>, time_allowed: bool },
}

impl Statement {
    /// Whether it changes data or the catalog (InfluxDB refuses those over GET).
    pub fn is_write(&self) -> bool {
        if let Statement::Select(s) = self {
            return s.into.is_some();
        }
        matches!(
            self,
            Statement::CreateDatabase { .. }
                | Statement::CreateRetentionPolicy { .. }
                | Statement::CreateContinuousQuery(_)
                | Statement::DropContinuousQuery { .. }
        ) || self.needs_admin()
    }
}

impl Statement {
    /// Whether it deletes data or manages databases, policies or users: what a server with
    /// authentication lets only its admins run (creating a database or writing with
    /// `SELECT … INTO` stays with every user who may write).
    pub fn needs_admin(&self) -> bool {
        matches!(
            self,
            Statement::DropDatabase { .. }
                | Statement::DropRetentionPolicy { .. }
                | Statement::CreateSubscription { .. }
                | Statement::DropSubscription { .. }
                | Statement::ShowSubscriptions
                | Statement::ShowStats { .. }
                | Statement::Delete { .. }
                | Statement::CreateUser { .. }
                | Statement::DropUser { .. }
                | Statement::SetPassword { .. }
                | Statement::Grant { .. }
                | Statement::Revoke { .. }
        )
    }
}

/// A continuous query as CREATE gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContinuousQuery {
    pub name: String,
    pub database: String,
    /// `RESAMPLE EVERY`, ns (0: the GROUP BY interval).
    pub every: i64,
    /// `RESAMPLE FOR`, ns (0: the GROUP BY interval).
    pub for_: i64,
    pub select: Select,
}

/// A retention policy as CREATE gives it; absent parts take InfluxDB's defaults.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PolicySpec {
    /// Its name (`autogen` when CREATE DATABASE gives none).
    pub name: Option<String>,
    /// How long data is kept, in ns; 0 = forever (`INF`).
    pub duration: Option<i64>,
    pub replication: Option<i64>,
    /// The shard group duration, in ns.
    pub shard_duration: Option<i64>,
}

/// `ON db`, `FROM …`, `WHERE …`, `LIMIT`, `OFFSET` of the SHOW statements.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ShowFilter {
    pub database: Option<String>,
    pub sources: Vec<Source>,
    /// `WITH MEASUREMENT = m | =~ /re/` of SHOW MEASUREMENTS.
    pub measurement: Option<Source>,
    pub condition: Option<Expr>,
    pub limit: Option<usize>,
    pub offset: usize,
}

/// What a SHOW … CARDINALITY counts.
#[derive(Debug, Clone, PartialEq)]
pub enum Cardinality {
    Series,
    Measurements,
    TagKeys,
    TagValues(KeySelector),
    FieldKeys,
}

/// `WITH KEY …` of SHOW TAG VALUES.
#[derive(Debug, Clone, PartialEq)]
pub enum KeySelector {
    Equal(String),
    NotEqual(String),
    In(Vec<String>),
    Regex(String),
    NotRegex(String),
}

/// A measurement (optionally qualified), a regex over measurement names, or a subquery.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Measurement { database: Option<String>, policy: Option<String>, name: String },
    Regex { database: Option<String>, policy: Option<String>, pattern: String },
    Subquery(Box<Select>),
}

/// A SELECT statement.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Select {
    pub fields: Vec<Field>,
    pub into: Option<Source>,
    pub sources: Vec<Source>,
    pub condition: Option<Expr>,
    pub dimensions: Vec<Dimension>,
    pub fill: Fill,
    /// `ORDER BY time DESC`.
    pub descending: bool,
    pub limit: Option<usize>,
    pub offset: usize,
    pub slimit: Option<usize>,
    pub soffset: usize,
    /// `tz('…')`.
    pub timezone: Option<String>,
}

/// One selected expression and its alias.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub expr: Expr,
    pub alias: Option<String>,
}

/// A GROUP BY term.
#[derive(Debug, Clone, PartialEq)]
pub enum Dimension {
    /// `time(interval[, offset])`, in ns.
    Time {
        interval: i64,
        offset: i64,
    },
    Tag(String),
    Regex(String),
    /// `*`: every tag.
    Wildcard,
}

/// `fill(…)`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Fill {
    #[default]
    Null,
    None,
    Previous,
    Linear,
    Number(f64),
}

/// What `::field` / `::tag` asks a reference to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RefType {
    Any,
    Field,
    Tag,
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A field, tag or `time`.
    Ref {
        name: String,
        kind: RefType,
    },
    Call {
        name: String,
        args: Vec<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Paren(Box<Expr>),
    Integer(i64),
    Number(f64),
    Str(String),
    Bool(bool),
    /// In nanoseconds.
    Duration(i64),
    Regex(String),
    /// `*` (in a select list or an argument: `count(*)`).
    Wildcard,
    /// `now()` is parsed as a Call; this is its value once bound, in ns.
    Time(i64),
}

/// Binary operators, by precedence from loosest: OR; AND; comparisons; `+ - | ^`; `* / % &`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    RegexMatch,
    RegexNoMatch,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    BitAnd,
    BitOr,
    BitXor,
}

impl BinaryOp {
    /// How tightly it binds (higher binds tighter).
    pub fn precedence(self) -> u8 {
        use BinaryOp::*;
        match self {
            Or => 1,
            And => 2,
            Eq | Neq | Lt | Lte | Gt | Gte | RegexMatch | RegexNoMatch => 4,
            Add | Sub | BitOr | BitXor => 5,
            Mul | Div | Mod | BitAnd => 6,
        }
    }

    /// The operator's text.
    pub fn text(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Or => "OR",
            And => "AND",
            Eq => "=",
            Neq => "!=",
            Lt => "<",
            Lte => "<=",
            Gt => ">",
            Gte => ">=",
            RegexMatch => "=~",
            RegexNoMatch => "!~",
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Mod => "%",
            BitAnd => "&",
            BitOr => "|",
            BitXor => "^",
        }
    }

    /// The operator of a token's text.
    pub fn from_op(op: &str) -> Option<BinaryOp> {
        use BinaryOp::*;
        Some(match op {
            "=" => Eq,
            "!=" | "<>" => Neq,
            "<" => Lt,
            "<=" => Lte,
            ">" => Gt,
            ">=" => Gte,
            "=~" => RegexMatch,
            "!~" => RegexNoMatch,
            "+" => Add,
            "-" => Sub,
            "*" => Mul,
            "/" => Div,
            "%" => Mod,
            "&" => BitAnd,
            "|" => BitOr,
            "^" => BitXor,
            _ => return None,
        })
    }
}
