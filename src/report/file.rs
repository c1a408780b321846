//! A report file: opened before the scan starts (so a path that cannot be written is known at
//! once), written when the scan ends.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::{ReportFormat, ReportInput, write_report};

/// A report file opened (or created) and waiting for the final state.
#[derive(Debug)]
pub struct ReportFile {
    path: PathBuf,
    format: ReportFormat,
    file: File,
    /// Whether `create` made the file (so that [`ReportFile::discard`] removes it).
    created: bool,
}

impl ReportFile {
    /// Opens `path` for a report in `format`, or the format its extension names when none is
    /// given (see [`ReportFormat::from_path`]): created when missing, readable by its owner only
    /// (a report maps a network). An existing file is left as it is until [`ReportFile::write`]
    /// replaces its content, so a run refused after this (or one that fails) does not destroy
    /// it. The error names the path and says why.
    pub fn create(path: &Path, format: Option<ReportFormat>) -> Result<ReportFile, String> {
        // `create_new` first, to know whether the file is ours; then as it is (or, through a
        // dangling symlink, created after all).
        let open = |create_new: bool| {
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .create_new(create_new)
                .mode(0o600)
                .open(path)
        };
        let opened = match open(true) {
            Ok(file) => Ok((file, true)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => open(false).map(|f| (f, false)),
            Err(e) => Err(e),
        };
        let (file, created) =
            opened.map_err(|e| format!("cannot create the report file {}: {e}", path.display()))?;
        Ok(ReportFile {
            path: path.to_path_buf(),
            format: format.unwrap_or_else(|| ReportFormat::from_path(path)),
            file,
            created,
        })
    }

    /// Gives up on the report before anything was written (the run was refused): a file
    /// [`ReportFile::create`] made is removed; an existing one was never touched.
    pub fn discard(self) {
        if self.created {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn format(&self) -> ReportFormat {
        self.format
    }

    /// Writes the report and, for a regular file, makes sure it reached the disk. The error
    /// names the path.
    pub fn write(self, input: &ReportInput<'_>) -> Result<(), String> {
        let path = self.path.display().to_string();
        let failed = |e: io::Error| format!("cannot write the report to {path}: {e}");
        // An existing regular file is emptied only now. A device or a pipe (/dev/stdout,
        // /dev/null) can be neither emptied nor synced, and need not be.
        let regular = self.file.metadata().map_err(failed)?.is_file();
        if regular {
            self.file.set_len(0).map_err(failed)?;
        }
        let mut out = BufWriter::new(self.file);
        write_report(self.format, input, &mut out)
            .and_then(|_| out.into_inner().map_err(io::IntoInnerError::into_error))
            .and_then(|mut file| {
                file.flush()?;
                if regular { file.sync_data() } else { Ok(()) }
            })
            .map_err(failed)
    }
}
