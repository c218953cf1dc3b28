//! `strata mem`: an interactive in-memory store (the seed's first demo).
//!
//! Reads commands from stdin, one per line, with or without a terminal (the `> ` prompt is
//! shown only on a terminal), and answers each on stdout: as text, or with `--json` as one
//! JSON object per command. The language is in `mem/command.rs`; the store is
//! `strata_storage::MemStore`.

mod command;

use std::io::{BufRead, IsTerminal, Write};
use std::time::Instant;

use serde_json::json;
use strata_storage::MemStore;

use self::command::{parse, Command, HELP};
use strata_model::format_float;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Answer each command with one JSON object per line.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<std::process::ExitCode> {
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    let mut out = std::io::stdout().lock();
    let mut store = MemStore::new();
    if interactive && !args.json {
        writeln!(out, "Strata in-memory store. Type HELP for commands, EXIT to leave.")?;
    }
    let mut lines = stdin.lock().lines();
    loop {
        if interactive {
            write!(out, "> ")?;
            out.flush()?;
        }
        let Some(line) = lines.next() else { break };
        let line = line?;
        let answer = match parse(&line) {
            Ok(Command::Exit) => break,
            Ok(command) => execute(&mut store, command, args.json),
            Err(message) if args.json => json!({ "error": message }).to_string(),
            Err(message) => format!("ERROR: {message}"),
        };
        if !answer.is_empty() {
            writeln!(out, "{answer}")?;
        }
        out.flush()?;
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// Runs one command and renders its answer.
fn execute(store: &mut MemStore, command: Command, json: bool) -> String {
    match command {
        Command::Empty => String::new(),
        Command::Insert { labels, t, v } => {
            store.insert(&labels, t, v);
            if json {
                json!({ "ok": true }).to_string()
            } else {
                "OK".into()
            }
        }
        Command::Query { matchers, from, to } => {
            let started = Instant::now();
            let points = store.query_merged(&matchers, from, to);
            let ms = started.elapsed().as_secs_f64() * 1e3;
            if json {
                let rows: Vec<_> = points.iter().map(|p| json!([p.t, format_float(p.v)])).collect();
                return json!({ "points": rows, "count": points.len(), "elapsed_ms": ms }).to_string();
            }
            let mut s: String =
                points.iter().map(|p| format!("[{}, {}]\n", p.t, format_float(p.v))).collect();
            s.push_str(&format!("{} points returned in {ms:.3}ms", points.len()));
            s
        }
        Command::Series { matchers } => {
            let ids = store.select(&matchers);
            let rows: Vec<(String, usize)> = ids
                .iter()
                .map(|&id| (store.labels(id).seed_key(), store.range(id, i64::MIN, i64::MAX).len()))
                .collect();
            if json {
                let rows: Vec<_> = rows.iter().map(|(k, n)| json!({ "series": k, "points": n })).collect();
                return json!({ "series": rows }).to_string();
            }
            let mut s: String = rows.iter().map(|(k, n)| format!("{k}  ({n} points)\n")).collect();
            s.push_str(&format!("{} series", rows.len()));
            s
        }
        Command::Stats => {
            let st = store.stats();
            if json {
                return json!({ "series": st.series, "points": st.samples, "approx_bytes": st.approx_bytes })
                    .to_string();
            }
            format!("{} series, {} points, ~{} bytes in memory", st.series, st.samples, st.approx_bytes)
        }
        Command::Help => {
            if json {
                json!({ "help": HELP }).to_string()
            } else {
                HELP.to_string()
            }
        }
        Command::Exit => String::new(),
    }
}
