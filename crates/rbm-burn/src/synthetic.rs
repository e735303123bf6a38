//! Small synthetic data sets with known structure, for tests, examples and sanity checks.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};

use crate::ratings::{Rating, Ratings};

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

/// Ratings with hidden structure: every user belongs to one of `n_types` hidden tastes, each
/// taste has its own preferred level for every item (uniform over `0..levels`), and a user
/// rates each item with probability ½, at the taste's preferred level plus N(0, 0.6²) noise,
/// rounded and clipped to `0..levels`. A fifth of the ratings (chosen at random) are held out.
///
/// Item means ignore the tastes, so a model that infers a user's taste from the user's other
/// ratings predicts held-out ratings better than the item-mean baseline.
///
/// # Panics
/// If `levels` or `n_types` is 0.
pub fn ratings(
    n_users: usize,
    n_items: usize,
    levels: usize,
    n_types: usize,
    seed: u64,
) -> Ratings {
    assert!(
        levels > 0 && n_types > 0,
        "levels and n_types must be positive"
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let top = (levels - 1) as f64;
    let tastes: Vec<Vec<f64>> = (0..n_types)
        .map(|_| (0..n_items).map(|_| rng.random::<f64>() * top).collect())
        .collect();
    let noise = Normal::new(0.0, 0.6).expect("a valid standard deviation");
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for user in 0..n_users {
        let taste = &tastes[rng.random_range(0..n_types)];
        for (item, preferred) in taste.iter().enumerate() {
            if rng.random::<f64>() >= 0.5 {
                continue;
            }
            let value = (preferred + noise.sample(&mut rng)).round().clamp(0.0, top) as usize;
            let rating = Rating { user, item, value };
            if rng.random::<f64>() < 0.2 {
                test.push(rating);
            } else {
                train.push(rating);
            }
        }
    }
    Ratings {
        n_users,
        n_items,
        levels,
        train,
        test,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_have_the_documented_shape() {
        let ratings = ratings(200, 30, 5, 3, 1);
        ratings.validate().unwrap();
        let total = (ratings.train.len() + ratings.test.len()) as f64;
        // 6000 cells rated with probability 1/2: within 5 standard deviations (≈ 194) of 3000.
        assert!((total - 3000.0).abs() < 194.0, "{total}");
        let held_out = ratings.test.len() as f64 / total;
        assert!((held_out - 0.2).abs() < 0.04, "{held_out}");
        assert!(ratings
            .train
            .iter()
            .chain(&ratings.test)
            .all(|r| r.value < 5));
    }

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
