//! A parsed template: the tree Go's `text/template/parse` builds, reduced to what templates in
//! rule files use.

/// One node of a template body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// Literal text.
    Text(String),
    /// `{{ pipeline }}`: its value is printed unless it declares or assigns variables.
    Action(Pipe),
    /// `{{ if }}`, `{{ with }}` and `{{ range }}` with their `else` branches.
    Branch { kind: BranchKind, pipe: Pipe, body: Vec<Node>, otherwise: Vec<Node> },
    /// `{{ template "name" pipeline }}`.
    Template { name: String, pipe: Option<Pipe>, at: Pos },
    /// `{{ break }}` inside a range.
    Break,
    /// `{{ continue }}` inside a range.
    Continue,
}

/// The three branching actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BranchKind {
    If,
    With,
    Range,
}

/// Where in the template text a pipeline starts (1-based line, byte column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    pub line: usize,
    pub column: usize,
}

/// `$x := cmd | cmd …`, `$x = …` or a plain pipeline.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pipe {
    /// Variables declared (`:=`) or assigned (`=`); two in `range $i, $e :=`.
    pub variables: Vec<String>,
    /// `=` rather than `:=`.
    pub assign: bool,
    pub commands: Vec<Command>,
    /// The pipeline's source text, for error messages (`at <…>`).
    pub text: String,
    pub at: Pos,
}

/// One command of a pipeline: a function call or a single operand.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Command {
    pub args: Vec<Operand>,
}

/// An operand: a term and the fields read from it (`$labels.instance`, `(first $x).Value`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Operand {
    pub term: Term,
    pub fields: Vec<String>,
}

/// A term of an operand.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Term {
    /// `.` (with `fields`: `.Labels.job`).
    Dot,
    /// `$name` (`$` alone is the data passed to the template).
    Variable(String),
    /// A function name.
    Function(String),
    String(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Nil,
    /// `( pipeline )`.
    Pipe(Box<Pipe>),
}
