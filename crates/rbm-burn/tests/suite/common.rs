//! Host-side references computed in f64 by brute force, and small helpers.

#![allow(dead_code)]

use burn::tensor::{backend::Backend, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rbm_burn::Rbm;

/// Parameters of an RBM on the host, in f64.
#[derive(Debug, Clone)]
pub struct HostRbm {
    pub n_visible: usize,
    pub n_hidden: usize,
    /// Row-major `[n_visible, n_hidden]`.
    pub weights: Vec<f64>,
    pub visible_bias: Vec<f64>,
    pub hidden_bias: Vec<f64>,
}

impl HostRbm {
    /// Random parameters: weights N(0, scale²) (Box–Muller), biases N(0, (scale/2)²).
    pub fn random(n_visible: usize, n_hidden: usize, scale: f64, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut normal = move || {
            let u1: f64 = 1.0 - rng.random::<f64>();
            let u2: f64 = rng.random::<f64>();
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        };
        // Round to f32 so that the host model is exactly the device model.
        let mut draw = |n: usize, s: f64| -> Vec<f64> {
            (0..n).map(|_| (normal() * s) as f32 as f64).collect()
        };
        Self {
            n_visible,
            n_hidden,
            weights: draw(n_visible * n_hidden, scale),
            visible_bias: draw(n_visible, scale / 2.0),
            hidden_bias: draw(n_hidden, scale / 2.0),
        }
    }

    pub fn to_device<B: Backend>(&self, device: &B::Device) -> Rbm<B> {
        let f32s = |x: &[f64]| x.iter().map(|&v| v as f32).collect::<Vec<_>>();
        Rbm::from_tensors(
            Tensor::from_data(
                TensorData::new(f32s(&self.weights), [self.n_visible, self.n_hidden]),
                device,
            ),
            Tensor::from_data(
                TensorData::new(f32s(&self.visible_bias), [self.n_visible]),
                device,
            ),
            Tensor::from_data(
                TensorData::new(f32s(&self.hidden_bias), [self.n_hidden]),
                device,
            ),
        )
        .expect("consistent shapes")
    }

    pub fn from_device<B: Backend>(rbm: &Rbm<B>) -> Self {
        Self {
            n_visible: rbm.n_visible(),
            n_hidden: rbm.n_hidden(),
            weights: to_f64(rbm.weights.val()),
            visible_bias: to_f64(rbm.visible_bias()),
            hidden_bias: to_f64(rbm.hidden_bias()),
        }
    }

    pub fn energy(&self, v: &[f64], h: &[f64]) -> f64 {
        let visible: f64 = v.iter().zip(&self.visible_bias).map(|(v, a)| v * a).sum();
        let hidden: f64 = h.iter().zip(&self.hidden_bias).map(|(h, b)| h * b).sum();
        let interaction: f64 = v
            .iter()
            .zip(self.weights.chunks(self.n_hidden))
            .map(|(v, row)| v * row.iter().zip(h).map(|(w, h)| w * h).sum::<f64>())
            .sum();
        -(visible + hidden + interaction)
    }

    /// `F(v) = −log Σ_h exp(−E(v, h))` by enumerating h.
    pub fn free_energy(&self, v: &[f64]) -> f64 {
        -log_sum_exp(states(self.n_hidden).map(|h| -self.energy(v, &h)))
    }

    /// `log Z` by enumerating every (v, h) pair.
    pub fn log_partition(&self) -> f64 {
        log_sum_exp(states(self.n_visible).flat_map(|v| {
            states(self.n_hidden)
                .map(|h| -self.energy(&v, &h))
                .collect::<Vec<_>>()
        }))
    }
}

/// All binary vectors of length `n`, in counting order (bit j of state r is (r >> j) & 1).
pub fn states(n: usize) -> impl Iterator<Item = Vec<f64>> {
    (0..1usize << n).map(move |r| (0..n).map(|j| ((r >> j) & 1) as f64).collect())
}

pub fn log_sum_exp(values: impl IntoIterator<Item = f64>) -> f64 {
    let values: Vec<f64> = values.into_iter().collect();
    let max = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    max + values.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
}

pub fn to_f64<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> Vec<f64> {
    tensor.into_data().iter::<f64>().collect()
}

pub fn rows_tensor<B: Backend>(rows: &[Vec<f64>], device: &B::Device) -> Tensor<B, 2> {
    let f32_rows: Vec<Vec<f32>> = rows
        .iter()
        .map(|r| r.iter().map(|&v| v as f32).collect())
        .collect();
    rbm_burn::rows_to_tensor(&f32_rows, device).expect("equal widths")
}

pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Random binary rows.
pub fn random_binary_rows(n: usize, width: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            (0..width)
                .map(|_| f64::from(u8::from(rng.random::<bool>())))
                .collect()
        })
        .collect()
}
