//! Go `text/template` for rule labels and annotations, with Prometheus' data and functions.
//!
//! Written here rather than taken from a crate (measured choice, see docs/rules.md): the one
//! maintained Rust port (`gotmpl` 0.6) prints `{{ $value }}` of 1234567 as `1234567` where Go
//! prints `1.234567e+06`, and a missing label as `<no value>` where Prometheus prints `""`;
//! both are on the path every annotation takes. This interpreter covers what rule files use:
//! pipelines, variables (`:=` and `=`), `if`/`else if`/`with`/`range` (with `break` and
//! `continue`), `define`/`template`/`block`, trim markers and comments, Go's builtins and
//! Prometheus' functions, with Go's number printing (`strata_model::gofmt`).
//!
//! As Prometheus does, every template is preceded by
//! `{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}`,
//! so those variables exist; a variable or function that does not exist is an error when
//! the template is parsed, i.e. when the rule file is loaded.

mod ast;
mod exec;
mod funcs;
mod lex;
mod parse;
mod printf;
mod value;

use std::collections::BTreeMap;

pub use funcs::{query_escape, Env, QueryFn, QuerySample, FUNCTIONS};
pub use value::Value;

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    parsed: parse::Parsed,
}

/// What a rule's templates are expanded with.
#[derive(Debug, Clone, Default)]
pub struct TemplateData {
    /// The alert's sample's labels (`$labels`, `.Labels`), `__name__` included if it has one.
    pub labels: BTreeMap<String, String>,
    /// The server's external labels (`$externalLabels`).
    pub external_labels: BTreeMap<String, String>,
    /// The server's external URL (`$externalURL`).
    pub external_url: String,
    /// The sample's value (`$value`, `.Value`).
    pub value: f64,
}

const PRESET_VARIABLES: [&str; 4] = ["labels", "externalLabels", "externalURL", "value"];

impl Template {
    /// Parses `text`; `name` appears in error messages (Prometheus uses `__alert_<name>`).
    pub fn parse(name: &str, text: &str) -> Result<Template, String> {
        let known = |f: &str| FUNCTIONS.contains(&f);
        let parsed =
            parse::parse(text, &known, &PRESET_VARIABLES).map_err(|e| format!("template: {name}:{e}"))?;
        Ok(Template { name: name.to_string(), parsed })
    }

    /// Whether the text has no action at all (expanding it gives it back unchanged).
    pub fn is_plain(text: &str) -> bool {
        !text.contains("{{")
    }

    /// Expands the template over `data`.
    pub fn expand(&self, data: &TemplateData, env: &Env<'_>) -> Result<String, String> {
        let map =
            |m: &BTreeMap<String, String>| Value::labels(m.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let variables = vec![
            ("labels".to_string(), map(&data.labels)),
            ("externalLabels".to_string(), map(&data.external_labels)),
            ("externalURL".to_string(), Value::String(data.external_url.clone())),
            ("value".to_string(), Value::Float(data.value)),
        ];
        let dot = Value::Struct(variables.iter().map(|(k, v)| (capitalize(k), v.clone())).collect());
        let mut exec = exec::Exec::new(&self.name, &self.parsed, env, variables);
        exec.run(&dot)?;
        Ok(exec.out)
    }
}

fn capitalize(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

#[cfg(test)]
mod tests;
