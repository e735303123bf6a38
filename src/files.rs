//! Writing output files atomically: to a temporary file in the same directory, then renamed
//! over the target, so an interrupted run leaves either the old file or the new one, never a
//! truncated one.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder};
use burn::tensor::backend::Backend;

/// Writing a file failed.
#[derive(Debug, thiserror::Error)]
#[error("writing {path}: {source}")]
pub struct WriteError {
    /// The file being written.
    pub path: String,
    /// What went wrong.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// The temporary file `write_atomically` uses for `path`: `.NAME.tmp` beside it.
pub fn temporary_path(path: &Path) -> PathBuf {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    dir.join(format!(".{name}.tmp"))
}

/// Runs `write` on a temporary path beside `path` and renames the result over `path`.
/// `write` must create exactly the file it is given.
///
/// # Errors
/// [`WriteError`] naming `path`, from `write` or from the rename.
pub fn write_atomically<E>(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), WriteError>
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let error = |source| WriteError {
        path: path.display().to_string(),
        source,
    };
    let temporary = temporary_path(path);
    if let Err(e) = write(&temporary) {
        let _ = std::fs::remove_file(&temporary);
        return Err(error(e.into()));
    }
    std::fs::rename(&temporary, path).map_err(|e| error(Box::new(e)))
}

/// Saves `module`'s record to `path` (a `.mpk` file in Burn's named MessagePack format, full
/// precision) atomically. Burn's recorder picks the extension itself, so its file is written
/// as `.NAME.mpk` beside `path` and then renamed.
///
/// # Errors
/// [`WriteError`] naming `path`.
pub fn save_module_atomically<B: Backend, M: Module<B>>(
    module: &M,
    path: &Path,
) -> Result<(), WriteError> {
    let recorder = NamedMpkFileRecorder::<FullPrecisionSettings>::new();
    write_atomically(path, |temporary| {
        module
            .clone()
            .save_file(temporary, &recorder)
            .map_err(|e| e.to_string())?;
        std::fs::rename(temporary.with_extension("mpk"), temporary).map_err(|e| e.to_string())
    })
}

/// Writes `contents` to `path` atomically.
///
/// # Errors
/// [`WriteError`] naming `path`.
pub fn write_bytes_atomically(path: &Path, contents: &[u8]) -> Result<(), WriteError> {
    write_atomically(path, |temporary| std::fs::write(temporary, contents))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_bytes_atomically(&path, b"old").unwrap();
        write_bytes_atomically(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert!(!temporary_path(&path).exists());
        // A failing writer leaves the old file and no temporary behind.
        let failed = write_atomically(&path, |temporary| {
            std::fs::write(temporary, b"partial")?;
            Err::<(), _>(std::io::Error::other("disk full"))
        });
        assert!(failed.unwrap_err().to_string().contains("disk full"));
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert!(!temporary_path(&path).exists());
    }
}
