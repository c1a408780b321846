//! Where target tokens come from: command-line arguments, target files (nmap `-iL`), stdin and
//! the exclude list (nmap `--exclude`). Errors say which argument, file line or list it was.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, Read};

use super::spec::{TargetSpec, parse_target};

/// The largest target file read (64 MiB): anything bigger is almost surely the wrong file.
pub const MAX_TARGET_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// How many characters of a token an error message shows before cutting it short.
const MAX_SHOWN_TOKEN_CHARS: usize = 100;

/// A target-parsing error that says where and what, shown as
/// "targets.txt:12: `10.0.0.300`: octet 300 is out of range 0-255", or without the token part
/// when the error is about the whole source ("targets.txt: no such file").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetError {
    /// Where the token came from: "argument 2", "targets.txt:12", "--exclude", or a file name.
    pub origin: String,
    /// The offending token as written; empty when the error concerns the whole source.
    pub token: String,
    /// What is wrong with it.
    pub message: String,
}

impl TargetError {
    fn new(
        origin: impl Into<String>,
        token: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        TargetError {
            origin: origin.into(),
            token: token.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.token.is_empty() {
            write!(f, "{}: {}", self.origin, self.message)
        } else {
            write!(
                f,
                "{}: `{}`: {}",
                self.origin,
                ShownToken(&self.token),
                self.message
            )
        }
    }
}

impl std::error::Error for TargetError {}

/// A token as shown in a message: control characters escaped, very long tokens shortened.
struct ShownToken<'a>(&'a str);

impl fmt::Display for ShownToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, c) in self.0.chars().enumerate() {
            if index == MAX_SHOWN_TOKEN_CHARS {
                return f.write_str("…");
            }
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// Parses one token, attaching `origin` to an error.
fn parse_token(token: &str, origin: impl FnOnce() -> String) -> Result<TargetSpec, TargetError> {
    parse_target(token).map_err(|message| TargetError::new(origin(), token, message))
}

/// Parses command-line target arguments. Each argument is normally one token; an argument
/// holding several whitespace-separated tokens (a quoted list) is accepted too. Errors name
/// the argument as "argument N" (1-based).
pub fn parse_target_args(tokens: &[String]) -> Result<Vec<TargetSpec>, TargetError> {
    let mut specs = Vec::with_capacity(tokens.len());
    for (index, argument) in tokens.iter().enumerate() {
        let origin = || format!("argument {}", index + 1);
        let before = specs.len();
        for token in argument.split_whitespace() {
            specs.push(parse_token(token, origin)?);
        }
        if specs.len() == before {
            return Err(TargetError::new(origin(), "", "empty target"));
        }
    }
    Ok(specs)
}

/// Parses the text of a target list: whitespace-separated tokens, any number per line, with
/// `#` starting a comment that runs to the end of the line. Errors are placed as "NAME:LINE".
pub fn parse_target_text(text: &str, origin: &str) -> Result<Vec<TargetSpec>, TargetError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut specs = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let content = line.split('#').next().unwrap_or_default();
        for token in content.split_whitespace() {
            specs.push(parse_token(token, || format!("{origin}:{}", index + 1))?);
        }
    }
    Ok(specs)
}

/// Reads and parses a target file; `-` reads standard input. A missing, unreadable, binary or
/// oversized file, or a directory, is an error naming the file.
pub fn read_target_file(path: &str) -> Result<Vec<TargetSpec>, TargetError> {
    let (origin, bytes) = if path == "-" {
        ("<stdin>", read_limited(io::stdin().lock()))
    } else {
        (path, read_file(path))
    };
    let text = bytes
        .and_then(decode_text)
        .map_err(|message| TargetError::new(origin, "", message))?;
    parse_target_text(&text, origin)
}

/// Reads a whole file, refusing directories and files above the size limit.
fn read_file(path: &str) -> Result<Vec<u8>, String> {
    let cannot_read =
        |error: io::Error| format!("cannot read target file: {}", describe_io(&error));
    let metadata = std::fs::metadata(path).map_err(cannot_read)?;
    if metadata.is_dir() {
        return Err("is a directory, not a target file".to_string());
    }
    if metadata.len() > MAX_TARGET_FILE_BYTES {
        return Err(too_large(metadata.len()));
    }
    read_limited(File::open(path).map_err(cannot_read)?)
}

/// Reads everything from `reader`, failing once it passes the size limit (this also stops
/// endless sources such as devices and growing pipes), or at once when its first bytes are
/// binary (a NUL byte: `/dev/zero` is refused without reading 64 MiB of it).
fn read_limited(reader: impl Read) -> Result<Vec<u8>, String> {
    let cannot_read =
        |error: io::Error| format!("cannot read target file: {}", describe_io(&error));
    let mut reader = io::BufReader::with_capacity(64 * 1024, reader);
    if let Some(offset) = reader
        .fill_buf()
        .map_err(cannot_read)?
        .iter()
        .position(|b| *b == 0)
    {
        return Err(binary_file(offset));
    }
    let mut bytes = Vec::new();
    reader
        .take(MAX_TARGET_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot_read)?;
    let read = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if read > MAX_TARGET_FILE_BYTES {
        return Err(too_large(read));
    }
    Ok(bytes)
}

/// The message for a file above the size limit.
fn too_large(bytes: u64) -> String {
    format!(
        "target file is too large ({} bytes or more; the limit is {} MiB)",
        bytes,
        MAX_TARGET_FILE_BYTES / (1024 * 1024)
    )
}

/// The message for a file with a NUL byte at `offset`.
fn binary_file(offset: usize) -> String {
    format!("looks like a binary file, not a list of targets (NUL byte at offset {offset})")
}

/// Checks that the bytes are text: no NUL bytes, valid UTF-8.
fn decode_text(bytes: Vec<u8>) -> Result<String, String> {
    if let Some(offset) = bytes.iter().position(|byte| *byte == 0) {
        return Err(binary_file(offset));
    }
    String::from_utf8(bytes).map_err(|error| {
        format!(
            "looks like a binary file, not a list of targets (invalid UTF-8 at offset {})",
            error.utf8_error().valid_up_to()
        )
    })
}

/// A short description of an I/O error, without the OS error number.
fn describe_io(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::NotFound => "no such file".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        io::ErrorKind::IsADirectory => "is a directory".to_string(),
        _ => error.to_string(),
    }
}

/// Parses an exclude list as nmap's `--exclude` does: targets separated by commas (and
/// whitespace). Octet lists with commas cannot be written here, as in nmap; use ranges, CIDR or
/// an exclude file. An empty entry between commas is an error; an entirely blank list excludes
/// nothing.
pub fn parse_exclude_list(s: &str) -> Result<Vec<TargetSpec>, TargetError> {
    const ORIGIN: &str = "--exclude";
    if s.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut specs = Vec::new();
    for entry in s.split(',') {
        let before = specs.len();
        for token in entry.split_whitespace() {
            specs.push(parse_token(token, || ORIGIN.to_string())?);
        }
        if specs.len() == before {
            return Err(TargetError::new(
                ORIGIN,
                s.trim(),
                "empty entry in the list (a comma at the start or end, or two in a row)",
            ));
        }
    }
    Ok(specs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::IpAddr;

    fn addr(text: &str) -> TargetSpec {
        TargetSpec::Address(text.parse::<IpAddr>().unwrap())
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn display_names_origin_token_and_problem() {
        let error = TargetError::new(
            "targets.txt:12",
            "10.0.0.300",
            "octet 300 is out of range 0-255",
        );
        assert_eq!(
            error.to_string(),
            "targets.txt:12: `10.0.0.300`: octet 300 is out of range 0-255"
        );
        let whole = TargetError::new("targets.txt", "", "cannot read target file: no such file");
        assert_eq!(
            whole.to_string(),
            "targets.txt: cannot read target file: no such file"
        );
    }

    #[test]
    fn display_escapes_and_shortens_tokens() {
        let error = TargetError::new("argument 1", "a\u{1b}[2J", "bad");
        assert_eq!(error.to_string(), "argument 1: `a\\u{1b}[2J`: bad");
        let long = TargetError::new("argument 1", "x".repeat(500), "bad");
        assert!(long.to_string().len() < 150);
        assert!(long.to_string().contains('…'));
    }

    #[test]
    fn arguments() {
        let specs = parse_target_args(&strings(&["10.0.0.1", "::1", "10.0.0.2 10.0.0.3"])).unwrap();
        assert_eq!(
            specs,
            vec![
                addr("10.0.0.1"),
                addr("::1"),
                addr("10.0.0.2"),
                addr("10.0.0.3")
            ]
        );
        assert_eq!(parse_target_args(&[]), Ok(vec![]));
    }

    #[test]
    fn argument_errors_name_the_argument() {
        let error = parse_target_args(&strings(&["10.0.0.1", "10.0.0.0/33"])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "argument 2: `10.0.0.0/33`: prefix /33 is longer than 32 bits for IPv4"
        );
        let empty = parse_target_args(&strings(&["10.0.0.1", " "])).unwrap_err();
        assert_eq!(empty.to_string(), "argument 2: empty target");
    }

    #[test]
    fn text_with_comments_and_several_tokens_per_line() {
        let text =
            "\u{feff}# office\n10.0.0.1 10.0.0.2\t10.0.0.3  # first three\r\n\n   \n::1#no space\n";
        let specs = parse_target_text(text, "list").unwrap();
        assert_eq!(
            specs,
            vec![
                addr("10.0.0.1"),
                addr("10.0.0.2"),
                addr("10.0.0.3"),
                addr("::1")
            ]
        );
        assert_eq!(parse_target_text("", "list"), Ok(vec![]));
    }

    #[test]
    fn text_errors_name_the_line() {
        let error = parse_target_text("10.0.0.1\n# c\n10.0.0.2 10.0.0.300\n", "t.txt").unwrap_err();
        assert_eq!(error.origin, "t.txt:3");
        assert_eq!(error.token, "10.0.0.300");
        assert_eq!(
            error.to_string(),
            "t.txt:3: `10.0.0.300`: octet 300 is out of range 0-255"
        );
    }

    #[test]
    fn exclude_list() {
        assert_eq!(
            parse_exclude_list("10.0.0.1,10.0.0.0/30, ::1 10.0.0.5-9"),
            Ok(vec![
                addr("10.0.0.1"),
                parse_target("10.0.0.0/30").unwrap(),
                addr("::1"),
                parse_target("10.0.0.5-9").unwrap(),
            ])
        );
        assert_eq!(parse_exclude_list(""), Ok(vec![]));
        assert_eq!(parse_exclude_list("  "), Ok(vec![]));
    }

    #[test]
    fn exclude_list_errors() {
        let bad = parse_exclude_list("10.0.0.1,10.0.0.300").unwrap_err();
        assert_eq!(
            bad.to_string(),
            "--exclude: `10.0.0.300`: octet 300 is out of range 0-255"
        );
        for list in [
            "10.0.0.1,,10.0.0.2",
            "10.0.0.1,",
            ",10.0.0.1",
            "10.0.0.1, ,10.0.0.2",
        ] {
            let error = parse_exclude_list(list).unwrap_err();
            assert_eq!(error.origin, "--exclude");
            assert!(error.message.contains("empty entry"), "{list}: {error}");
        }
    }

    fn temp_file(contents: &[u8]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(contents).unwrap();
        file.flush().unwrap();
        file
    }

    #[test]
    fn read_file_with_comments_blank_lines_and_several_tokens() {
        let file = temp_file(
            b"# targets for the re-test\n\n10.0.0.1 10.0.0.2  # web\n\n   192.168.1-2.1\tlocalhost\n2001:db8::/126\n",
        );
        let path = file.path().to_str().unwrap();
        let specs = read_target_file(path).unwrap();
        assert_eq!(specs.len(), 5);
        assert_eq!(specs[0], addr("10.0.0.1"));
        assert_eq!(specs[2], parse_target("192.168.1-2.1").unwrap());
        assert_eq!(
            specs[3],
            TargetSpec::Hostname {
                name: "localhost".to_string(),
                prefix: None
            }
        );
    }

    #[test]
    fn read_file_errors_name_file_and_line() {
        let file = temp_file(b"10.0.0.1\n\n# comment\n10.0.0.2 10.0.0.5-2\n");
        let path = file.path().to_str().unwrap();
        let error = read_target_file(path).unwrap_err();
        assert_eq!(error.origin, format!("{path}:4"));
        assert_eq!(error.token, "10.0.0.5-2");
        assert!(error.message.contains("range 5-2 is reversed"));
    }

    #[test]
    fn missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.txt");
        let path = path.to_str().unwrap();
        let error = read_target_file(path).unwrap_err();
        assert_eq!(error.origin, path);
        assert_eq!(
            error.to_string(),
            format!("{path}: cannot read target file: no such file")
        );
    }

    #[test]
    fn directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_str().unwrap();
        let error = read_target_file(path).unwrap_err();
        assert_eq!(error.origin, path);
        assert!(error.message.contains("directory"), "{error}");
    }

    #[test]
    fn binary_files_are_refused() {
        let nul = temp_file(b"10.0.0.1\n\x00\x01\x02ELF");
        let error = read_target_file(nul.path().to_str().unwrap()).unwrap_err();
        assert!(error.message.contains("binary"), "{error}");
        assert!(error.message.contains("offset 9"), "{error}");
        assert_eq!(error.origin, nul.path().to_str().unwrap());

        let latin1 = temp_file(b"10.0.0.1 # caf\xe9\n");
        let error = read_target_file(latin1.path().to_str().unwrap()).unwrap_err();
        assert!(error.message.contains("invalid UTF-8"), "{error}");
    }

    #[test]
    fn oversized_input_is_refused() {
        let endless = io::repeat(b' ');
        let message = read_limited(endless).unwrap_err();
        assert!(message.contains("too large"), "{message}");
        assert!(message.contains("64 MiB"), "{message}");
        // An endless binary source is refused from its first bytes.
        let message = read_limited(io::repeat(0)).unwrap_err();
        assert!(message.contains("NUL byte at offset 0"), "{message}");
    }
}
