//! Running a parsed template over data, as Go's `text/template` executes one: pipelines pass
//! their value as the last argument of the next command, `if`/`with`/`range` open a scope for
//! the variables they declare, `and`/`or` stop at the first deciding argument.

use super::ast::{BranchKind, Command, Node, Operand, Pipe, Pos, Term};
use super::funcs::{call, Env};
use super::parse::Parsed;
use super::value::Value;

/// Deepest a template may nest `{{template}}` calls (Go's limit is 100,000 frames of its
/// own; ours keeps a hostile rule file from exhausting the stack).
const MAX_DEPTH: usize = 1000;

enum Flow {
    Normal,
    Break,
    Continue,
}

pub(crate) struct Exec<'a> {
    pub name: &'a str,
    pub parsed: &'a Parsed,
    pub env: &'a Env<'a>,
    vars: Vec<(String, Value)>,
    pub out: String,
    depth: usize,
}

impl<'a> Exec<'a> {
    pub(crate) fn new(
        name: &'a str,
        parsed: &'a Parsed,
        env: &'a Env<'a>,
        variables: Vec<(String, Value)>,
    ) -> Self {
        Exec { name, parsed, env, vars: variables, out: String::new(), depth: 0 }
    }

    pub(crate) fn run(&mut self, data: &Value) -> Result<(), String> {
        self.vars.insert(0, (String::new(), data.clone()));
        self.walk(&self.parsed.main, data).map(|_| ())
    }

    fn walk(&mut self, nodes: &[Node], dot: &Value) -> Result<Flow, String> {
        for node in nodes {
            match node {
                Node::Text(text) => self.out.push_str(text),
                Node::Action(pipe) => {
                    let value = self.pipe(pipe, dot)?;
                    if pipe.variables.is_empty() {
                        self.out.push_str(&value.to_go_string());
                    }
                }
                Node::Branch { kind, pipe, body, otherwise } => {
                    let mark = self.vars.len();
                    let flow = self.branch(*kind, pipe, body, otherwise, dot);
                    self.vars.truncate(mark);
                    match flow? {
                        Flow::Normal => {}
                        other => return Ok(other),
                    }
                }
                Node::Template { name, pipe, at } => self.template(name, pipe.as_ref(), *at, dot)?,
                Node::Break => return Ok(Flow::Break),
                Node::Continue => return Ok(Flow::Continue),
            }
        }
        Ok(Flow::Normal)
    }

    fn branch(
        &mut self,
        kind: BranchKind,
        pipe: &Pipe,
        body: &[Node],
        otherwise: &[Node],
        dot: &Value,
    ) -> Result<Flow, String> {
        if kind == BranchKind::Range {
            return self.range(pipe, body, otherwise, dot);
        }
        let value = self.pipe(pipe, dot)?;
        match (kind, value.truthy()) {
            (BranchKind::If, true) => self.walk(body, dot),
            (BranchKind::With, true) => self.walk(body, &value),
            _ => self.walk(otherwise, dot),
        }
    }

    fn range(&mut self, pipe: &Pipe, body: &[Node], otherwise: &[Node], dot: &Value) -> Result<Flow, String> {
        // The declared variables take the key and element, not the whole value.
        let value = self.pipe_value(pipe, dot)?;
        let items: Vec<(Value, Value)> = match &value {
            Value::List(items) => {
                items.iter().enumerate().map(|(i, v)| (Value::Int(i as i64), v.clone())).collect()
            }
            Value::Map { entries, .. } => {
                entries.iter().map(|(k, v)| (Value::String(k.clone()), v.clone())).collect()
            }
            Value::Int(n) => (0..*n).map(|i| (Value::Int(i), Value::Int(i))).collect(),
            Value::Nil => Vec::new(),
            other => {
                return Err(self.error(pipe, &format!("range can't iterate over {}", other.to_go_string())))
            }
        };
        if items.is_empty() {
            return self.walk(otherwise, dot);
        }
        for (key, element) in items {
            let mark = self.vars.len();
            match pipe.variables.as_slice() {
                [e] => self.bind(e, element.clone(), pipe.assign),
                [k, e] => {
                    self.bind(k, key, pipe.assign);
                    self.bind(e, element.clone(), pipe.assign);
                }
                _ => {}
            }
            let flow = self.walk(body, &element);
            self.vars.truncate(mark);
            match flow? {
                Flow::Break => break,
                Flow::Continue | Flow::Normal => {}
            }
        }
        Ok(Flow::Normal)
    }

    fn template(&mut self, name: &str, pipe: Option<&Pipe>, at: Pos, dot: &Value) -> Result<(), String> {
        let Some(body) = self.parsed.defines.get(name) else {
            return Err(format!(
                "template: {}:{}:{}: no such template {name:?}",
                self.name, at.line, at.column
            ));
        };
        let data = match pipe {
            Some(p) => self.pipe(p, dot)?,
            None => Value::Nil,
        };
        if self.depth >= MAX_DEPTH {
            return Err(format!("template: {}: exceeded maximum template depth ({MAX_DEPTH})", self.name));
        }
        self.depth += 1;
        let saved = std::mem::replace(&mut self.vars, vec![(String::new(), data.clone())]);
        let result = self.walk(body, &data);
        self.vars = saved;
        self.depth -= 1;
        result.map(|_| ())
    }

    /// Evaluates a pipeline and binds its variables (a range binds them per element).
    fn pipe(&mut self, pipe: &Pipe, dot: &Value) -> Result<Value, String> {
        let value = self.pipe_value(pipe, dot)?;
        if let [name] = pipe.variables.as_slice() {
            self.bind(name, value.clone(), pipe.assign);
        }
        Ok(value)
    }

    fn pipe_value(&mut self, pipe: &Pipe, dot: &Value) -> Result<Value, String> {
        let mut value = None;
        for command in &pipe.commands {
            value = Some(self.command(command, dot, value, pipe)?);
        }
        Ok(value.unwrap_or(Value::Nil))
    }

    fn bind(&mut self, name: &str, value: Value, assign: bool) {
        if assign {
            if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                slot.1 = value;
                return;
            }
        }
        self.vars.push((name.to_string(), value));
    }

    fn command(
        &mut self,
        command: &Command,
        dot: &Value,
        piped: Option<Value>,
        pipe: &Pipe,
    ) -> Result<Value, String> {
        let first = &command.args[0];
        if let Term::Function(name) = &first.term {
            if name == "and" || name == "or" {
                return self.and_or(name, &command.args[1..], dot, piped, pipe);
            }
            let mut args = Vec::with_capacity(command.args.len());
            for operand in &command.args[1..] {
                args.push(self.operand(operand, dot, pipe)?);
            }
            args.extend(piped);
            return call(name, args, self.env)
                .map_err(|e| self.error(pipe, &format!("error calling {name}: {e}")));
        }
        if command.args.len() > 1 || piped.is_some() {
            return Err(self.error(pipe, "can't give argument to non-function"));
        }
        self.operand(first, dot, pipe)
    }

    /// `and` gives its first false argument or its last; `or` its first true one or its last.
    fn and_or(
        &mut self,
        name: &str,
        operands: &[Operand],
        dot: &Value,
        piped: Option<Value>,
        pipe: &Pipe,
    ) -> Result<Value, String> {
        if operands.is_empty() && piped.is_none() {
            return Err(self.error(pipe, &format!("wrong number of args for {name}: want at least 1 got 0")));
        }
        let stop_when = name == "or";
        let mut last = Value::Nil;
        for operand in operands {
            last = self.operand(operand, dot, pipe)?;
            if last.truthy() == stop_when {
                return Ok(last);
            }
        }
        Ok(piped.unwrap_or(last))
    }

    fn operand(&mut self, operand: &Operand, dot: &Value, pipe: &Pipe) -> Result<Value, String> {
        let mut value = match &operand.term {
            Term::Dot => dot.clone(),
            Term::Variable(name) => {
                self.vars
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| self.error(pipe, &format!("undefined variable: ${name}")))?
            }
            Term::Function(name) => call(name, Vec::new(), self.env)
                .map_err(|e| self.error(pipe, &format!("error calling {name}: {e}")))?,
            Term::String(s) => Value::String(s.clone()),
            Term::Int(n) => Value::Int(*n),
            Term::Float(f) => Value::Float(*f),
            Term::Bool(b) => Value::Bool(*b),
            Term::Nil => return Err(self.error(pipe, "nil is not a command")),
            Term::Pipe(inner) => self.pipe_value(inner, dot)?,
        };
        for field in &operand.fields {
            value = self.field(&value, field, pipe)?;
        }
        Ok(value)
    }

    fn field(&self, value: &Value, name: &str, pipe: &Pipe) -> Result<Value, String> {
        match value {
            Value::Map { entries, missing } => {
                Ok(entries.get(name).cloned().unwrap_or_else(|| (**missing).clone()))
            }
            Value::Struct(fields) => fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| self.error(pipe, &format!("can't evaluate field {name} in type struct"))),
            Value::Nil => Err(self.error(pipe, &format!("nil pointer evaluating interface {{}}.{name}"))),
            other => {
                Err(self.error(pipe, &format!("can't evaluate field {name} in type {}", other.type_name())))
            }
        }
    }

    fn error(&self, pipe: &Pipe, message: &str) -> String {
        format!(
            "template: {}:{}:{}: executing {:?} at <{}>: {message}",
            self.name, pipe.at.line, pipe.at.column, self.name, pipe.text
        )
    }
}
