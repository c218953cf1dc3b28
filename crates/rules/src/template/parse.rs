//! Building the template tree from segments, checking as Go's parser does that every
//! function exists and every variable is declared before use (so a rule file with
//! `{{ $label.foo }}` is refused when it is loaded, not when the alert fires).

use std::collections::HashMap;

use super::ast::{BranchKind, Command, Node, Operand, Pipe, Pos, Term};
use super::lex::{segments, Segment, Token, TokenKind};

/// A parsed template and the templates it defines.
#[derive(Debug, Clone, Default)]
pub(crate) struct Parsed {
    pub main: Vec<Node>,
    pub defines: HashMap<String, Vec<Node>>,
}

/// Parses `text`; `known_function` says which function names exist, `variables` which
/// variables the caller declares before the text (Prometheus' `$labels`, `$value`, …).
pub(crate) fn parse(
    text: &str,
    known_function: &dyn Fn(&str) -> bool,
    variables: &[&str],
) -> Result<Parsed, String> {
    let segments = segments(text)?;
    let mut parser = Parser {
        segments,
        next: 0,
        known_function,
        scope: variables.iter().map(|v| v.to_string()).chain(std::iter::once(String::new())).collect(),
        defines: HashMap::new(),
        range_depth: 0,
    };
    let (main, end) = parser.list(true)?;
    if let Some((word, at)) = end {
        return Err(format!("{}: unexpected {{{{{word}}}}}", at.line));
    }
    Ok(Parsed { main, defines: parser.defines })
}

struct Parser<'a> {
    segments: Vec<Segment>,
    next: usize,
    known_function: &'a dyn Fn(&str) -> bool,
    /// Variables in scope, innermost last (`""` is `$`).
    scope: Vec<String>,
    defines: HashMap<String, Vec<Node>>,
    range_depth: usize,
}

/// The keyword that ended a list (`end`, `else`) and the tokens after it.
type Ending = Option<(String, Pos)>;

impl Parser<'_> {
    /// Nodes up to an `{{end}}` or `{{else …}}` (left for the caller in `self.pending_else`).
    fn list(&mut self, top: bool) -> Result<(Vec<Node>, Ending), String> {
        let mut nodes = Vec::new();
        while self.next < self.segments.len() {
            let segment = self.segments[self.next].clone();
            self.next += 1;
            let (tokens, text, at) = match segment {
                Segment::Text(t) => {
                    nodes.push(Node::Text(t));
                    continue;
                }
                Segment::Action { tokens, text, at } => (tokens, text, at),
            };
            let keyword = match tokens.first().map(|t| &t.kind) {
                Some(TokenKind::Identifier(word)) => word.clone(),
                None => return Err(format!("{}: missing value for command", at.line)),
                _ => String::new(),
            };
            match keyword.as_str() {
                "end" => return Ok((nodes, Some(("end".into(), at)))),
                "else" => {
                    // Leave the rest of the action (`else if …`) for the branch to read.
                    self.segments[self.next - 1] =
                        Segment::Action { tokens: tokens[1..].to_vec(), text: text.clone(), at };
                    self.next -= 1;
                    return Ok((nodes, Some(("else".into(), at))));
                }
                "if" | "with" | "range" => nodes.push(self.branch(&keyword, &tokens[1..], &text, at)?),
                "define" | "block" => {
                    if !top && keyword == "define" {
                        return Err(format!("{}: unexpected {{{{define}}}}", at.line));
                    }
                    let node = self.define(&keyword, &tokens[1..], &text, at)?;
                    nodes.extend(node);
                }
                "template" => nodes.push(self.template(&tokens[1..], &text, at)?),
                "break" | "continue" => {
                    if self.range_depth == 0 {
                        return Err(format!("{}: {{{{{keyword}}}}} outside {{{{range}}}}", at.line));
                    }
                    nodes.push(if keyword == "break" { Node::Break } else { Node::Continue });
                }
                _ => nodes.push(Node::Action(self.pipe(&tokens, &text, at, true)?)),
            }
        }
        Ok((nodes, None))
    }

    fn branch(&mut self, keyword: &str, tokens: &[Token], text: &str, at: Pos) -> Result<Node, String> {
        let kind = match keyword {
            "if" => BranchKind::If,
            "with" => BranchKind::With,
            _ => BranchKind::Range,
        };
        let mark = self.scope.len();
        let pipe = self.pipe(tokens, text, at, kind == BranchKind::Range)?;
        if kind == BranchKind::Range {
            self.range_depth += 1;
        }
        let listed = self.list(false);
        if kind == BranchKind::Range {
            self.range_depth -= 1;
        }
        let (body, ending) = listed?;
        let otherwise = match ending {
            Some((word, _)) if word == "end" => Vec::new(),
            Some((_, else_at)) => self.else_branch(kind, else_at)?,
            None => return Err(format!("{}: unexpected EOF in {{{{{keyword}}}}}", at.line)),
        };
        self.scope.truncate(mark);
        Ok(Node::Branch { kind, pipe, body, otherwise })
    }

    /// After `{{else`: either `{{else}} … {{end}}` or `{{else if …}}` / `{{else with …}}`,
    /// which nest a branch that shares the outer `{{end}}`.
    fn else_branch(&mut self, kind: BranchKind, at: Pos) -> Result<Vec<Node>, String> {
        let Segment::Action { tokens, text, .. } = self.segments[self.next].clone() else {
            return Err(format!("{}: bad else", at.line));
        };
        self.next += 1;
        match tokens.first().map(|t| &t.kind) {
            None => {
                let (otherwise, ending) = self.list(false)?;
                match ending {
                    Some((word, _)) if word == "end" => Ok(otherwise),
                    _ => Err(format!("{}: expected end; found else", at.line)),
                }
            }
            Some(TokenKind::Identifier(word))
                if (word == "if" || word == "with") && kind != BranchKind::Range =>
            {
                let word = word.clone();
                Ok(vec![self.branch(&word, &tokens[1..], &text, at)?])
            }
            _ => Err(format!("{}: unexpected tokens after else", at.line)),
        }
    }

    fn define(
        &mut self,
        keyword: &str,
        tokens: &[Token],
        text: &str,
        at: Pos,
    ) -> Result<Option<Node>, String> {
        let Some(TokenKind::String(name)) = tokens.first().map(|t| &t.kind) else {
            return Err(format!("{}: {keyword} needs a quoted template name", at.line));
        };
        let name = name.clone();
        let pipe = if keyword == "block" && tokens.len() > 1 {
            Some(self.pipe(&tokens[1..], text, at, false)?)
        } else {
            None
        };
        // A defined template sees only `$` (its own data).
        let saved = std::mem::replace(&mut self.scope, vec![String::new()]);
        let (body, ending) = self.list(false)?;
        self.scope = saved;
        if !matches!(ending, Some((ref word, _)) if word == "end") {
            return Err(format!("{}: unexpected EOF in {{{{{keyword}}}}}", at.line));
        }
        self.defines.insert(name.clone(), body);
        Ok((keyword == "block").then_some(Node::Template { name, pipe, at }))
    }

    fn template(&mut self, tokens: &[Token], text: &str, at: Pos) -> Result<Node, String> {
        let Some(TokenKind::String(name)) = tokens.first().map(|t| &t.kind) else {
            return Err(format!("{}: template needs a quoted template name", at.line));
        };
        let pipe = if tokens.len() > 1 { Some(self.pipe(&tokens[1..], text, at, false)?) } else { None };
        Ok(Node::Template { name: name.clone(), pipe, at })
    }

    /// A pipeline, with its variable declaration if it has one (`range` allows two).
    fn pipe(&mut self, tokens: &[Token], text: &str, at: Pos, two_variables: bool) -> Result<Pipe, String> {
        let mut variables = Vec::new();
        let mut assign = false;
        let mut rest = tokens;
        let declared = declaration(tokens, two_variables);
        if let Some((names, is_assign, used)) = declared {
            variables = names;
            assign = is_assign;
            rest = &tokens[used..];
        }
        let mut position = 0;
        let commands = self.commands(rest, &mut position, at, false)?;
        if position != rest.len() {
            return Err(format!("{}: unexpected {:?} in command", at.line, rest[position].kind));
        }
        if commands.is_empty() {
            return Err(format!("{}: missing value for command", at.line));
        }
        for name in &variables {
            if assign {
                self.check_variable(name, at)?;
            } else {
                self.scope.push(name.clone());
            }
        }
        Ok(Pipe { variables, assign, commands, text: text.to_string(), at })
    }

    /// Commands separated by `|`, up to the end of the tokens or (in parentheses) a `)`.
    fn commands(
        &self,
        tokens: &[Token],
        i: &mut usize,
        at: Pos,
        nested: bool,
    ) -> Result<Vec<Command>, String> {
        let mut commands = Vec::new();
        let mut args = Vec::new();
        while *i < tokens.len() {
            match &tokens[*i].kind {
                TokenKind::Pipe => {
                    if args.is_empty() {
                        return Err(format!("{}: missing command before |", at.line));
                    }
                    commands.push(Command { args: std::mem::take(&mut args) });
                    *i += 1;
                }
                TokenKind::RightParen if nested => break,
                _ => args.push(self.operand(tokens, i, at)?),
            }
        }
        if !args.is_empty() {
            commands.push(Command { args });
        } else if !commands.is_empty() {
            return Err(format!("{}: missing command after |", at.line));
        }
        Ok(commands)
    }

    fn operand(&self, tokens: &[Token], i: &mut usize, at: Pos) -> Result<Operand, String> {
        let token = &tokens[*i];
        *i += 1;
        let mut fields = Vec::new();
        let term = match &token.kind {
            TokenKind::Dot => Term::Dot,
            TokenKind::Field(name) => {
                fields.push(name.clone());
                Term::Dot
            }
            TokenKind::Variable(name) => {
                self.check_variable(name, at)?;
                Term::Variable(name.clone())
            }
            TokenKind::Identifier(name) => {
                if !(self.known_function)(name) {
                    return Err(format!("{}: function {name:?} not defined", at.line));
                }
                Term::Function(name.clone())
            }
            TokenKind::String(s) => Term::String(s.clone()),
            TokenKind::Number(n) => {
                number(n).ok_or_else(|| format!("{}: bad number syntax: {n:?}", at.line))?
            }
            TokenKind::Bool(b) => Term::Bool(*b),
            TokenKind::Nil => Term::Nil,
            TokenKind::LeftParen => {
                let commands = self.commands(tokens, i, at, true)?;
                if tokens.get(*i).map(|t| &t.kind) != Some(&TokenKind::RightParen) {
                    return Err(format!("{}: unclosed left paren", at.line));
                }
                *i += 1;
                if commands.is_empty() {
                    return Err(format!("{}: missing value for parenthesized pipeline", at.line));
                }
                Term::Pipe(Box::new(Pipe {
                    variables: vec![],
                    assign: false,
                    commands,
                    text: String::new(),
                    at,
                }))
            }
            other => return Err(format!("{}: unexpected {other:?} in operand", at.line)),
        };
        while let Some(Token { kind: TokenKind::Field(name), glued: true }) = tokens.get(*i) {
            fields.push(name.clone());
            *i += 1;
        }
        Ok(Operand { term, fields })
    }

    fn check_variable(&self, name: &str, at: Pos) -> Result<(), String> {
        if self.scope.iter().any(|v| v == name) {
            Ok(())
        } else {
            Err(format!("{}: undefined variable \"${name}\"", at.line))
        }
    }
}

/// `$x :=`, `$x =` or (in range) `$i, $e :=` at the start: the names, whether it is an
/// assignment, and the tokens it takes.
fn declaration(tokens: &[Token], two_variables: bool) -> Option<(Vec<String>, bool, usize)> {
    let name = |k: Option<&Token>| match k.map(|t| &t.kind) {
        Some(TokenKind::Variable(n)) => Some(n.clone()),
        _ => None,
    };
    let first = name(tokens.first())?;
    match tokens.get(1).map(|t| &t.kind) {
        Some(TokenKind::Declare) => Some((vec![first], false, 2)),
        Some(TokenKind::Assign) => Some((vec![first], true, 2)),
        Some(TokenKind::Comma) if two_variables => {
            let second = name(tokens.get(2))?;
            match tokens.get(3).map(|t| &t.kind) {
                Some(TokenKind::Declare) => Some((vec![first, second], false, 4)),
                Some(TokenKind::Assign) => Some((vec![first, second], true, 4)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// A number literal: an int unless it has a fraction or exponent (Go's ideal constants).
fn number(text: &str) -> Option<Term> {
    let clean = text.replace('_', "");
    let (negative, digits) = match clean.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean)),
    };
    let radix_int = |prefix: &str, radix: u32| {
        digits
            .strip_prefix(prefix)
            .or_else(|| digits.strip_prefix(&prefix.to_uppercase()))
            .and_then(|d| i64::from_str_radix(d, radix).ok())
    };
    let int = radix_int("0x", 16)
        .or_else(|| radix_int("0o", 8))
        .or_else(|| radix_int("0b", 2))
        .or_else(|| {
            if digits.len() > 1 && digits.starts_with('0') {
                i64::from_str_radix(&digits[1..], 8).ok()
            } else {
                None
            }
        })
        .or_else(|| digits.parse::<i64>().ok());
    if let Some(n) = int {
        return Some(Term::Int(if negative { -n } else { n }));
    }
    clean.parse::<f64>().ok().filter(|v| v.is_finite()).map(Term::Float)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(name: &str) -> bool {
        matches!(name, "printf" | "humanize" | "query" | "first" | "value")
    }

    #[test]
    fn undefined_variables_and_functions_are_refused() {
        let e = parse("{{ $label.foo }}", &known, &["labels"]).unwrap_err();
        assert!(e.contains("undefined variable \"$label\""), "{e}");
        let e = parse("{{ nope 1 }}", &known, &[]).unwrap_err();
        assert!(e.contains("function \"nope\" not defined"), "{e}");
        parse("{{ $labels.foo }}", &known, &["labels"]).unwrap();
    }

    #[test]
    fn branches_scope_their_variables() {
        parse("{{ if true }}{{ $x := 1 }}{{ $x }}{{ end }}", &known, &[]).unwrap();
        let e = parse("{{ if true }}{{ $x := 1 }}{{ end }}{{ $x }}", &known, &[]).unwrap_err();
        assert!(e.contains("undefined variable"), "{e}");
        parse("{{ range $i, $e := 1 }}{{ $i }}{{ break }}{{ else }}x{{ end }}", &known, &[]).unwrap();
        parse("{{ if 1 }}a{{ else if 2 }}b{{ else }}c{{ end }}", &known, &[]).unwrap();
        assert!(parse("{{ if 1 }}a", &known, &[]).is_err());
        assert!(parse("{{ break }}", &known, &[]).is_err());
    }

    #[test]
    fn numbers_are_ints_unless_they_have_a_fraction() {
        assert_eq!(number("12"), Some(Term::Int(12)));
        assert_eq!(number("-0x10"), Some(Term::Int(-16)));
        assert_eq!(number("1.0"), Some(Term::Float(1.0)));
        assert_eq!(number("1e3"), Some(Term::Float(1000.0)));
        assert_eq!(number("1x"), None);
    }
}
