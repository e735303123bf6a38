//! Small synthetic data sets with known structure, for tests, examples and sanity checks.

/// All distinct bars-and-stripes images of a `side × side` grid (MacKay 2003): every image in
/// which each row is all-on or all-off ("stripes"), or each column is ("bars"). There are
/// `2^(side+1) − 2` of them (the empty and the full image are both a bar and a stripe pattern),
/// so a model that spreads its mass evenly over them has average log-likelihood
/// `−ln(2^(side+1) − 2)`, the best possible on this data.
///
/// Rows are flattened row-major, values 0.0 or 1.0.
pub fn bars_and_stripes(side: usize) -> Vec<Vec<f32>> {
    let mut images = Vec::new();
    for mask in 0u64..(1u64 << side) {
        let on = |i: usize| (mask >> i) & 1 == 1;
        let stripes: Vec<f32> = (0..side * side)
            .map(|p| f32::from(u8::from(on(p / side))))
            .collect();
        let bars: Vec<f32> = (0..side * side)
            .map(|p| f32::from(u8::from(on(p % side))))
            .collect();
        images.push(stripes);
        images.push(bars);
    }
    images.sort_by(|a, b| a.partial_cmp(b).expect("values are 0 or 1"));
    images.dedup();
    images
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_shapes() {
        for side in 1..=4 {
            let images = bars_and_stripes(side);
            assert_eq!(images.len(), (1 << (side + 1)) - 2, "side {side}");
            assert!(images.iter().all(|image| image.len() == side * side));
        }
        let three = bars_and_stripes(3);
        assert!(three.contains(&vec![1., 1., 1., 0., 0., 0., 1., 1., 1.]));
        assert!(three.contains(&vec![0., 1., 0., 0., 1., 0., 0., 1., 0.]));
    }
}
