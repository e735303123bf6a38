//! The classification RBM: `p(y | x)` against brute force over the hidden layer, the
//! discriminative gradient against finite differences, contrastive divergence against the
//! exact generative gradient, learning noisy prototypes near the Bayes error, saving and
//! resuming, and its input errors.

use burn::tensor::{backend::Backend, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rbm_burn::{
    CdModel, ClassRbm, ClassRbmConfig, ContrastiveDivergence, ContrastiveDivergenceConfig,
    HiddenUnits, Objective, Rbm, RbmConfig, RbmError, VisibleUnits,
};

use crate::common::*;

/// A classification RBM on the host, in f64: the input RBM, `U` (`[classes, hidden]`,
/// row-major) and `d`.
#[derive(Clone)]
struct HostClassRbm {
    rbm: HostRbm,
    classes: usize,
    label_weights: Vec<f64>,
    label_bias: Vec<f64>,
}

impl HostClassRbm {
    fn random(inputs: usize, hidden: usize, classes: usize, scale: f64, seed: u64) -> Self {
        let rbm = HostRbm::random(inputs, hidden, scale, seed);
        let labels = HostRbm::random(classes, hidden, scale, seed + 1);
        Self {
            rbm,
            classes,
            label_weights: labels.weights,
            label_bias: labels.visible_bias,
        }
    }

    fn to_device<B: Backend>(&self, objective: Objective, device: &B::Device) -> ClassRbm<B> {
        let f32s = |x: &[f64]| x.iter().map(|&v| v as f32).collect::<Vec<_>>();
        ClassRbm::from_parts(
            self.rbm.to_device(device),
            Tensor::from_data(
                TensorData::new(f32s(&self.label_weights), [self.classes, self.rbm.n_hidden]),
                device,
            ),
            Tensor::from_data(
                TensorData::new(f32s(&self.label_bias), [self.classes]),
                device,
            ),
            objective,
        )
        .unwrap()
    }

    /// `E(x, y, h)`.
    fn energy(&self, x: &[f64], y: usize, h: &[f64]) -> f64 {
        let row = &self.label_weights[y * self.rbm.n_hidden..(y + 1) * self.rbm.n_hidden];
        let label: f64 = row.iter().zip(h).map(|(u, h)| u * h).sum();
        self.rbm.energy(x, h) - self.label_bias[y] - label
    }

    /// `F(x, y) = −log Σ_h exp(−E(x, y, h))`, by enumerating h.
    fn free_energy(&self, x: &[f64], y: usize) -> f64 {
        -log_sum_exp(states(self.rbm.n_hidden).map(|h| -self.energy(x, y, &h)))
    }

    /// `log p(y | x)` of every class, by enumerating h.
    fn log_proba(&self, x: &[f64]) -> Vec<f64> {
        let minus_f: Vec<f64> = (0..self.classes).map(|y| -self.free_energy(x, y)).collect();
        let total = log_sum_exp(minus_f.iter().copied());
        minus_f.iter().map(|f| f - total).collect()
    }

    /// `log p(y | x)` in closed form, `d_y + Σ_j softplus(o_yj) − logsumexp`.
    fn log_proba_closed_form(&self, x: &[f64], y: usize) -> f64 {
        let h = self.rbm.n_hidden;
        let logits: Vec<f64> = (0..self.classes)
            .map(|k| {
                self.label_bias[k]
                    + (0..h)
                        .map(|j| {
                            let o = self.rbm.hidden_bias[j]
                                + self.label_weights[k * h + j]
                                + (0..x.len())
                                    .map(|i| x[i] * self.rbm.weights[i * h + j])
                                    .sum::<f64>();
                            o.max(0.0) + (-o.abs()).exp().ln_1p()
                        })
                        .sum::<f64>()
            })
            .collect();
        logits[y] - log_sum_exp(logits.iter().copied())
    }

    /// Every parameter, in the model's visiting order: W, b, c, U, d.
    fn parameters_mut(&mut self) -> [&mut Vec<f64>; 5] {
        [
            &mut self.rbm.weights,
            &mut self.rbm.visible_bias,
            &mut self.rbm.hidden_bias,
            &mut self.label_weights,
            &mut self.label_bias,
        ]
    }
}

/// Every parameter of a device model, in visiting order: W, b, c, U, d.
fn class_vectors<B: Backend>(model: &ClassRbm<B>) -> [Vec<f64>; 5] {
    [
        to_f64(model.rbm.weights.val()),
        to_f64(model.rbm.visible_bias()),
        to_f64(model.rbm.hidden_bias()),
        to_f64(model.label_weights.val()),
        to_f64(model.label_bias()),
    ]
}

/// `p(y | x)` in closed form equals the brute-force sum over every hidden state, for every
/// input of a small model (f32 rounding of a few softplus terms: 1e-5), and so does the free
/// energy of each `(x, y)` (1e-4); the predicted class is the most probable one.
pub fn class_rbm_probabilities_match_enumeration<B: Backend>(device: &B::Device) {
    let host = HostClassRbm::random(4, 5, 3, 1.0, 71);
    let model = host.to_device::<B>(Objective::Generative, device);
    let inputs: Vec<Vec<f64>> = states(4).collect();
    let got = to_f64(
        model
            .predict_proba(rows_tensor::<B>(&inputs, device))
            .unwrap(),
    );
    let expected: Vec<f64> = inputs
        .iter()
        .flat_map(|x| host.log_proba(x).into_iter().map(f64::exp))
        .collect();
    assert!(
        max_abs_diff(&got, &expected) < 1e-5,
        "{got:?} vs {expected:?}"
    );
    let predicted: Vec<i64> = model
        .predict(rows_tensor::<B>(&inputs, device))
        .unwrap()
        .into_data()
        .iter::<i64>()
        .collect();
    for (row, &class) in predicted.iter().enumerate() {
        let p = &expected[row * 3..row * 3 + 3];
        let best = (0..3).fold(0, |b, k| if p[k] > p[b] { k } else { b });
        assert_eq!(class as usize, best, "row {row}: {p:?}");
    }
    let labels: Vec<usize> = (0..inputs.len()).map(|i| i % 3).collect();
    let rows = model
        .rows(rows_tensor::<B>(&inputs, device), &labels)
        .unwrap();
    let free = to_f64(model.row_free_energy(&rows));
    let expected: Vec<f64> = inputs
        .iter()
        .zip(&labels)
        .map(|(x, &y)| host.free_energy(x, y))
        .collect();
    assert!(
        max_abs_diff(&free, &expected) < 1e-4,
        "{free:?} vs {expected:?}"
    );
}

/// The discriminative gradient equals central differences of the average `log p(y | x)`
/// computed on the host in f64 (step 1e-5: truncation error ~1e-10, rounding ~1e-11); the
/// device computes in f32, so the tolerance is 1e-4 against entries of order 0.1. The learner
/// returns the same gradient for the discriminative objective, and draws nothing for it.
pub fn class_rbm_discriminative_gradient_matches_finite_differences<B: Backend>(
    device: &B::Device,
) {
    let host = HostClassRbm::random(5, 4, 3, 1.0, 72);
    let model = host.to_device::<B>(Objective::Discriminative, device);
    let inputs = random_binary_rows(12, 5, 73);
    let labels: Vec<usize> = (0..12).map(|i| (i * 7) % 3).collect();
    let rows = model
        .rows(rows_tensor::<B>(&inputs, device), &labels)
        .unwrap();
    let gradient = class_vectors(&model.discriminative_gradient(rows.clone()).unwrap());
    let objective = |host: &HostClassRbm| {
        inputs
            .iter()
            .zip(&labels)
            .map(|(x, &y)| host.log_proba_closed_form(x, y))
            .sum::<f64>()
            / inputs.len() as f64
    };
    let step = 1e-5;
    let mut largest = 0.0f64;
    for (part, name) in ["W", "b", "c", "U", "d"].iter().enumerate() {
        let len = gradient[part].len();
        let numeric: Vec<f64> = (0..len)
            .map(|i| {
                let mut plus = host.clone();
                plus.parameters_mut()[part][i] += step;
                let mut minus = host.clone();
                minus.parameters_mut()[part][i] -= step;
                (objective(&plus) - objective(&minus)) / (2.0 * step)
            })
            .collect();
        largest = numeric.iter().fold(largest, |m, x| m.max(x.abs()));
        let diff = max_abs_diff(&gradient[part], &numeric);
        assert!(diff < 1e-4, "{name}: max |exact − numeric| = {diff}");
    }
    assert!(
        largest > 0.05,
        "the gradient is too small to test: {largest}"
    );
    let mut learner = ContrastiveDivergenceConfig::new()
        .init::<B, ClassRbm<B>>()
        .unwrap();
    let estimate = class_vectors(&learner.estimate_gradient(&model, rows).unwrap());
    for part in 0..5 {
        assert!(max_abs_diff(&estimate[part], &gradient[part]) < 1e-6);
    }
}

/// CD-30 started at the data estimates the exact gradient of the average `log p(x, y)`,
/// computed on the host by enumerating every `(x, y, h)`: the label group is sampled in the
/// negative phase. As for the RBM, each entry of the model term is a mean of 20 000 chains'
/// values in [0, 1], whose standard error is at most 0.0035; 0.02 is 5.7 of them.
pub fn class_rbm_cd_k_matches_the_generative_gradient<B: Backend>(device: &B::Device) {
    let host = HostClassRbm::random(4, 3, 3, 1.0, 74);
    let model = host.to_device::<B>(Objective::Generative, device);
    let inputs = random_binary_rows(8, 4, 75);
    let labels: Vec<usize> = (0..8).map(|i| (i * 5) % 3).collect();
    // The exact gradient: data statistics minus model statistics, both with hidden means.
    let (v, h, c) = (4, 3, 3);
    let hidden_means = |x: &[f64], y: usize| -> Vec<f64> {
        (0..h)
            .map(|j| {
                let o = host.rbm.hidden_bias[j]
                    + host.label_weights[y * h + j]
                    + (0..v)
                        .map(|i| x[i] * host.rbm.weights[i * h + j])
                        .sum::<f64>();
                1.0 / (1.0 + (-o).exp())
            })
            .collect()
    };
    let statistics = |x: &[f64], y: usize, weight: f64, into: &mut [Vec<f64>; 5]| {
        let p = hidden_means(x, y);
        for i in 0..v {
            for j in 0..h {
                into[0][i * h + j] += weight * x[i] * p[j];
            }
            into[1][i] += weight * x[i];
        }
        for j in 0..h {
            into[2][j] += weight * p[j];
            into[3][y * h + j] += weight * p[j];
        }
        into[4][y] += weight;
    };
    let zeros = || {
        [
            vec![0.0; v * h],
            vec![0.0; v],
            vec![0.0; h],
            vec![0.0; c * h],
            vec![0.0; c],
        ]
    };
    let mut data = zeros();
    for (x, &y) in inputs.iter().zip(&labels) {
        statistics(x, y, 1.0 / 8.0, &mut data);
    }
    let joint: Vec<(Vec<f64>, usize)> = states(v)
        .flat_map(|x| (0..c).map(move |y| (x.clone(), y)))
        .collect();
    let log_z = log_sum_exp(joint.iter().map(|(x, y)| -host.free_energy(x, *y)));
    let mut model_term = zeros();
    for (x, y) in &joint {
        statistics(
            x,
            *y,
            (-host.free_energy(x, *y) - log_z).exp(),
            &mut model_term,
        );
    }
    let exact: Vec<Vec<f64>> = data
        .iter()
        .zip(&model_term)
        .map(|(d, m)| d.iter().zip(m).map(|(d, m)| d - m).collect())
        .collect();
    let largest = exact.iter().flatten().fold(0.0f64, |m, x| m.max(x.abs()));
    assert!(largest > 0.1, "the exact gradient is too small: {largest}");

    let repeated_inputs: Vec<Vec<f64>> = (0..250).flat_map(|_| inputs.clone()).collect();
    let repeated_labels: Vec<usize> = (0..250).flat_map(|_| labels.clone()).collect();
    let rows = model
        .rows(rows_tensor::<B>(&repeated_inputs, device), &repeated_labels)
        .unwrap();
    let mut learner = ContrastiveDivergenceConfig::new()
        .with_k(30)
        .init::<B, ClassRbm<B>>()
        .unwrap();
    let estimates: Vec<_> = (0..10)
        .map(|_| class_vectors(&learner.estimate_gradient(&model, rows.clone()).unwrap()))
        .collect();
    for (part, name) in ["W", "b", "c", "U", "d"].iter().enumerate() {
        let mean: Vec<f64> = (0..exact[part].len())
            .map(|i| estimates.iter().map(|e| e[part][i]).sum::<f64>() / 10.0)
            .collect();
        let diff = max_abs_diff(&mean, &exact[part]);
        assert!(diff < 0.02, "{name}: max |CD-30 − exact| = {diff}");
    }
}

/// Noisy copies of four random binary prototypes of 24 bits, each bit flipped with
/// probability 0.25, with their classes.
fn noisy_prototypes(rows: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<usize>, Vec<Vec<f64>>) {
    let prototypes = random_binary_rows(4, 24, 81);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut inputs = Vec::with_capacity(rows);
    let mut labels = Vec::with_capacity(rows);
    for _ in 0..rows {
        let class = rng.random_range(0..4);
        inputs.push(
            prototypes[class]
                .iter()
                .map(|&bit| {
                    if rng.random::<f64>() < 0.25 {
                        1.0 - bit
                    } else {
                        bit
                    }
                })
                .collect(),
        );
        labels.push(class);
    }
    (inputs, labels, prototypes)
}

/// Every objective learns noisy prototypes close to the Bayes error. With equal priors and the
/// same flip rate for every bit, the Bayes classifier picks the nearest prototype in Hamming
/// distance; its error on the 1000 test rows (0.109) is the floor. That rule is linear in
/// `x`, which `p(y | x)` can represent, so a trained model should be within a few points of
/// it: the discriminative and hybrid objectives within 0.03 (the standard error of a
/// difference of two error rates on 1000 rows is at most 0.016 when they disagree on a
/// quarter of the rows), the generative one, which spends its capacity on `p(x)`, within 0.06
/// — all far from chance, 0.75.
pub fn class_rbm_learns_noisy_prototypes<B: Backend>(device: &B::Device) {
    let (train_x, train_y, prototypes) = noisy_prototypes(1000, 82);
    let (test_x, test_y, _) = noisy_prototypes(1000, 83);
    let bayes_errors = test_x
        .iter()
        .zip(&test_y)
        .filter(|(x, &y)| {
            let distance = |p: &Vec<f64>| x.iter().zip(p).filter(|(a, b)| a != b).count();
            let nearest = (0..4).min_by_key(|&k| distance(&prototypes[k])).unwrap();
            nearest != y
        })
        .count();
    let bayes = bayes_errors as f64 / test_x.len() as f64;
    let test = rows_tensor::<B>(&test_x, device);
    for (objective, slack) in [
        (Objective::Discriminative, 0.03),
        (Objective::Hybrid { alpha: 0.01 }, 0.03),
        (Objective::Generative, 0.06),
    ] {
        let model = ClassRbmConfig::new(RbmConfig::new(24, 16).with_weight_std(0.1), 4)
            .with_objective(objective)
            .init::<B>(device)
            .unwrap();
        let rows = model
            .rows(rows_tensor::<B>(&train_x, device), &train_y)
            .unwrap();
        let (model, _) = ContrastiveDivergenceConfig::new()
            .with_learning_rate(0.05)
            .with_batch_size(20)
            .with_epochs(20)
            .with_weight_decay(0.0)
            .init()
            .unwrap()
            .fit(model, &rows)
            .unwrap();
        let error = model.error_rate(test.clone(), &test_y).unwrap();
        eprintln!("{objective:?}: test error {error:.3}, Bayes {bayes:.3}");
        assert!(
            error <= bayes + slack,
            "{objective:?}: test error {error}, Bayes error {bayes}"
        );
    }
}

/// A hybrid model trained with PCD and sparsity and resumed from a checkpoint ends bit for bit
/// where the uninterrupted run ends; its file keeps every parameter and the objective.
pub fn class_rbm_saves_and_resumes_exactly<B: Backend>(device: &B::Device) {
    let (inputs, labels, _) = noisy_prototypes(64, 91);
    let objective = Objective::Hybrid { alpha: 0.1 };
    let start = ClassRbmConfig::new(RbmConfig::new(24, 6).with_weight_std(0.1), 4)
        .with_objective(objective)
        .init::<B>(device)
        .unwrap();
    let data = start
        .rows(rows_tensor::<B>(&inputs, device), &labels)
        .unwrap();
    let config = ContrastiveDivergenceConfig::new()
        .with_persistent(true)
        .with_batch_size(16)
        .with_epochs(4)
        .with_sparsity(Some(rbm_burn::SparsityConfig::new(0.2, 0.1)));
    let (whole, _) = config
        .init::<B, ClassRbm<B>>()
        .unwrap()
        .fit(start.clone(), &data)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("class.ckpt");
    let mut first = config
        .init::<B, ClassRbm<B>>()
        .unwrap()
        .with_checkpoints(&path, 2)
        .unwrap();
    drop(first.fit_until(start, &data, None, &mut (), 2).unwrap());
    let (mut resumed, model) =
        ContrastiveDivergence::<B, ClassRbm<B>>::load_checkpoint(&path, device).unwrap();
    assert_eq!((resumed.epoch(), model.objective()), (2, objective));
    let (resumed, _) = resumed.fit(model, &data).unwrap();
    assert_eq!(class_vectors(&whole), class_vectors(&resumed));
    let file = dir.path().join("model.crbm");
    whole.save(&file).unwrap();
    let loaded = ClassRbm::<B>::load(&file, device).unwrap();
    assert_eq!(class_vectors(&whole), class_vectors(&loaded));
    assert_eq!(loaded.objective(), objective);
    assert!(Rbm::<B>::load(&file, device).is_err(), "not an RBM file");
}

/// Bad labels, widths, structures and objectives are errors, not panics.
pub fn class_rbm_inputs_are_checked<B: Backend>(device: &B::Device) {
    let config = ClassRbmConfig::new(RbmConfig::new(4, 3), 3);
    let model = config.init::<B>(device).unwrap();
    let inputs = rows_tensor::<B>(&random_binary_rows(2, 4, 1), device);
    assert!(matches!(
        model.rows(inputs.clone(), &[0, 3]),
        Err(RbmError::InvalidLabel {
            label: 3,
            n_classes: 3,
            row: 1
        })
    ));
    assert!(matches!(
        model.rows(inputs.clone(), &[0]),
        Err(RbmError::ShapeMismatch { .. })
    ));
    let wide = rows_tensor::<B>(&random_binary_rows(2, 5, 2), device);
    assert!(matches!(
        model.predict_proba(wide),
        Err(RbmError::WidthMismatch {
            expected: 4,
            actual: 5
        })
    ));
    let out_of_range = inputs.clone() * 3.0;
    assert!(matches!(
        model.predict(out_of_range),
        Err(RbmError::ValueOutOfRange { .. })
    ));
    assert!(matches!(
        ClassRbmConfig::new(RbmConfig::new(4, 3), 1).init::<B>(device),
        Err(RbmError::InvalidHyperparameter {
            name: "n_classes",
            ..
        })
    ));
    assert!(matches!(
        ClassRbmConfig::new(RbmConfig::new(4, 3).with_hidden_units(HiddenUnits::Relu), 3)
            .init::<B>(device),
        Err(RbmError::UnsupportedUnits { .. })
    ));
    assert!(matches!(
        model
            .clone()
            .with_objective(Objective::Hybrid { alpha: -1.0 }),
        Err(RbmError::InvalidHyperparameter { name: "alpha", .. })
    ));
    assert!(matches!(
        model.discriminative_gradient(inputs),
        Err(RbmError::WidthMismatch {
            expected: 7,
            actual: 4
        })
    ));
    let learned_sigma =
        RbmConfig::new(4, 3).with_visible_units(VisibleUnits::Gaussian { learn_sigma: true });
    assert!(ClassRbmConfig::new(learned_sigma.clone(), 3)
        .init::<B>(device)
        .is_ok());
    assert!(matches!(
        ClassRbmConfig::new(learned_sigma, 3)
            .with_objective(Objective::Discriminative)
            .init::<B>(device),
        Err(RbmError::UnsupportedUnits { .. })
    ));
    assert!(matches!(
        ClassRbmConfig::new(
            RbmConfig::new(4, 3).with_visible_units(VisibleUnits::Softmax { group_size: 2 }),
            3
        )
        .init::<B>(device),
        Err(RbmError::UnsupportedUnits { .. })
    ));
    let rbm = RbmConfig::new(4, 3).init::<B>(device).unwrap();
    let parts = |classes: usize, hidden: usize, biases: usize| {
        ClassRbm::from_parts(
            rbm.clone(),
            Tensor::zeros([classes, hidden], device),
            Tensor::zeros([biases], device),
            Objective::Generative,
        )
    };
    assert!(parts(3, 3, 3).is_ok());
    assert!(
        matches!(parts(3, 4, 3), Err(RbmError::ShapeMismatch { what, .. }) if what.starts_with("label_weights"))
    );
    assert!(matches!(
        parts(1, 3, 1),
        Err(RbmError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        parts(3, 3, 2),
        Err(RbmError::ShapeMismatch {
            what: "label_bias",
            ..
        })
    ));
}
