//! The conditional RBM: with its context fixed it is an RBM with shifted biases (checked by
//! brute force), contrastive divergence estimates its exact gradient, it learns a sequence
//! whose next frame depends on the previous one, and it saves and resumes like the RBM.

use burn::tensor::{backend::Backend, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rbm_burn::{
    sequence_windows, ContrastiveDivergence, ContrastiveDivergenceConfig, Crbm, CrbmConfig, Rbm,
    RbmConfig,
};

use crate::common::*;

/// A CRBM with random parameters on the host: the frame RBM, `A` and `B` (row-major, f32
/// values), for order `order`.
struct HostCrbm {
    rbm: HostRbm,
    order: usize,
    autoregressive: Vec<f64>,
    context_hidden: Vec<f64>,
}

impl HostCrbm {
    fn random(n_visible: usize, n_hidden: usize, order: usize, scale: f64, seed: u64) -> Self {
        let rbm = HostRbm::random(n_visible, n_hidden, scale, seed);
        let context = order * n_visible;
        let weights = HostRbm::random(context, n_visible + n_hidden, scale, seed + 1).weights;
        let (mut autoregressive, mut context_hidden) = (Vec::new(), Vec::new());
        for row in weights.chunks(n_visible + n_hidden) {
            autoregressive.extend_from_slice(&row[..n_visible]);
            context_hidden.extend_from_slice(&row[n_visible..]);
        }
        Self {
            rbm,
            order,
            autoregressive,
            context_hidden,
        }
    }

    fn to_device<B: Backend>(&self, device: &B::Device) -> Crbm<B> {
        let (v, h) = (self.rbm.n_visible, self.rbm.n_hidden);
        let tensor = |values: &[f64], shape: [usize; 2]| {
            let values: Vec<f32> = values.iter().map(|&x| x as f32).collect();
            Tensor::<B, 2>::from_data(TensorData::new(values, shape), device)
        };
        Crbm::from_parts(
            self.rbm.to_device(device),
            tensor(&self.autoregressive, [self.order * v, v]),
            tensor(&self.context_hidden, [self.order * v, h]),
        )
        .unwrap()
    }

    /// The RBM for context `u`: biases `a + uA`, `b + uB`, in f64.
    fn conditioned(&self, u: &[f64]) -> HostRbm {
        let (v, h) = (self.rbm.n_visible, self.rbm.n_hidden);
        let mut rbm = self.rbm.clone();
        for (c, &uc) in u.iter().enumerate() {
            for i in 0..v {
                rbm.visible_bias[i] += uc * self.autoregressive[c * v + i];
            }
            for j in 0..h {
                rbm.hidden_bias[j] += uc * self.context_hidden[c * h + j];
            }
        }
        rbm
    }
}

/// `[v | u]` rows for frames `visible` and contexts `context`.
fn windows(visible: &[Vec<f64>], context: &[Vec<f64>]) -> Vec<Vec<f64>> {
    visible
        .iter()
        .zip(context)
        .map(|(v, u)| v.iter().chain(u).copied().collect())
        .collect()
}

/// With its context fixed the CRBM is the RBM with biases `a + uA`, `b + uB`: its exact
/// `log p(v | u)` equals the brute-force value of that RBM (f32 rounding of energies of a
/// few units: 1e-4), and for each context the probabilities of every frame sum to 1.
pub fn crbm_with_a_fixed_context_is_a_shifted_rbm<B: Backend>(device: &B::Device) {
    let host = HostCrbm::random(5, 4, 2, 0.8, 41);
    let crbm = host.to_device::<B>(device);
    assert_eq!((crbm.order(), crbm.row_width()), (2, 15));
    let contexts = random_binary_rows(3, 10, 42);
    let frames: Vec<Vec<f64>> = states(5).collect();
    for u in &contexts {
        let reference = host.conditioned(u);
        let log_z = reference.log_partition();
        let rows = windows(&frames, &vec![u.clone(); frames.len()]);
        let got = to_f64(
            crbm.log_likelihood_exact(rows_tensor::<B>(&rows, device))
                .unwrap(),
        );
        let expected: Vec<f64> = frames
            .iter()
            .map(|v| -reference.free_energy(v) - log_z)
            .collect();
        assert!(
            max_abs_diff(&got, &expected) < 1e-4,
            "{got:?} vs {expected:?}"
        );
        let total: f64 = got.iter().map(|l| l.exp()).sum();
        assert!((total - 1.0).abs() < 1e-4, "Σ p(v | u) = {total}");
    }
}

/// CD-30 started at the data estimates the exact gradient of the average `log p(v | u)` for
/// every parameter, `A` and `B` included: as for the RBM, each entry of the model term is a
/// mean of 20 000 chains' values in [0, 1] (products of binary contexts with means), whose
/// standard error is at most 0.0035, and 0.02 is 5.7 of them. CD-1 misses by more, which shows
/// that the comparison can fail.
pub fn crbm_cd_k_matches_the_exact_gradient<B: Backend>(device: &B::Device) {
    let host = HostCrbm::random(5, 4, 1, 1.0, 43);
    let crbm = host.to_device::<B>(device);
    let rows = windows(&random_binary_rows(8, 5, 44), &random_binary_rows(8, 5, 45));
    let exact = crbm_vectors(
        crbm.exact_log_likelihood_gradient(rows_tensor::<B>(&rows, device))
            .unwrap(),
    );
    let largest = exact.iter().flatten().fold(0.0f64, |m, x| m.max(x.abs()));
    assert!(largest > 0.1, "the exact gradient is too small: {largest}");
    let repeated: Vec<Vec<f64>> = (0..250).flat_map(|_| rows.clone()).collect();
    let data = rows_tensor::<B>(&repeated, device);
    let estimate = |k: usize| {
        let mut learner = ContrastiveDivergenceConfig::new()
            .with_k(k)
            .init::<B, Crbm<B>>()
            .unwrap();
        let estimates: Vec<_> = (0..10)
            .map(|_| crbm_vectors(learner.estimate_gradient(&crbm, data.clone()).unwrap()))
            .collect();
        let n = estimates.len() as f64;
        std::array::from_fn::<Vec<f64>, 5, _>(|part| {
            (0..estimates[0][part].len())
                .map(|i| estimates.iter().map(|e| e[part][i]).sum::<f64>() / n)
                .collect()
        })
    };
    let names = ["W", "a", "b", "A", "B"];
    for (name, (e, x)) in names.iter().zip(estimate(30).iter().zip(&exact)) {
        let diff = max_abs_diff(e, x);
        assert!(diff < 0.02, "{name}: max |CD-30 − exact| = {diff}");
    }
    let cd_1 = estimate(1);
    let worst = (0..5)
        .map(|part| max_abs_diff(&cd_1[part], &exact[part]))
        .fold(0.0, f64::max);
    assert!(worst > 0.03, "CD-1 should be biased here, max diff {worst}");
}

fn crbm_vectors<B: Backend>(crbm: Crbm<B>) -> [Vec<f64>; 5] {
    [
        to_f64(crbm.rbm.weights.val()),
        to_f64(crbm.rbm.visible_bias()),
        to_f64(crbm.rbm.hidden_bias()),
        to_f64(crbm.autoregressive.val()),
        to_f64(crbm.context_hidden.val()),
    ]
}

/// Sequences of 8 binary units whose next frame is the previous one rotated by one unit, each
/// unit then flipped with probability `FLIP`; the first frames are uniform.
const FLIP: f64 = 0.05;
const UNITS: usize = 8;

fn rotating_sequences<B: Backend>(
    count: usize,
    frames: usize,
    seed: u64,
    device: &B::Device,
) -> Vec<Tensor<B, 2>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let mut frame: Vec<f64> = (0..UNITS)
                .map(|_| f64::from(u8::from(rng.random::<bool>())))
                .collect();
            let mut rows = vec![frame.clone()];
            for _ in 1..frames {
                frame = (0..UNITS)
                    .map(|i| {
                        let rotated = frame[(i + UNITS - 1) % UNITS];
                        if rng.random::<f64>() < FLIP {
                            1.0 - rotated
                        } else {
                            rotated
                        }
                    })
                    .collect();
                rows.push(frame.clone());
            }
            rows_tensor::<B>(&rows, device)
        })
        .collect()
}

/// A first-order CRBM learns the rotation. Each unit of the next frame is its rotated
/// predecessor flipped with probability ε = 0.05, so the best possible average
/// `log p(v_t | v_{t−1})` is `−8 H(ε) = −1.59` nats, while any model that ignores the context
/// can do no better than the frames' entropy, `−8 ln 2 = −5.55` (the frames are uniform).
/// After training, the exact held-out value must be above −2.6: within 1 nat of the optimum,
/// so at least three quarters of the 3.96 nats that the context is worth. (On the 195
/// held-out windows even the true model's average fluctuates: a flip costs
/// `ln(0.95/0.05) = 2.94` nats and a window has 0.4 flips on average, so the average's
/// standard deviation is about 0.13 nats, and −2.6 lies eight of them below −1.59.) The mean-field
/// one-step prediction must also beat both baselines: the last frame (squared error
/// `P(a unit changes) ≈ 0.5`) and the mean frame (0.25), against `ε(1 − ε) ≈ 0.0475` for the
/// true conditional means.
pub fn crbm_learns_a_sequence_that_depends_on_its_past<B: Backend>(device: &B::Device) {
    let train = sequence_windows(&rotating_sequences::<B>(30, 40, 51, device), 1).unwrap();
    let test = sequence_windows(&rotating_sequences::<B>(5, 40, 52, device), 1).unwrap();
    let crbm = CrbmConfig::new(RbmConfig::new(UNITS, 8).with_weight_std(0.1), 1)
        .init::<B>(device)
        .unwrap();
    let (crbm, history) = ContrastiveDivergenceConfig::new()
        .with_k(1)
        .with_learning_rate(0.1)
        .with_batch_size(20)
        .with_epochs(30)
        .with_weight_decay(0.0)
        .init()
        .unwrap()
        .fit(crbm, &train)
        .unwrap();
    assert_eq!(history.epochs.len(), 30);
    let log_likelihood = crbm
        .log_likelihood_exact(test.clone())
        .unwrap()
        .mean()
        .into_scalar()
        .to_f64();
    assert!(
        log_likelihood > -2.6,
        "held-out log p(v_t | v_t-1) = {log_likelihood}, optimum −1.59, context-free ≤ −5.55"
    );
    let (frame, context) = (
        test.clone().narrow(1, 0, UNITS),
        test.clone().narrow(1, UNITS, UNITS),
    );
    let squared = |prediction: Tensor<B, 2>| {
        (prediction - frame.clone())
            .square()
            .mean()
            .into_scalar()
            .to_f64()
    };
    let model = squared(crbm.predict(context.clone(), 5));
    let last_frame = squared(context.clone());
    let mean_frame = squared(
        train
            .clone()
            .narrow(1, 0, UNITS)
            .mean_dim(0)
            .repeat_dim(0, frame.dims()[0]),
    );
    eprintln!(
        "CRBM: held-out log-likelihood {log_likelihood:.3}, prediction error {model:.4} \
         (last frame {last_frame:.4}, mean frame {mean_frame:.4})"
    );
    assert!(
        model < 0.5 * last_frame.min(mean_frame),
        "prediction error {model}, last frame {last_frame}, mean frame {mean_frame}"
    );
    // A generated rollout keeps rotating: each frame is much closer to the rotation of the
    // previous one than to the previous one itself.
    let start = frame.clone().narrow(0, 0, 1);
    let rollout = crbm
        .generate(start, 10, 20, &mut StdRng::seed_from_u64(53))
        .unwrap();
    assert_eq!(rollout.dims(), [10, UNITS]);
    let frames: Vec<Vec<f64>> = to_f64(rollout).chunks(UNITS).map(<[f64]>::to_vec).collect();
    let (mut to_rotated, mut to_previous) = (0.0, 0.0);
    for pair in frames.windows(2) {
        for i in 0..UNITS {
            to_rotated += (pair[1][i] - pair[0][(i + UNITS - 1) % UNITS]).powi(2);
            to_previous += (pair[1][i] - pair[0][i]).powi(2);
        }
    }
    assert!(
        to_rotated < 0.5 * to_previous,
        "the rollout does not rotate: {to_rotated} vs {to_previous}"
    );
}

trait ToF64 {
    fn to_f64(self) -> f64;
}

impl<E: burn::tensor::ElementConversion> ToF64 for E {
    fn to_f64(self) -> f64 {
        self.elem::<f64>()
    }
}

/// The windows of a sequence are its frames with their contexts, most recent frame first, and
/// no window spans two sequences.
pub fn sequence_windows_are_frames_with_their_pasts<B: Backend>(device: &B::Device) {
    let frames = |start: f32| {
        Tensor::<B, 2>::from_data(
            TensorData::new((0..8).map(|i| start + i as f32).collect::<Vec<_>>(), [4, 2]),
            device,
        )
    };
    // Two sequences of 4 frames of 2 units: 0 1 | 2 3 | 4 5 | 6 7, and the same + 100.
    let windows = sequence_windows(&[frames(0.0), frames(100.0)], 2).unwrap();
    let expected: Vec<f32> = [
        [4.0, 5.0, 2.0, 3.0, 0.0, 1.0],
        [6.0, 7.0, 4.0, 5.0, 2.0, 3.0],
        [104.0, 105.0, 102.0, 103.0, 100.0, 101.0],
        [106.0, 107.0, 104.0, 105.0, 102.0, 103.0],
    ]
    .concat();
    assert_eq!(windows.dims(), [4, 6]);
    assert_eq!(windows.into_data().to_vec::<f32>().unwrap(), expected);
    assert!(sequence_windows::<B>(&[frames(0.0)], 0).is_err());
    assert!(sequence_windows::<B>(&[frames(0.0)], 4).is_err());
    assert!(sequence_windows::<B>(&[], 1).is_err());
}

/// A CRBM trained with PCD and resumed from a checkpoint ends bit for bit where the
/// uninterrupted run ends, and its file round-trips every parameter.
pub fn crbm_saves_and_resumes_exactly<B: Backend>(device: &B::Device) {
    let data = sequence_windows(&rotating_sequences::<B>(4, 20, 61, device), 2).unwrap();
    let config = ContrastiveDivergenceConfig::new()
        .with_persistent(true)
        .with_batch_size(16)
        .with_epochs(4)
        .with_sparsity(Some(rbm_burn::SparsityConfig::new(0.2, 0.1)));
    let start = CrbmConfig::new(RbmConfig::new(UNITS, 6).with_weight_std(0.1), 2)
        .init::<B>(device)
        .unwrap();
    let (whole, _) = config
        .init::<B, Crbm<B>>()
        .unwrap()
        .fit(start.clone(), &data)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crbm.ckpt");
    let mut first = config
        .init::<B, Crbm<B>>()
        .unwrap()
        .with_checkpoints(&path, 2)
        .unwrap();
    let (partial, _) = first.fit_until(start, &data, None, &mut (), 2).unwrap();
    drop(partial);
    let (mut resumed, model) =
        ContrastiveDivergence::<B, Crbm<B>>::load_checkpoint(&path, device).unwrap();
    assert_eq!(resumed.epoch(), 2);
    let (resumed, _) = resumed.fit(model, &data).unwrap();
    let all = |m: &Crbm<B>| crbm_vectors(m.clone()).concat();
    assert_eq!(all(&whole), all(&resumed));
    let file = dir.path().join("model.crbm");
    whole.save(&file).unwrap();
    let loaded = Crbm::<B>::load(&file, device).unwrap();
    assert_eq!(all(&whole), all(&loaded));
    assert!(
        Rbm::<B>::load(&file, device).is_err(),
        "a CRBM file is not an RBM file"
    );
}
