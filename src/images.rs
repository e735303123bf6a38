//! Writing grids of grey-scale tiles (RBM filters, images) as PNG files.

use std::path::Path;

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

/// Writes `tiles` (each `height × width` values, row-major) as one PNG grid with `columns`
/// tiles per row and a one-pixel dark border between tiles. Each tile is scaled on its own to
/// the full grey range, which is how RBM filters are usually shown: mid-grey is the tile's
/// middle value, white its largest weight, black its smallest.
///
/// The file is written to a temporary file next to `path` and renamed over it, so an
/// interrupted run never leaves a truncated PNG behind.
///
/// # Errors
/// [`ImageError::Layout`] for no tiles, zero sizes or a tile of the wrong length;
/// [`ImageError::Write`] when the file cannot be written.
pub fn save_tiles_png(
    path: &Path,
    tiles: &[Vec<f32>],
    height: usize,
    width: usize,
    columns: usize,
) -> Result<(), ImageError> {
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
        let (min, max) = tile
            .iter()
            .filter(|v| v.is_finite())
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let range = if max > min { max - min } else { 1.0 };
        let (x0, y0) = (
            (index % columns) * (width + 1) + 1,
            (index / columns) * (height + 1) + 1,
        );
        for (k, &value) in tile.iter().enumerate() {
            let grey = if value.is_finite() {
                ((value - min) / range * 255.0).round() as u8
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
        image.save_with_format(temporary, image::ImageFormat::Png)
    })
    .map_err(|e| ImageError::Write {
        path: e.path,
        source: e.source,
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
}
