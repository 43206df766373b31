//! What the commands print: the API's JSON as it came (`--output json`), or for people,
//! aligned tables for lists and `field: value` blocks for single objects.

use std::io::{ErrorKind, Write};

use serde_json::Value;

/// `--output`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Tables and `field: value` blocks.
    #[default]
    Text,
    /// The API's JSON, pretty-printed.
    Json,
}

/// Writes to standard output. A reader that went away (`cairn keys list | head`) ends the
/// command quietly, as for any Unix tool.
pub fn emit_bytes(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(anyhow::Error::new(e).context("cannot write to standard output")),
    }
}

/// Columns padded to their widest cell, two spaces apart, no trailing blanks.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (i, cell) in cells.enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            out.push_str(cell);
            let pad = widths[i].saturating_sub(cell.chars().count());
            out.extend(std::iter::repeat_n(' ', pad));
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    };
    let mut out = line(&mut headers.iter().copied());
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

/// `field: value` lines with the values aligned; empty values are left out.
pub fn block(fields: &[(&str, String)]) -> String {
    let width = fields
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, _)| k.chars().count() + 1)
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (name, value) in fields.iter().filter(|(_, v)| !v.is_empty()) {
        let label = format!("{name}:");
        out.push_str(&format!("{label:<width$}  {value}\n"));
    }
    out
}

/// A field of a JSON object as display text: strings as they are, numbers and booleans
/// printed, arrays joined with commas, absent as empty.
pub fn text(value: &Value, field: &str) -> String {
    display(value.get(field).unwrap_or(&Value::Null))
}

pub fn display(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(display).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_blocks_skip_empty_fields() {
        let t = table(
            &["ID", "NAME"],
            &[
                vec!["1".into(), "a".into()],
                vec!["22222".into(), "bé".into()],
            ],
        );
        assert_eq!(t, "ID     NAME\n1      a\n22222  bé\n");
        let b = block(&[
            ("id", "1".into()),
            ("context", String::new()),
            ("operations", "x".into()),
        ]);
        assert_eq!(b, "id:          1\noperations:  x\n");
    }
}
