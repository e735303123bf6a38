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

/// Motion-like sequences: `joints` joint angles driven by one gait phase, as in the motion
/// capture data of the conditional RBM (Taylor, Hinton & Roweis 2007).
///
/// Every sequence walks at its own speed: its phase advances by `ω ~ U(2π/30, 2π/15)` per
/// frame plus N(0, 0.02²) phase noise. Joint `j` is `amp_j · sin(k_j φ + offset_j)` plus
/// N(0, 0.05²) measurement noise, where the amplitudes (in `[0.5, 1.5]`), harmonics `k_j` (1
/// or 2) and offsets form a "skeleton" shared by all sequences of a seed. So the next frame is
/// a function of the previous ones (through the phase and the speed) up to the noise, but not
/// a fixed linear one: the speed differs from sequence to sequence.
///
/// Returns `sequences` sequences of `frames` frames of `joints` values each.
///
/// # Panics
/// If `joints` is 0.
pub fn sine_joints(
    sequences: usize,
    frames: usize,
    joints: usize,
    seed: u64,
) -> Vec<Vec<Vec<f32>>> {
    assert!(joints > 0, "at least one joint");
    let mut skeleton_rng = StdRng::seed_from_u64(seed);
    let skeleton: Vec<(f64, f64, f64)> = (0..joints)
        .map(|_| {
            let amplitude = 0.5 + skeleton_rng.random::<f64>();
            let harmonic = if skeleton_rng.random::<bool>() {
                2.0
            } else {
                1.0
            };
            let offset = skeleton_rng.random::<f64>() * std::f64::consts::TAU;
            (amplitude, harmonic, offset)
        })
        .collect();
    let noise = Normal::new(0.0, 0.05).expect("a valid standard deviation");
    let phase_noise = Normal::new(0.0, 0.02).expect("a valid standard deviation");
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5e9e_e0ce);
    (0..sequences)
        .map(|_| {
            let tau = std::f64::consts::TAU;
            let speed = tau / 30.0 + rng.random::<f64>() * (tau / 15.0 - tau / 30.0);
            let mut phase = rng.random::<f64>() * tau;
            (0..frames)
                .map(|_| {
                    let frame = skeleton
                        .iter()
                        .map(|&(amplitude, harmonic, offset)| {
                            (amplitude * (harmonic * phase + offset).sin() + noise.sample(&mut rng))
                                as f32
                        })
                        .collect();
                    phase += speed + phase_noise.sample(&mut rng);
                    frame
                })
                .collect()
        })
        .collect()
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
    fn sine_joints_follow_their_phase() {
        let sequences = sine_joints(3, 50, 4, 7);
        assert_eq!(sequences.len(), 3);
        assert!(sequences
            .iter()
            .all(|s| s.len() == 50 && s.iter().all(|f| f.len() == 4)));
        assert_eq!(sequences, sine_joints(3, 50, 4, 7));
        // Amplitudes are at most 1.5, the noise 0.05: values stay within 1.5 + 5 · 0.05.
        let largest = sequences
            .iter()
            .flatten()
            .flatten()
            .fold(0.0f32, |m, x| m.max(x.abs()));
        assert!(largest < 1.75 && largest > 0.4, "{largest}");
        // Consecutive frames are close (at most 2π/15 of phase, times 2 for a second
        // harmonic, times 1.5 in amplitude, plus noise), distant ones are not.
        let step = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f32::max)
        };
        let s = &sequences[0];
        assert!((1..50).all(|t| step(&s[t], &s[t - 1]) < 1.5 * 2.0 * 0.42 + 0.5));
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
