//! Property tests of the data-loading path: the IDX parser and the loader around it never
//! panic, accept exactly the well-formed files, and return exactly what a file holds.
//! The number of cases is fixed, so the run is bounded (a few seconds).

use std::io::Write;
use std::path::Path;

use flate2::{write::GzEncoder, Compression};
use proptest::prelude::*;
use rbm_burn_examples::mnist::{
    encode_idx as idx, load_train, parse_idx, MnistError, IMAGES_MAGIC, LABELS_MAGIC,
};

/// Small well-formed image files: dimensions and their pixels.
fn images() -> impl Strategy<Value = (Vec<u32>, Vec<u8>)> {
    (0u32..5, 1u32..5, 1u32..5).prop_flat_map(|(n, rows, columns)| {
        let len = (n * rows * columns) as usize;
        (
            Just(vec![n, rows, columns]),
            proptest::collection::vec(any::<u8>(), len),
        )
    })
}

fn is_malformed(error: &MnistError, path: &Path) -> bool {
    matches!(error, MnistError::Malformed { path: p, .. } if p == path)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Headers that are mostly right, with small or huge dimensions (products that overflow
    /// included), data of the announced length or not, cut anywhere: an error naming the file,
    /// or a parse whose data has exactly the length its dimensions announce — never a panic.
    #[test]
    fn arbitrary_headers_and_data_never_panic(
        right_magic in proptest::bool::weighted(0.9),
        dims in proptest::collection::vec(prop_oneof![3 => 0u32..4, 1 => any::<u32>()], 0..4),
        data in proptest::collection::vec(any::<u8>(), 0..40),
        exact_length in any::<bool>(),
        cut in proptest::option::of(any::<proptest::sample::Index>()),
        rank in 0usize..4,
    ) {
        let path = Path::new("fuzz.idx");
        let magic = if right_magic { IMAGES_MAGIC } else { LABELS_MAGIC };
        let mut data = data;
        let announced = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d as usize));
        if let Some(len) = announced.filter(|&len| exact_length && len <= 64) {
            data.resize(len, 7);
        }
        let mut bytes = idx(magic, &dims, &data);
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        match parse_idx(path, &bytes, IMAGES_MAGIC, rank) {
            Ok((parsed, data)) => {
                prop_assert!(right_magic);
                prop_assert_eq!(parsed.len(), rank);
                prop_assert_eq!(data.len(), parsed.iter().product::<usize>());
                prop_assert_eq!(bytes.len(), 4 + 4 * rank + data.len());
            }
            Err(error) => prop_assert!(is_malformed(&error, path), "{error:?}"),
        }
    }

    /// Arbitrary bytes are an error naming the file, or a consistent parse.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64), rank in 0usize..4) {
        let path = Path::new("fuzz.idx");
        match parse_idx(path, &bytes, IMAGES_MAGIC, rank) {
            Ok((dims, data)) => prop_assert_eq!(data.len(), dims.iter().product::<usize>()),
            Err(error) => prop_assert!(is_malformed(&error, path), "{error:?}"),
        }
    }

    /// A well-formed file parses to its dimensions and data; every truncation, any extra
    /// byte and the other magic number are errors.
    #[test]
    fn well_formed_files_parse_and_damaged_ones_do_not((dims, pixels) in images(), extra in any::<u8>()) {
        let path = Path::new("images.idx");
        let bytes = idx(IMAGES_MAGIC, &dims, &pixels);
        let (parsed, data) = parse_idx(path, &bytes, IMAGES_MAGIC, 3).unwrap();
        prop_assert_eq!(parsed, dims.iter().map(|&d| d as usize).collect::<Vec<_>>());
        prop_assert_eq!(data, &pixels[..]);
        for cut in 0..bytes.len() {
            let error = parse_idx(path, &bytes[..cut], IMAGES_MAGIC, 3).unwrap_err();
            prop_assert!(is_malformed(&error, path));
        }
        let mut longer = bytes.clone();
        longer.push(extra);
        prop_assert!(parse_idx(path, &longer, IMAGES_MAGIC, 3).is_err());
        prop_assert!(parse_idx(path, &bytes, LABELS_MAGIC, 3).is_err());
    }

    /// The whole loader (gzip included) on arbitrary, possibly gzipped, contents of the
    /// training files: an error or a consistent split, never a panic.
    #[test]
    fn the_loader_never_panics(
        image_bytes in proptest::collection::vec(any::<u8>(), 0..48),
        label_bytes in proptest::collection::vec(any::<u8>(), 0..16),
        gzip in any::<bool>(),
        valid_header in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let image_bytes = if valid_header {
            idx(IMAGES_MAGIC, &[1, 2, 2], &image_bytes)
        } else {
            image_bytes
        };
        let label_bytes = if valid_header {
            idx(LABELS_MAGIC, &[1], &label_bytes)
        } else {
            label_bytes
        };
        for (name, bytes) in [
            ("train-images-idx3-ubyte", &image_bytes),
            ("train-labels-idx1-ubyte", &label_bytes),
        ] {
            if gzip {
                let file = std::fs::File::create(dir.path().join(format!("{name}.gz"))).unwrap();
                let mut encoder = GzEncoder::new(file, Compression::fast());
                encoder.write_all(bytes).unwrap();
                encoder.finish().unwrap();
            } else {
                std::fs::write(dir.path().join(name), bytes).unwrap();
            }
        }
        match load_train(dir.path()) {
            Ok(split) => {
                prop_assert_eq!(split.images.len(), split.len() * split.pixels());
                prop_assert!(split.labels.iter().all(|&l| l <= 9));
                prop_assert!(split.images.iter().all(|p| (0.0..=1.0).contains(p)));
            }
            Err(error) => prop_assert!(
                !error.to_string().is_empty() && error.to_string().contains("train-"),
                "{error}"
            ),
        }
    }
}
