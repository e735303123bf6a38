//! Synthetic data shared by the tests.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use dbn::ClassDataset;
use rbm_burn::rand::rngs::StdRng;
use rbm_burn::rand::{RngExt, SeedableRng};

/// Width of the synthetic examples.
pub const WIDTH: usize = 24;
/// Number of classes.
pub const CLASSES: usize = 4;
/// Probability that a bit of an example differs from its class prototype.
pub const FLIP: f64 = 0.1;

/// The prototype of each class: the first half of the pixels, the second half, the even
/// pixels, the odd pixels. Any two differ in at least 12 of the 24 pixels (checked).
pub fn prototypes() -> Vec<Vec<f32>> {
    let protos: Vec<Vec<f32>> = (0..CLASSES)
        .map(|c| {
            (0..WIDTH)
                .map(|j| {
                    let on = match c {
                        0 => j < WIDTH / 2,
                        1 => j >= WIDTH / 2,
                        2 => j % 2 == 0,
                        _ => j % 2 == 1,
                    };
                    f32::from(u8::from(on))
                })
                .collect()
        })
        .collect();
    for (a, pa) in protos.iter().enumerate() {
        for pb in &protos[a + 1..] {
            let distance = pa.iter().zip(pb).filter(|(x, y)| x != y).count();
            assert!(distance >= WIDTH / 2, "prototypes {a} are too close");
        }
    }
    protos
}

/// `n` examples: class `i % CLASSES`, each pixel of its prototype flipped with probability
/// [`FLIP`].
pub fn noisy_classes(n: usize, seed: u64) -> ClassDataset {
    let protos = prototypes();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut features = Vec::with_capacity(n * WIDTH);
    let labels: Vec<usize> = (0..n).map(|i| i % CLASSES).collect();
    for &label in &labels {
        for &p in &protos[label] {
            let flip = rng.random::<f64>() < FLIP;
            features.push(if flip { 1.0 - p } else { p });
        }
    }
    ClassDataset::new(features, WIDTH, labels).expect("valid synthetic data")
}

/// Largest absolute difference between two tensors of the same shape.
pub fn max_abs_diff<B: Backend>(a: Tensor<B, 2>, b: Tensor<B, 2>) -> f64 {
    let a: Vec<f32> = a.into_data().to_vec().expect("f32 data");
    let b: Vec<f32> = b.into_data().to_vec().expect("f32 data");
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(&b)
        .map(|(x, y)| f64::from((x - y).abs()))
        .fold(0.0, f64::max)
}
