//! A report file: created before the scan starts (so a path that cannot be written is known at
//! once), written when the scan ends.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::{ReportFormat, ReportInput, write_report};

/// A created report file waiting for the final state.
#[derive(Debug)]
pub struct ReportFile {
    path: PathBuf,
    format: ReportFormat,
    file: File,
}

impl ReportFile {
    /// Creates (or truncates) `path` for a report in `format`, or the format its extension names
    /// when none is given (see [`ReportFormat::from_path`]). A new file is readable by its owner
    /// only: a report maps a network. The error names the path and says why.
    pub fn create(path: &Path, format: Option<ReportFormat>) -> Result<ReportFile, String> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| format!("cannot create the report file {}: {e}", path.display()))?;
        Ok(ReportFile {
            path: path.to_path_buf(),
            format: format.unwrap_or_else(|| ReportFormat::from_path(path)),
            file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn format(&self) -> ReportFormat {
        self.format
    }

    /// Writes the report and makes sure it reached the disk. The error names the path.
    pub fn write(self, input: &ReportInput<'_>) -> Result<(), String> {
        let path = self.path.display().to_string();
        let mut out = BufWriter::new(self.file);
        let written = write_report(self.format, input, &mut out)
            .and_then(|_| out.into_inner().map_err(io::IntoInnerError::into_error))
            .and_then(|file| {
                let mut file = file;
                file.flush()?;
                file.sync_data()
            });
        written.map_err(|e| format!("cannot write the report to {path}: {e}"))
    }
}
