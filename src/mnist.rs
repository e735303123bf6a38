//! MNIST from the four original IDX files in a local directory, gzipped or raw.
//!
//! The directory comes from a `--data-dir` flag or the `MNIST_DIR` environment variable
//! ([`resolve_dir`]). Every failure — a missing, truncated or malformed file — is an
//! [`MnistError`] that names the file.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use burn::tensor::{backend::Backend, Tensor, TensorData};
use flate2::read::GzDecoder;
use thiserror::Error;

/// The environment variable that points at the MNIST directory.
pub const MNIST_DIR_VARIABLE: &str = "MNIST_DIR";

/// The magic number of IDX files of unsigned bytes with three dimensions (the images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// The magic number of IDX files of unsigned bytes with one dimension (the labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// What can go wrong while finding and reading MNIST.
#[derive(Debug, Error)]
pub enum MnistError {
    /// Neither `--data-dir` nor `MNIST_DIR` was given.
    #[error("no MNIST directory: pass --data-dir DIR or set {MNIST_DIR_VARIABLE}")]
    NoDirectory,
    /// Neither `<name>.gz` nor `<name>` exists in the directory.
    #[error("{name}(.gz) not found in {}", dir.display())]
    Missing {
        /// The directory searched.
        dir: PathBuf,
        /// The IDX file's base name.
        name: &'static str,
    },
    /// The file could not be read (including a truncated gzip stream).
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The file was read but is not a valid IDX file of the expected kind.
    #[error("{} is not a valid IDX file: {reason}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// One split of MNIST: images as rows of pixel intensities scaled to `[0, 1]`, and labels.
#[derive(Debug, Clone, PartialEq)]
pub struct MnistSplit {
    /// Row-major `[len, rows · columns]` intensities in `[0, 1]` (pixel / 255).
    pub images: Vec<f32>,
    /// Digit labels 0–9.
    pub labels: Vec<u8>,
    /// Image height in pixels.
    pub rows: usize,
    /// Image width in pixels.
    pub columns: usize,
}

impl MnistSplit {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split has no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels per image.
    pub fn pixels(&self) -> usize {
        self.rows * self.columns
    }

    /// Keeps only the first `limit` images (all of them when `limit` is larger).
    pub fn truncate(&mut self, limit: usize) {
        let limit = limit.min(self.len());
        self.labels.truncate(limit);
        self.images.truncate(limit * self.pixels());
    }

    /// The images as a tensor.
    ///
    /// # Shapes
    /// - output: `[len, rows · columns]`
    pub fn images_tensor<B: Backend>(&self, device: &B::Device) -> Tensor<B, 2> {
        Tensor::from_data(
            TensorData::new(self.images.clone(), [self.len(), self.pixels()]),
            device,
        )
    }
}

/// The training (60 000) and test (10 000) splits.
#[derive(Debug, Clone, PartialEq)]
pub struct Mnist {
    /// `train-images-idx3-ubyte` and `train-labels-idx1-ubyte`.
    pub train: MnistSplit,
    /// `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`.
    pub test: MnistSplit,
}

/// The MNIST directory: `flag` if given, else `$MNIST_DIR`.
///
/// # Errors
/// [`MnistError::NoDirectory`] when neither is set.
pub fn resolve_dir(flag: Option<&Path>) -> Result<PathBuf, MnistError> {
    choose_dir(flag, std::env::var_os(MNIST_DIR_VARIABLE))
}

fn choose_dir(
    flag: Option<&Path>,
    variable: Option<std::ffi::OsString>,
) -> Result<PathBuf, MnistError> {
    flag.map(Path::to_path_buf)
        .or_else(|| variable.map(PathBuf::from))
        .ok_or(MnistError::NoDirectory)
}

/// Loads both splits from `dir`.
///
/// # Errors
/// A missing, unreadable or malformed file, or image and label files of different lengths.
pub fn load_dir(dir: &Path) -> Result<Mnist, MnistError> {
    Ok(Mnist {
        train: load_split(dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte")?,
        test: load_split(dir, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")?,
    })
}

/// Up to `rows` training images for the benchmarks, as intensities in `[0, 1]` (row-major,
/// 784 per image), with a description of their source: MNIST from `flag` or `$MNIST_DIR`,
/// or, without either, `rows` random binary images of MNIST's shape (which cost the same).
///
/// # Errors
/// As [`load_train`], when a directory is given but cannot be read.
pub fn bench_rows(
    flag: Option<&Path>,
    rows: usize,
) -> Result<(Vec<f32>, usize, &'static str), MnistError> {
    const PIXELS: usize = 784;
    match resolve_dir(flag) {
        Ok(dir) => {
            let mut train = load_train(&dir)?;
            train.truncate(rows);
            let pixels = train.pixels();
            Ok((train.images, pixels, "MNIST"))
        }
        Err(_) => {
            let mut state = 0x9E37_79B9_7F4A_7C15_u64;
            let images = (0..rows * PIXELS)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state.is_multiple_of(5) as u8 as f32
                })
                .collect();
            Ok((images, PIXELS, "random binary images (no MNIST_DIR)"))
        }
    }
}

/// Loads the training split only (for tools that never look at the test set).
///
/// # Errors
/// As [`load_dir`].
pub fn load_train(dir: &Path) -> Result<MnistSplit, MnistError> {
    load_split(dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte")
}

fn load_split(
    dir: &Path,
    images: &'static str,
    labels: &'static str,
) -> Result<MnistSplit, MnistError> {
    let (images_path, image_bytes) = read_idx_file(dir, images)?;
    let (labels_path, label_bytes) = read_idx_file(dir, labels)?;
    let (image_dims, pixels) = parse_idx(&images_path, &image_bytes, IMAGES_MAGIC, 3)?;
    let (label_dims, labels) = parse_idx(&labels_path, &label_bytes, LABELS_MAGIC, 1)?;
    if image_dims[0] != label_dims[0] {
        return Err(MnistError::Malformed {
            path: labels_path,
            reason: format!(
                "{} labels for {} images in {}",
                label_dims[0],
                image_dims[0],
                images_path.display()
            ),
        });
    }
    if let Some(&bad) = labels.iter().find(|&&l| l > 9) {
        return Err(MnistError::Malformed {
            path: labels_path,
            reason: format!("label {bad} is not a digit"),
        });
    }
    Ok(MnistSplit {
        images: pixels.iter().map(|&p| f32::from(p) / 255.0).collect(),
        labels: labels.to_vec(),
        rows: image_dims[1],
        columns: image_dims[2],
    })
}

/// Reads `<dir>/<name>.gz` (decompressed) or else `<dir>/<name>`.
fn read_idx_file(dir: &Path, name: &'static str) -> Result<(PathBuf, Vec<u8>), MnistError> {
    let gz = dir.join(format!("{name}.gz"));
    let raw = dir.join(name);
    let (path, gzipped) = if gz.is_file() {
        (gz, true)
    } else if raw.is_file() {
        (raw, false)
    } else {
        return Err(MnistError::Missing {
            dir: dir.to_path_buf(),
            name,
        });
    };
    let io_error = |source| MnistError::Io {
        path: path.clone(),
        source,
    };
    let file = File::open(&path).map_err(io_error)?;
    let mut bytes = Vec::new();
    let read = if gzipped {
        GzDecoder::new(file).read_to_end(&mut bytes)
    } else {
        { file }.read_to_end(&mut bytes)
    };
    read.map_err(io_error)?;
    Ok((path, bytes))
}

/// Parses an IDX file of unsigned bytes with `rank` dimensions: returns the dimensions and the
/// data, checking the magic number and that the data has exactly the announced length.
pub fn parse_idx<'a>(
    path: &Path,
    bytes: &'a [u8],
    magic: u32,
    rank: usize,
) -> Result<(Vec<usize>, &'a [u8]), MnistError> {
    let malformed = |reason: String| MnistError::Malformed {
        path: path.to_path_buf(),
        reason,
    };
    let word = |i: usize| {
        u32::from_be_bytes([
            bytes[4 * i],
            bytes[4 * i + 1],
            bytes[4 * i + 2],
            bytes[4 * i + 3],
        ])
    };
    // The magic number first: it says what kind of file this is, whatever its length.
    if bytes.len() < 4 {
        return Err(malformed(format!(
            "{} bytes is too short for an IDX file",
            bytes.len()
        )));
    }
    if word(0) != magic {
        return Err(malformed(format!(
            "magic number {:#010x}, expected {magic:#010x}",
            word(0)
        )));
    }
    let header_len = 4 + 4 * rank;
    if bytes.len() < header_len {
        return Err(malformed(format!(
            "{} bytes is shorter than the {header_len}-byte header",
            bytes.len()
        )));
    }
    let dims: Vec<usize> = (1..=rank).map(|i| word(i) as usize).collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| malformed(format!("dimensions {dims:?} overflow")))?;
    let data = &bytes[header_len..];
    if data.len() != expected {
        return Err(malformed(format!(
            "dimensions {dims:?} need {expected} data bytes, found {} (truncated or corrupt file)",
            data.len()
        )));
    }
    Ok((dims, data))
}

/// The bytes of an IDX file of unsigned bytes: `magic`, the big-endian dimensions, then
/// `data` as given (whether its length matches the dimensions is not checked, so tests can
/// build malformed files too). The inverse of [`parse_idx`].
pub fn encode_idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut bytes = magic.to_be_bytes().to_vec();
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    bytes
}

#[cfg(test)]
mod tests {
    use super::{encode_idx as idx, *};
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;

    fn write(dir: &Path, name: &str, bytes: &[u8], gzip: bool) {
        if gzip {
            let mut encoder = GzEncoder::new(
                File::create(dir.join(format!("{name}.gz"))).unwrap(),
                Compression::fast(),
            );
            encoder.write_all(bytes).unwrap();
            encoder.finish().unwrap();
        } else {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }

    /// Three 2×2 "images" and labels, train gzipped and test raw.
    fn fixture(dir: &Path) {
        let pixels = [0u8, 255, 51, 102, 1, 2, 3, 4, 255, 255, 0, 0];
        for (prefix, gzip) in [("train", true), ("t10k", false)] {
            write(
                dir,
                &format!("{prefix}-images-idx3-ubyte"),
                &idx(IMAGES_MAGIC, &[3, 2, 2], &pixels),
                gzip,
            );
            write(
                dir,
                &format!("{prefix}-labels-idx1-ubyte"),
                &idx(LABELS_MAGIC, &[3], &[7, 0, 9]),
                gzip,
            );
        }
    }

    #[test]
    fn reads_gzipped_and_raw_files() {
        let dir = tempfile::tempdir().unwrap();
        fixture(dir.path());
        let mnist = load_dir(dir.path()).unwrap();
        assert_eq!(mnist.train, mnist.test);
        assert_eq!(mnist.train.labels, vec![7, 0, 9]);
        assert_eq!(
            (mnist.train.rows, mnist.train.columns, mnist.train.len()),
            (2, 2, 3)
        );
        assert_eq!(&mnist.train.images[..4], &[0.0, 1.0, 0.2, 0.4]);
        let mut split = mnist.train;
        split.truncate(2);
        assert_eq!((split.len(), split.images.len()), (2, 8));
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_dir(dir.path()).unwrap_err();
        assert!(
            matches!(
                err,
                MnistError::Missing {
                    name: "train-images-idx3-ubyte",
                    ..
                }
            ),
            "{err}"
        );

        fixture(dir.path());
        // Truncated raw file: the header promises more bytes than there are.
        let images = idx(IMAGES_MAGIC, &[3, 2, 2], &[0; 11]);
        write(dir.path(), "t10k-images-idx3-ubyte", &images, false);
        let err = load_dir(dir.path()).unwrap_err();
        assert!(
            err.to_string().contains("t10k-images-idx3-ubyte")
                && err.to_string().contains("truncated"),
            "{err}"
        );

        // Labels file given where images are expected.
        write(
            dir.path(),
            "t10k-images-idx3-ubyte",
            &idx(LABELS_MAGIC, &[3], &[0; 3]),
            false,
        );
        let err = load_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains("magic number"), "{err}");

        // Corrupt gzip stream.
        std::fs::write(
            dir.path().join("train-labels-idx1-ubyte.gz"),
            b"\x1f\x8b\x08\x00garbage",
        )
        .unwrap();
        let err = load_train(dir.path()).unwrap_err();
        assert!(
            matches!(err, MnistError::Io { .. }) && err.to_string().contains("train-labels"),
            "{err}"
        );

        // Too short for a magic number, a header shorter than its rank needs, a label that is
        // not a digit, and mismatched counts.
        let path = Path::new("x");
        let short = parse_idx(path, &[0, 0, 8], IMAGES_MAGIC, 3).unwrap_err();
        assert!(short.to_string().contains("too short"), "{short}");
        let header = parse_idx(path, &[0, 0, 8, 3, 0, 0, 0, 3], IMAGES_MAGIC, 3).unwrap_err();
        assert!(header.to_string().contains("16-byte header"), "{header}");
        write(
            dir.path(),
            "train-labels-idx1-ubyte",
            &idx(LABELS_MAGIC, &[3], &[1, 2, 12]),
            true,
        );
        assert!(load_train(dir.path())
            .unwrap_err()
            .to_string()
            .contains("label 12"));
        write(
            dir.path(),
            "train-labels-idx1-ubyte",
            &idx(LABELS_MAGIC, &[2], &[1, 2]),
            true,
        );
        assert!(load_train(dir.path())
            .unwrap_err()
            .to_string()
            .contains("2 labels for 3 images"));
    }

    #[test]
    fn the_flag_wins_over_the_environment() {
        let (flag, variable) = (Path::new("/data/flag"), Some("/data/variable".into()));
        assert_eq!(choose_dir(Some(flag), variable.clone()).unwrap(), flag);
        assert_eq!(
            choose_dir(None, variable).unwrap(),
            Path::new("/data/variable")
        );
        assert!(matches!(
            choose_dir(None, None),
            Err(MnistError::NoDirectory)
        ));
    }

    /// The real files, when `MNIST_DIR` points at them (CI sets it).
    #[test]
    fn reads_the_real_files_when_available() {
        let Ok(dir) = resolve_dir(None) else {
            eprintln!("MNIST_DIR not set: skipping the check of the real files");
            return;
        };
        let mnist = load_dir(&dir).unwrap();
        assert_eq!((mnist.train.len(), mnist.test.len()), (60_000, 10_000));
        assert_eq!((mnist.train.rows, mnist.train.columns), (28, 28));
        // The first training digit is a 5, the first test digit a 7.
        assert_eq!((mnist.train.labels[0], mnist.test.labels[0]), (5, 7));
        assert!(mnist.train.images.iter().all(|p| (0.0..=1.0).contains(p)));
    }
}
