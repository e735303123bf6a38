//! Writing grids of grey-scale tiles (RBM filters, images) as PNG files.

use std::path::Path;

use burn::tensor::{backend::Backend, Tensor};
use image::GrayImage;

/// Errors of [`save_tiles_png`].
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The tiles do not fit the requested layout.
    #[error("{0}")]
    Layout(String),
    /// Encoding or writing failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file being written.
        path: String,
        /// What went wrong.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// How tile values become grey levels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    /// Each tile on its own from its smallest value (black) to its largest (white), like the
    /// tutorials' `tile_raster_images`: right for weight filters, whose ranges differ.
    PerTile,
    /// One range for every tile, values clamped to it: right for images and samples, whose
    /// brightness should be comparable (`Fixed { low: 0.0, high: 1.0 }` for probabilities).
    Fixed {
        /// The value shown black.
        low: f32,
        /// The value shown white.
        high: f32,
    },
}

impl Scale {
    /// `Fixed { low: 0.0, high: 1.0 }`: probabilities, means of binary units, and 0/1 images.
    pub const PROBABILITIES: Self = Self::Fixed {
        low: 0.0,
        high: 1.0,
    };
}

/// Writes `tiles` as a grid with each tile scaled on its own ([`Scale::PerTile`]); see
/// [`save_grid_png`].
///
/// # Errors
/// As [`save_grid_png`].
pub fn save_tiles_png(
    path: &Path,
    tiles: &[Vec<f32>],
    height: usize,
    width: usize,
    columns: usize,
) -> Result<(), ImageError> {
    save_grid_png(path, tiles, height, width, columns, Scale::PerTile)
}

/// Splits a `[n, height · width]` tensor into `n` tiles.
///
/// # Shapes
/// - `rows`: `[n, pixels]`
///
/// # Errors
/// [`ImageError::Layout`] if the tensor cannot be read back as `f32`.
pub fn tensor_tiles<B: Backend>(rows: Tensor<B, 2>) -> Result<Vec<Vec<f32>>, ImageError> {
    let [_, pixels] = rows.dims();
    let values: Vec<f32> = rows
        .into_data()
        .convert::<f32>()
        .to_vec()
        .map_err(|e| ImageError::Layout(format!("reading the tensor: {e:?}")))?;
    Ok(values.chunks(pixels.max(1)).map(<[f32]>::to_vec).collect())
}

/// Writes `tiles` (each `height × width` values, row-major) as one PNG grid with `columns`
/// tiles per row and a one-pixel dark border between tiles, scaled as `scale` says. Rows of
/// the grid make before/after comparisons: pass the originals, the corrupted and the restored
/// images one after the other with `columns` equal to their number. Non-finite values are
/// drawn black.
///
/// The file is written to a temporary file next to `path` and renamed over it, so an
/// interrupted run never leaves a truncated PNG behind.
///
/// # Errors
/// [`ImageError::Layout`] for no tiles, zero sizes, a tile of the wrong length or an empty
/// fixed range; [`ImageError::Write`] when the file cannot be written.
pub fn save_grid_png(
    path: &Path,
    tiles: &[Vec<f32>],
    height: usize,
    width: usize,
    columns: usize,
    scale: Scale,
) -> Result<(), ImageError> {
    if let Scale::Fixed { low, high } = scale {
        if !(low.is_finite() && high.is_finite() && high > low) {
            return Err(ImageError::Layout(format!(
                "the fixed range [{low}, {high}] is empty or not finite"
            )));
        }
    }
    if tiles.is_empty() || height == 0 || width == 0 || columns == 0 {
        return Err(ImageError::Layout(
            "need at least one tile and non-zero sizes".into(),
        ));
    }
    if let Some(bad) = tiles.iter().position(|t| t.len() != height * width) {
        return Err(ImageError::Layout(format!(
            "tile {bad} has {} values, expected {height} × {width}",
            tiles[bad].len()
        )));
    }
    let columns = columns.min(tiles.len());
    let rows = tiles.len().div_ceil(columns);
    let (grid_width, grid_height) = (columns * (width + 1) + 1, rows * (height + 1) + 1);
    let too_large = |_| ImageError::Layout("the grid is too large for a PNG".into());
    let mut image = GrayImage::new(
        u32::try_from(grid_width).map_err(too_large)?,
        u32::try_from(grid_height).map_err(too_large)?,
    );
    for (index, tile) in tiles.iter().enumerate() {
        let (min, max) = match scale {
            Scale::Fixed { low, high } => (low, high),
            Scale::PerTile => tile
                .iter()
                .filter(|v| v.is_finite())
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                    (lo.min(v), hi.max(v))
                }),
        };
        let range = if max > min { max - min } else { 1.0 };
        let (x0, y0) = (
            (index % columns) * (width + 1) + 1,
            (index / columns) * (height + 1) + 1,
        );
        for (k, &value) in tile.iter().enumerate() {
            let grey = if value.is_finite() {
                ((value.clamp(min, max) - min) / range * 255.0).round() as u8
            } else {
                0
            };
            image.put_pixel(
                (x0 + k % width) as u32,
                (y0 + k / width) as u32,
                image::Luma([grey]),
            );
        }
    }
    crate::files::write_atomically(path, |temporary| {
        image
            .save_with_format(temporary, image::ImageFormat::Png)
            .map_err(std::io::Error::other)
    })
    .map_err(|e| ImageError::Write {
        path: path.display().to_string(),
        source: match e {
            rbm_burn::RbmError::File { problem, .. } => Box::new(problem),
            other => Box::new(other),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_layout_and_scaling() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiles.png");
        let tiles = vec![
            vec![0.0, 1.0, 2.0, 3.0],
            vec![-1.0, -1.0, -1.0, 5.0],
            vec![7.0; 4],
        ];
        save_tiles_png(&path, &tiles, 2, 2, 2).unwrap();
        let image = image::open(&path).unwrap().to_luma8();
        // 2 columns × 2 rows of 2×2 tiles with 1-pixel borders.
        assert_eq!(image.dimensions(), (7, 7));
        assert_eq!(image.get_pixel(1, 1).0[0], 0);
        assert_eq!(image.get_pixel(2, 2).0[0], 255);
        assert_eq!(image.get_pixel(2, 1).0[0], 85);
        assert_eq!(image.get_pixel(5, 2).0[0], 255);
        assert_eq!(image.get_pixel(0, 0).0[0], 0);
        assert!(!dir.path().join(".tiles.png.tmp").exists());
        assert!(matches!(
            save_tiles_png(&path, &[vec![0.0; 3]], 2, 2, 1),
            Err(ImageError::Layout(_))
        ));
    }

    #[test]
    fn fixed_scale_clamps_and_keeps_tiles_comparable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fixed.png");
        let tiles = vec![vec![0.0, 0.5, 1.0, 2.0], vec![0.25; 4]];
        save_grid_png(&path, &tiles, 2, 2, 1, Scale::PROBABILITIES).unwrap();
        let image = image::open(&path).unwrap().to_luma8();
        // One column, two rows of 2×2 tiles.
        assert_eq!(image.dimensions(), (4, 7));
        let grey = |x, y| image.get_pixel(x, y).0[0];
        assert_eq!(
            (grey(1, 1), grey(2, 1), grey(1, 2), grey(2, 2)),
            (0, 128, 255, 255)
        );
        // A constant tile keeps its level (per-tile scaling would make it black).
        assert_eq!(grey(1, 4), 64);
        let empty = Scale::Fixed {
            low: 1.0,
            high: 1.0,
        };
        assert!(matches!(
            save_grid_png(&path, &tiles, 2, 2, 1, empty),
            Err(ImageError::Layout(_))
        ));
    }

    #[test]
    fn tensor_rows_become_tiles() {
        let rows = Tensor::<burn::backend::NdArray, 2>::from_floats(
            [[1.0, 2.0], [3.0, 4.0]],
            &Default::default(),
        );
        assert_eq!(
            tensor_tiles(rows).unwrap(),
            vec![vec![1.0, 2.0], vec![3.0, 4.0]]
        );
    }
}
