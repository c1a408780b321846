//! Config error messages. TOML and serde errors carry a byte span; this module turns the span
//! into `file:line`, finds which `[section] key` it falls in, and says what the key allows.

use std::ops::Range;
use std::path::Path;

use toml::de::{DeTable, DeValue};

use super::{Config, InvalidValue};
use crate::error::Failure;

/// Longest value excerpt quoted in a message.
const EXCERPT_CHARS: usize = 40;

/// The config text and the file it came from.
#[derive(Clone, Copy)]
pub(super) struct Source<'a> {
    text: &'a str,
    origin: &'a Path,
}

/// One key of the parsed document: its path from the root and where its key and value are.
struct Entry<'a> {
    path: Vec<String>,
    key_span: Range<usize>,
    value_span: Range<usize>,
    value: &'a DeValue<'a>,
}

/// The config text together with its parsed document, so spans can be mapped to keys.
pub(super) struct Located<'a> {
    source: Source<'a>,
    entries: Vec<Entry<'a>>,
}

impl<'a> Source<'a> {
    pub(super) fn new(text: &'a str, origin: &'a Path) -> Self {
        Source { text, origin }
    }

    /// Pairs the text with its parsed document.
    pub(super) fn with_root(self, root: &'a DeTable<'a>) -> Located<'a> {
        let mut entries = Vec::new();
        collect_entries(root, &[], &mut entries);
        Located {
            source: self,
            entries,
        }
    }

    /// A TOML syntax error, as `file:line:column: invalid TOML …`, naming the key when the
    /// parser's best-effort reading of the file shows which one it is in.
    pub(super) fn syntax_error(self, err: &toml::de::Error) -> Failure {
        let (recovered, _) = DeTable::parse_recoverable(self.text);
        let located = self.with_root(recovered.get_ref());
        let span = err.span();
        let message = err.message().trim();
        let at = self.at_line_column(span.clone());
        if message == "duplicate key"
            && let Some(span) = span.clone()
            && let Some(text) = located.duplicate_key(span)
        {
            return Failure::usage(format!("{at}: invalid TOML: {text}"));
        }
        let path = span.map(|s| located.path_at(s.start)).unwrap_or_default();
        if path.is_empty() {
            Failure::usage(format!("{at}: invalid TOML: {message}"))
        } else {
            let label = located.label(&path);
            Failure::usage(format!("{at}: invalid TOML in {label}: {message}"))
        }
    }

    /// `file:line`, or just `file` without a span.
    fn at_line(self, span: Option<Range<usize>>) -> String {
        match span {
            Some(span) => format!(
                "{}:{}",
                self.origin.display(),
                self.line_column(span.start).0
            ),
            None => self.origin.display().to_string(),
        }
    }

    /// `file:line:column`, or just `file` without a span.
    fn at_line_column(self, span: Option<Range<usize>>) -> String {
        match span {
            Some(span) => {
                let (line, column) = self.line_column(span.start);
                format!("{}:{line}:{column}", self.origin.display())
            }
            None => self.origin.display().to_string(),
        }
    }

    /// 1-based line and column (in characters) of byte `offset`.
    fn line_column(self, offset: usize) -> (usize, usize) {
        let before = &self.text[..floor_char_boundary(self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |nl| nl + 1);
        (line, before[line_start..].chars().count() + 1)
    }

    /// The text at `span` as it appears in the file, shortened to one line.
    fn excerpt(self, span: Range<usize>) -> String {
        let start = floor_char_boundary(self.text, span.start);
        let end = floor_char_boundary(self.text, span.end).max(start);
        let text = self.text[start..end].trim();
        let first_line = text.lines().next().unwrap_or("");
        if first_line.len() < text.len() || first_line.chars().count() > EXCERPT_CHARS {
            let short: String = first_line.chars().take(EXCERPT_CHARS).collect();
            format!("{short}…")
        } else {
            text.to_string()
        }
    }
}

/// The 1-based line of `key` in `[section]` of `text`, when the key is there.
pub(super) fn key_line(text: &str, section: &str, key: &str) -> Option<usize> {
    let root = DeTable::parse(text).ok()?;
    let source = Source::new(text, Path::new(""));
    let located = source.with_root(root.get_ref());
    let entry = located.entry(&[section.to_string(), key.to_string()])?;
    Some(source.line_column(entry.key_span.start).0)
}

impl Located<'_> {
    /// A value that failed to deserialise: unknown key or section, wrong type, out of range for
    /// its type, or rejected by its parser (durations).
    pub(super) fn value_error(&self, err: &toml::de::Error) -> Failure {
        let span = err.span();
        let at = self.source.at_line(span.clone());
        let path = span.map(|s| self.path_at(s.start)).unwrap_or_default();
        let message = err.message().trim();
        let text = if let Some(rest) = message.strip_prefix("unknown field `") {
            self.unknown_key(&path, rest)
        } else if let Some(text) = self.not_a_section(&path) {
            text
        } else if let Some(rest) = message.strip_prefix("invalid type: ") {
            self.wrong_type(&path, rest)
        } else if message.starts_with("invalid value: ") {
            self.out_of_range_text(&path)
        } else if path.is_empty() {
            message.to_string()
        } else {
            format!("{}: {message}", self.assignment(&path))
        };
        Failure::usage(format!("{at}: {text}"))
    }

    /// A value that deserialised but that its key does not allow.
    pub(super) fn invalid_value(&self, err: &InvalidValue) -> Failure {
        let path_of = |key: &str| [err.section.to_string(), key.to_string()];
        let start = |path: &[String]| self.entry(path).map(|e| e.key_span.start);
        let mut path = path_of(err.key);
        if let Some(other) = err.other_key.map(path_of)
            && start(&other) > start(&path)
        {
            path = other;
        }
        let span = self.entry(&path).map(|e| e.key_span.clone());
        let at = self.source.at_line(span);
        let text = match &err.reason {
            Some(reason) => format!("{}: {reason}", self.assignment(&path)),
            None => self.out_of_range_text(&path),
        };
        Failure::usage(format!("{at}: {text}"))
    }

    /// The deepest key whose key or value contains byte `offset`; empty when none does.
    fn path_at(&self, offset: usize) -> Vec<String> {
        self.entries
            .iter()
            .filter(|e| contains(&e.key_span, offset) || contains(&e.value_span, offset))
            .max_by_key(|e| e.path.len())
            .map(|e| e.path.clone())
            .unwrap_or_default()
    }

    /// The entry at exactly `path`.
    fn entry(&self, path: &[String]) -> Option<&Entry<'_>> {
        self.entries.iter().find(|e| e.path == path)
    }

    /// `[scan] concurrency = 0`: the key and its value as written.
    fn assignment(&self, path: &[String]) -> String {
        let label = self.label(path);
        match self.entry(path) {
            Some(e) if path.len() > 1 => {
                format!("{label} = {}", self.source.excerpt(e.value_span.clone()))
            }
            _ => label,
        }
    }

    /// `[scan] concurrency = 0 is out of range; allowed 1 to 100000`.
    fn out_of_range_text(&self, path: &[String]) -> String {
        let mut text = format!("{} is out of range", self.assignment(path));
        if let Some(allowed) = allowed(path) {
            text.push_str(&format!("; allowed {allowed}"));
        }
        text
    }

    /// serde's "unknown field `x`, expected one of `a`, `b`" (given from after the first
    /// backtick) as an unknown key in its section, an unknown section, or a key outside any
    /// section.
    fn unknown_key(&self, path: &[String], rest: &str) -> String {
        let (name, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let known = backticked(expected);
        let near = closest(name, &known);
        let suggestion = near.map_or(String::new(), |k| format!(" (did you mean `{k}`?)"));
        match path {
            [] => format!(
                "unknown key `{name}`; allowed keys: {}{suggestion}",
                known.join(", ")
            ),
            [_] if self
                .entry(path)
                .is_some_and(|e| matches!(e.value, DeValue::Table(_))) =>
            {
                let sections: Vec<String> = known.iter().map(|s| format!("[{s}]")).collect();
                let suggestion = near.map_or(String::new(), |s| format!(" (did you mean [{s}]?)"));
                format!(
                    "unknown section [{name}]; allowed sections: {}{suggestion}",
                    sections.join(", ")
                )
            }
            [_] => match known.iter().find(|s| Config::allowed(s, name).is_some()) {
                Some(section) => {
                    format!("key `{name}` is outside any section; move it under [{section}]")
                }
                None => {
                    let sections: Vec<String> = known.iter().map(|s| format!("[{s}]")).collect();
                    format!(
                        "unknown key `{name}` outside any section; allowed sections: {}",
                        sections.join(", ")
                    )
                }
            },
            [outer @ .., _] => format!(
                "unknown key `{name}` in [{}]; allowed keys: {}{suggestion}",
                outer.join("."),
                known.join(", ")
            ),
        }
    }

    /// A section given as something other than a table (`scan = 5`, `[[scan]]`).
    fn not_a_section(&self, path: &[String]) -> Option<String> {
        let [section] = path else { return None };
        let entry = self.entry(path)?;
        if matches!(entry.value, DeValue::Table(_)) {
            return None;
        }
        Some(format!(
            "[{section}] must be a section (a table written as a [{section}] header), not {}",
            with_article(entry.value.type_str())
        ))
    }

    /// serde's "invalid type: string \"lots\", expected u32" (given from after the colon) as
    /// `[scan] concurrency = "lots" is a string, not a whole number; allowed 1 to 100000`.
    fn wrong_type(&self, path: &[String], rest: &str) -> String {
        let expected = rest.rsplit_once(", expected ").map_or("", |(_, e)| e);
        let found = match self.entry(path) {
            Some(e) => with_article(e.value.type_str()).to_string(),
            None => rest
                .split_once(", expected ")
                .map_or(rest, |(f, _)| f)
                .to_string(),
        };
        let mut text = format!(
            "{} is {found}, not {}",
            self.assignment(path),
            describe_expected(expected)
        );
        if let Some(allowed) = allowed(path) {
            text.push_str(&format!("; allowed {allowed}"));
        }
        text
    }

    /// `duplicate key [scan] retries; it is already set on line 3` for a duplicate whose key
    /// text starts at `span`, or `section [scan] appears twice` for a repeated header.
    fn duplicate_key(&self, span: Range<usize>) -> Option<String> {
        let name = self.source.excerpt(span.clone());
        let name = name.trim_matches(|c| c == '"' || c == '\'');
        let named = |e: &&Entry<'_>| e.path.last().is_some_and(|k| k == name);
        let earlier = self
            .entries
            .iter()
            .filter(named)
            .filter(|e| e.key_span.start < span.start)
            .max_by_key(|e| e.key_span.start);
        if let Some(first) = earlier {
            let line = self.source.line_column(first.key_span.start).0;
            return Some(format!(
                "duplicate key {}; it is already set on line {line}",
                self.label(&first.path)
            ));
        }
        // A repeated `[section]` header: the recovered document keeps only the second one.
        let header = self
            .entries
            .iter()
            .filter(named)
            .find(|e| e.key_span == span && matches!(e.value, DeValue::Table(_)))?;
        Some(format!(
            "section {} appears twice; write each section once",
            self.label(&header.path)
        ))
    }

    /// `[scan] concurrency` for a key in a section, `[scan]` for a section, `` `name` `` for a
    /// key outside any section.
    fn label(&self, path: &[String]) -> String {
        match (path, self.entry(path)) {
            ([name], Some(e)) if !matches!(e.value, DeValue::Table(_)) => format!("`{name}`"),
            _ => key_label(path),
        }
    }
}

/// Every key in `table` and the tables below it (including tables inside arrays), depth first.
fn collect_entries<'a>(table: &'a DeTable<'a>, prefix: &[String], out: &mut Vec<Entry<'a>>) {
    for (key, value) in table.iter() {
        let mut path = prefix.to_vec();
        path.push(key.get_ref().to_string());
        out.push(Entry {
            path: path.clone(),
            key_span: key.span(),
            value_span: value.span(),
            value: value.get_ref(),
        });
        collect_value(value.get_ref(), &path, out);
    }
}

/// The keys inside `value` when it is a table or an array holding tables.
fn collect_value<'a>(value: &'a DeValue<'a>, path: &[String], out: &mut Vec<Entry<'a>>) {
    match value {
        DeValue::Table(table) => collect_entries(table, path, out),
        DeValue::Array(items) => {
            for item in items {
                collect_value(item.get_ref(), path, out);
            }
        }
        _ => {}
    }
}

/// What the key at `path` (`[section, key]`) allows, if it is a known key.
fn allowed(path: &[String]) -> Option<String> {
    match path {
        [section, key] => Config::allowed(section, key),
        _ => None,
    }
}

/// `[scan] concurrency` for `["scan", "concurrency"]`, `[scan]` for `["scan"]`.
fn key_label(path: &[String]) -> String {
    match path {
        [] => String::new(),
        [section] => format!("[{section}]"),
        [section, rest @ ..] => format!("[{section}] {}", rest.join(".")),
    }
}

/// Whether byte `offset` falls in `span`; an empty span (end of file) holds its start.
fn contains(span: &Range<usize>, offset: usize) -> bool {
    span.start <= offset && offset < span.end.max(span.start + 1)
}

/// The largest char boundary of `text` at or before `offset`.
fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut at = offset.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The names between backticks in serde's list of expected fields.
fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The allowed name closest to `name`, when it is a near miss (a typo, not another word).
fn closest<'k, K: AsRef<str>>(name: &str, known: &'k [K]) -> Option<&'k str> {
    let limit = (name.chars().count() / 3).max(1);
    known
        .iter()
        .map(|k| (edit_distance(name, k.as_ref()), k.as_ref()))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// [`closest`] for names that outlive the list they are given in.
pub(crate) fn closest_name<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    let near = closest(name, known)?;
    known.iter().copied().find(|k| *k == near)
}

/// Edit distance between `a` and `b` in characters, counting an insertion, a deletion, a
/// substitution or a swap of two neighbours as one edit (optimal string alignment).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // d[i][j]: distance between the first i chars of a and the first j chars of b.
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// serde's expected type (`u32`, `f64`, `a string`, `struct ScanDefaults`) in the user's terms.
fn describe_expected(expected: &str) -> &str {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64" | "usize" | "isize" => {
            "a whole number"
        }
        "f32" | "f64" => "a number",
        "a string" => "a string in quotes",
        "a boolean" | "bool" => "true or false",
        e if e.starts_with("struct ") || e == "a map" => "a table",
        e => e,
    }
}

/// A TOML type name with its article: `a string`, `an integer`.
fn with_article(type_name: &str) -> String {
    match type_name.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {type_name}"),
        _ => format!("a {type_name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_a_swap_as_one_edit() {
        assert_eq!(edit_distance("concurrency", "concurrency"), 0);
        assert_eq!(edit_distance("concurency", "concurrency"), 1);
        assert_eq!(edit_distance("sacn", "scan"), 1);
        assert_eq!(edit_distance("retires", "retries"), 1);
        assert_eq!(edit_distance("", "seed"), 4);
        assert_eq!(edit_distance("deep", "seed"), 2);
        assert_eq!(edit_distance("tïmeout", "timeout"), 1);
    }

    #[test]
    fn closest_suggests_only_near_misses() {
        let known: Vec<String> = ["ports", "top_ports", "timeout", "seed"]
            .map(String::from)
            .to_vec();
        assert_eq!(closest("top_port", &known), Some("top_ports"));
        assert_eq!(closest("timout", &known), Some("timeout"));
        assert_eq!(closest("deep", &known), None);
        assert_eq!(closest("x", &known), None);
        assert_eq!(closest::<String>("ports", &[]), None);
        assert_eq!(closest("cyna", &["cyan", "green"]), Some("cyan"));
    }

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let source = Source::new("ab\nçd\n\nx", Path::new("c.toml"));
        assert_eq!(source.line_column(0), (1, 1));
        assert_eq!(source.line_column(2), (1, 3));
        assert_eq!(source.line_column(3), (2, 1));
        assert_eq!(source.line_column(5), (2, 2), "after the two-byte ç");
        assert_eq!(source.line_column(4), (2, 1), "inside ç: its start");
        assert_eq!(source.line_column(8), (4, 1));
        assert_eq!(source.line_column(100), (4, 2), "past the end: the end");
        assert_eq!(source.at_line(Some(3..4)), "c.toml:2");
        assert_eq!(source.at_line_column(Some(5..6)), "c.toml:2:2");
        assert_eq!(source.at_line(None), "c.toml");
    }

    #[test]
    fn key_labels_read_like_the_file() {
        let path = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            key_label(&path(&["scan", "concurrency"])),
            "[scan] concurrency"
        );
        assert_eq!(key_label(&path(&["scan"])), "[scan]");
        assert_eq!(key_label(&path(&["keys", "pane", "up"])), "[keys] pane.up");
        assert_eq!(key_label(&[]), "");
    }

    #[test]
    fn serde_type_names_become_words() {
        assert_eq!(describe_expected("u32"), "a whole number");
        assert_eq!(describe_expected("f64"), "a number");
        assert_eq!(describe_expected("a string"), "a string in quotes");
        assert_eq!(describe_expected("struct ScanDefaults"), "a table");
        assert_eq!(describe_expected("something else"), "something else");
        assert_eq!(with_article("integer"), "an integer");
        assert_eq!(with_article("string"), "a string");
    }

    #[test]
    fn backticked_names_are_read_from_serde_lists() {
        assert_eq!(
            backticked(", expected one of `a`, `b_c`, `d`"),
            ["a", "b_c", "d"]
        );
        assert_eq!(backticked(", expected `scan`"), ["scan"]);
        assert_eq!(backticked(", there are no fields"), Vec::<String>::new());
    }
}
