//! Files: atomic writes, and the self-checking container that models and checkpoints are
//! saved in.
//!
//! # Atomic writes
//!
//! [`write_atomically`] writes to a temporary file in the target's directory, flushes it to
//! the disk (`fsync`), renames it over the target and flushes the directory, so a crash at any
//! moment leaves either the previous file or the new one, never a truncated mix.
//!
//! # The container
//!
//! The library wraps a Burn record (Burn's named MessagePack, full precision) in a small
//! header, so that loading can say precisely what is wrong with a file instead of
//! failing somewhere inside the deserialiser:
//!
//! ```text
//! offset  size  field
//! 0       8     signature b"rbm-burn"
//! 8       2     format version (little-endian u16), currently 2
//! 10      1+n   content kind, a length byte then UTF-8 ("rbm", "rbm cd-checkpoint", ...)
//! ..      1+n   float precision of the record, a length byte then UTF-8 ("f32")
//! ..      8     payload length in bytes (little-endian u64)
//! ..      4     CRC-32 of the payload (little-endian u32)
//! ..      len   payload: the record in Burn's named MessagePack format
//! ```
//!
//! A file that is too short is [`FileProblem::Truncated`], flipped bits are caught by the
//! checksum ([`FileProblem::Corrupt`]), a model of another kind (a DBN file opened as an RBM)
//! is [`FileProblem::WrongContent`], and a record of another float precision is
//! [`FileProblem::Precision`].
//!
//! The payload of a model file is the model's structure (its config: sizes and unit types) and
//! its Burn module record ([`crate::ModelRecord`]); checkpoints add the learner's state. Format
//! version 2 is the first with this payload; files of version 1 are refused as
//! [`FileProblem::UnsupportedVersion`].

pub use crate::container::{write_atomically, write_bytes_atomically, FileProblem, FORMAT_VERSION};
