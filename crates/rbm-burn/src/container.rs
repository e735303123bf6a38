//! The checked container that models and checkpoints are saved in, and atomic writes (see
//! [`crate::file`] for the format).

use std::fs::{self, File, OpenOptions};
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Record, Recorder};
use burn::tensor::backend::Backend;

use crate::error::{self, RbmError};

/// The first bytes of every container file.
const SIGNATURE: &[u8; 8] = b"rbm-burn";
/// The container format this build writes and reads.
pub const FORMAT_VERSION: u16 = 2;
/// The float precision of the records this build writes and reads
/// ([`FullPrecisionSettings`]).
const PRECISION: &str = "f32";

/// What is wrong with a file (the path is in [`RbmError::File`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileProblem {
    /// The operating system refused (missing file, permissions, full disk, ...).
    #[error("{message}")]
    Io {
        /// The kind of the I/O error.
        kind: io::ErrorKind,
        /// The operating system's message.
        message: String,
    },
    /// The file does not start with the container's signature: it was not written by this
    /// library (a raw Burn record, another format, or garbage).
    #[error("not an rbm-burn file: it does not start with the `rbm-burn` signature")]
    NotAnRbmBurnFile,
    /// The container is of a format version this build cannot read.
    #[error("container format version {found}, but this build reads version {supported}")]
    UnsupportedVersion {
        /// The version in the file.
        found: u16,
        /// The version this build reads.
        supported: u16,
    },
    /// The file holds something else than what was asked for.
    #[error("it holds {found}, not {expected}")]
    WrongContent {
        /// What the caller asked for.
        expected: String,
        /// What the file holds.
        found: String,
    },
    /// The record was written with another float precision.
    #[error("its record has {found} floats, but this build reads {expected} records")]
    Precision {
        /// The precision this build reads.
        expected: String,
        /// The precision in the file.
        found: String,
    },
    /// The file ends early: it was cut off (a crash while copying it, a full disk).
    #[error("truncated: {found} bytes where the header promises {expected}")]
    Truncated {
        /// Bytes the header says the file has.
        expected: u64,
        /// Bytes the file has.
        found: u64,
    },
    /// The bytes were damaged after writing, or the record in them cannot be decoded.
    #[error("corrupt: {reason}")]
    Corrupt {
        /// What was found.
        reason: String,
    },
    /// The file is intact but does not fit what it is loaded for (another model size, an
    /// invalid hyperparameter in a checkpoint, ...).
    #[error("{what} is {found}, expected {expected}")]
    Mismatch {
        /// Which part of the content.
        what: String,
        /// What was needed.
        expected: String,
        /// What the file holds.
        found: String,
    },
}

impl FileProblem {
    fn io(error: &io::Error) -> Self {
        Self::Io {
            kind: error.kind(),
            message: error.to_string(),
        }
    }
}

/// An [`RbmError::File`] for `path`.
pub fn file_error(path: &Path, problem: FileProblem) -> RbmError {
    RbmError::File {
        path: path.display().to_string(),
        problem,
    }
}

/// A temporary file [`write_atomically`] can use for `path`: `.NAME.PID-N.tmp` beside it, where
/// the process id and a counter of this process keep concurrent writers of the same file
/// (other processes, or other threads) from sharing one.
pub fn temporary_path(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{name}.{}-{n}.tmp", std::process::id()))
}

/// Runs `write` on a temporary path beside `path`, flushes the file it created to the disk,
/// renames it over `path` and flushes the directory. A crash at any point leaves either the
/// previous `path` or the complete new one. An error before the rename leaves the previous
/// `path` as it was (and removes the temporary file); an error flushing the directory comes
/// after the rename, when `path` already holds the new contents.
///
/// `write` must create the file it is given (e.g. `std::fs::write`, or an encoder that saves
/// to a path).
///
/// # Errors
/// [`RbmError::File`] naming `path`, from `write`, the flush or the rename.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&Path) -> io::Result<()>,
) -> error::Result<()> {
    let temporary = temporary_path(path);
    // (Write access: Windows refuses to flush a file opened read-only.)
    let result = write(&temporary)
        .and_then(|()| OpenOptions::new().write(true).open(&temporary)?.sync_all())
        .and_then(|()| fs::rename(&temporary, path))
        .and_then(|()| sync_directory(path));
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result.map_err(|e| file_error(path, FileProblem::io(&e)))
}

/// [`write_atomically`] of `contents`.
///
/// # Errors
/// [`RbmError::File`] naming `path`.
pub fn write_bytes_atomically(path: &Path, contents: &[u8]) -> error::Result<()> {
    write_atomically(path, |temporary| fs::write(temporary, contents))
}

/// Makes a rename in `path`'s directory durable. (Directories cannot be opened for syncing on
/// Windows, where the rename itself is what `MoveFileEx` makes durable.)
fn sync_directory(path: &Path) -> io::Result<()> {
    if cfg!(unix) {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Saves `record` to `path` in the container (see [`crate::file`]), atomically, marked
/// as `kind` (a short name such as `"rbm"` that [`load_record`] checks).
///
/// # Errors
/// [`RbmError::File`] naming `path` when the record cannot be encoded or written.
pub fn save_record<B: Backend, R: Record<B>>(
    path: &Path,
    kind: &str,
    record: R,
) -> error::Result<()> {
    let payload = Recorder::<B>::record(
        &NamedMpkBytesRecorder::<FullPrecisionSettings>::new(),
        record,
        (),
    )
    .map_err(|e| {
        file_error(
            path,
            FileProblem::Corrupt {
                reason: format!("the record could not be encoded: {e}"),
            },
        )
    })?;
    write_bytes_atomically(path, &encode(kind, &payload))
}

/// Loads a record that [`save_record`] saved as `kind` from `path`, on `device`.
///
/// # Errors
/// [`RbmError::File`] naming `path` and the [`FileProblem`]: a missing or unreadable file,
/// another format, another kind or precision, a truncated or damaged file, or a payload that is
/// not a record of type `R`.
pub fn load_record<B: Backend, R: Record<B>>(
    path: &Path,
    kind: &str,
    device: &B::Device,
) -> error::Result<R> {
    let bytes = fs::read(path).map_err(|e| file_error(path, FileProblem::io(&e)))?;
    let payload = decode(&bytes, kind).map_err(|problem| file_error(path, problem))?;
    let corrupt = |reason: String| file_error(path, FileProblem::Corrupt { reason });
    // The checksum matched, so a payload that does not decode was written as something else;
    // Burn's tensor constructors panic on inconsistent data, which must not reach the caller.
    let loaded = catch_unwind(AssertUnwindSafe(|| {
        Recorder::<B>::load::<R>(
            &NamedMpkBytesRecorder::<FullPrecisionSettings>::new(),
            payload.to_vec(),
            device,
        )
    }));
    match loaded {
        Ok(Ok(record)) => Ok(record),
        Ok(Err(e)) => Err(corrupt(format!(
            "the record does not decode as {kind}: {e}"
        ))),
        Err(_) => Err(corrupt(format!(
            "the record's tensors are inconsistent ({kind})"
        ))),
    }
}

/// The container bytes of `payload`.
fn encode(kind: &str, payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(payload.len() + 64);
    bytes.extend_from_slice(SIGNATURE);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    for text in [kind, PRECISION] {
        let len = u8::try_from(text.len()).expect("kinds and precisions are short names");
        bytes.push(len);
        bytes.extend_from_slice(text.as_bytes());
    }
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// A cursor over the header that reports a short file as truncated.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FileProblem> {
        let end = self.at.saturating_add(n);
        let taken = self.bytes.get(self.at..end).ok_or(FileProblem::Truncated {
            expected: end as u64,
            found: self.bytes.len() as u64,
        })?;
        self.at = end;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], FileProblem> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn text(&mut self) -> Result<String, FileProblem> {
        let [len] = self.array::<1>()?;
        let text = self.take(usize::from(len))?;
        String::from_utf8(text.to_vec()).map_err(|_| FileProblem::Corrupt {
            reason: "a header field is not UTF-8".into(),
        })
    }
}

/// The payload of container `bytes` of kind `kind`, after checking the header and checksum.
fn decode<'a>(bytes: &'a [u8], kind: &str) -> Result<&'a [u8], FileProblem> {
    let signature_seen = bytes.len().min(SIGNATURE.len());
    if bytes[..signature_seen] != SIGNATURE[..signature_seen] {
        return Err(FileProblem::NotAnRbmBurnFile);
    }
    let mut reader = Reader { bytes, at: 0 };
    reader.take(SIGNATURE.len())?;
    let version = u16::from_le_bytes(reader.array()?);
    if version != FORMAT_VERSION {
        return Err(FileProblem::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let found = reader.text()?;
    if found != kind {
        return Err(FileProblem::WrongContent {
            expected: kind.to_string(),
            found,
        });
    }
    let precision = reader.text()?;
    if precision != PRECISION {
        return Err(FileProblem::Precision {
            expected: PRECISION.to_string(),
            found: precision,
        });
    }
    let length = u64::from_le_bytes(reader.array()?);
    let checksum = u32::from_le_bytes(reader.array()?);
    let header = reader.at as u64;
    let available = bytes.len() as u64 - header;
    if available < length {
        return Err(FileProblem::Truncated {
            expected: header.saturating_add(length),
            found: bytes.len() as u64,
        });
    }
    if available > length {
        return Err(FileProblem::Corrupt {
            reason: format!("{} bytes follow the end of the record", available - length),
        });
    }
    let payload = &bytes[reader.at..];
    let actual = crc32fast::hash(payload);
    if actual != checksum {
        return Err(FileProblem::Corrupt {
            reason: format!("checksum {actual:08x} does not match the header's {checksum:08x}"),
        });
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomically_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_bytes_atomically(&path, b"old").unwrap();
        write_bytes_atomically(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        let leftovers = || fs::read_dir(dir.path()).unwrap().count() - 1;
        assert_eq!(leftovers(), 0, "a temporary file was left behind");
        // A failing writer leaves the old file and no temporary behind.
        let failed = write_atomically(&path, |temporary| {
            fs::write(temporary, b"partial")?;
            Err(io::Error::other("disk full"))
        });
        assert_eq!(
            failed.unwrap_err(),
            file_error(
                &path,
                FileProblem::Io {
                    kind: io::ErrorKind::Other,
                    message: "disk full".into()
                }
            )
        );
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(leftovers(), 0, "a temporary file was left behind");
        // A directory that does not exist is an error naming the file.
        let missing = dir.path().join("no/such/dir/out.txt");
        let err = write_bytes_atomically(&missing, b"x").unwrap_err();
        assert!(matches!(
            err,
            RbmError::File { ref path, problem: FileProblem::Io { kind: io::ErrorKind::NotFound, .. } }
                if path.ends_with("out.txt")
        ));
    }

    #[test]
    fn container_round_trip_and_every_damage_is_named() {
        let payload: Vec<u8> = (0..200u8).collect();
        let bytes = encode("rbm", &payload);
        assert_eq!(decode(&bytes, "rbm").unwrap(), &payload[..]);
        // Every proper prefix is truncated (or, within the signature, not yet recognisable
        // as anything else), never accepted.
        for cut in 0..bytes.len() {
            match decode(&bytes[..cut], "rbm") {
                Err(FileProblem::Truncated { found, .. }) => assert_eq!(found, cut as u64),
                other => panic!("prefix of {cut} bytes: {other:?}"),
            }
        }
        // Every single-bit flip anywhere is rejected.
        for at in 0..bytes.len() {
            for bit in [0, 7] {
                let mut damaged = bytes.clone();
                damaged[at] ^= 1 << bit;
                assert!(decode(&damaged, "rbm").is_err(), "flip at {at}, bit {bit}");
            }
        }
        assert_eq!(
            decode(&bytes, "dbn"),
            Err(FileProblem::WrongContent {
                expected: "dbn".into(),
                found: "rbm".into()
            })
        );
        assert_eq!(
            decode(b"PK\x03\x04 zip", "rbm"),
            Err(FileProblem::NotAnRbmBurnFile)
        );
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(matches!(
            decode(&extra, "rbm"),
            Err(FileProblem::Corrupt { .. })
        ));
        for other in [FORMAT_VERSION - 1, FORMAT_VERSION + 1] {
            let mut versioned = bytes.clone();
            versioned[8..10].copy_from_slice(&other.to_le_bytes());
            assert_eq!(
                decode(&versioned, "rbm"),
                Err(FileProblem::UnsupportedVersion {
                    found: other,
                    supported: FORMAT_VERSION
                })
            );
        }
        // A length field at its maximum is a truncation, not an overflow.
        let mut huge = bytes.clone();
        huge[18..26].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(
            decode(&huge, "rbm"),
            Err(FileProblem::Truncated {
                expected: u64::MAX,
                ..
            })
        ));
        let mut half = bytes.clone();
        let at = 8 + 2 + 1 + 3 + 1;
        half[at..at + 3].copy_from_slice(b"f16");
        assert_eq!(
            decode(&half, "rbm"),
            Err(FileProblem::Precision {
                expected: "f32".into(),
                found: "f16".into()
            })
        );
    }
}
