//! Writing output files atomically, through [`rbm_burn::file::write_atomically`]: to a
//! temporary file in the same directory, flushed to the disk, then renamed over the target, so
//! an interrupted run leaves either the old file or the new one, never a truncated one.

use std::path::Path;

use burn::module::Module;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder};
use burn::tensor::backend::Backend;
pub use rbm_burn::file::{write_atomically, write_bytes_atomically};

/// Saves `module`'s record to `path` (a `.mpk` file in Burn's named MessagePack format, full
/// precision) atomically. Burn's recorder picks the extension itself, so its file is written
/// as `.NAME.PID-N.mpk` beside `path` and then renamed.
///
/// # Errors
/// [`rbm_burn::RbmError::File`] naming `path`.
pub fn save_module_atomically<B: Backend, M: Module<B>>(
    module: &M,
    path: &Path,
) -> rbm_burn::Result<()> {
    let recorder = NamedMpkFileRecorder::<FullPrecisionSettings>::new();
    write_atomically(path, |temporary| {
        let saved = temporary.with_extension("mpk");
        let result = module
            .clone()
            .save_file(temporary, &recorder)
            .map_err(|e| std::io::Error::other(e.to_string()))
            .and_then(|()| std::fs::rename(&saved, temporary));
        if result.is_err() {
            let _ = std::fs::remove_file(&saved);
        }
        result
    })
}
