//! The convolutional RBM: with single-unit pooling blocks it is the RBM with the tied dense
//! weight matrix (conditionals, free energy, exact `log Z`); probabilistic max-pooling against
//! enumeration of every block's states; learning strokes; saving and resuming.

use burn::tensor::{backend::Backend, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rbm_burn::{
    CdModel, ContrastiveDivergence, ContrastiveDivergenceConfig, ConvRbm, ConvRbmConfig, Rbm,
    RbmError, VisibleUnits,
};

use crate::common::*;

/// A model of `config`'s shape with N(0, 1) filters and N(0, 0.25) biases.
fn random_model<B: Backend>(config: &ConvRbmConfig, seed: u64, device: &B::Device) -> ConvRbm<B> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut draw = |n: usize, scale: f32| -> Vec<f32> {
        (0..n)
            .map(|_| {
                let u1: f32 = 1.0 - rng.random::<f32>();
                let u2: f32 = rng.random::<f32>();
                scale * (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
            })
            .collect()
    };
    let (k, c, f) = (config.filters, config.channels, config.filter_size);
    ConvRbm::from_tensors(
        config,
        Tensor::from_data(
            TensorData::new(draw(k * c * f * f, 1.0), [k, c, f, f]),
            device,
        ),
        Tensor::from_data(TensorData::new(draw(c, 0.5), [c]), device),
        Tensor::from_data(TensorData::new(draw(k, 0.5), [k]), device),
    )
    .unwrap()
}

/// Rows of binary images as `[n, C, H, W]`.
fn images<B: Backend>(rows: &[Vec<f64>], shape: [usize; 3], device: &B::Device) -> Tensor<B, 4> {
    let [c, h, w] = shape;
    rows_tensor::<B>(rows, device).reshape([rows.len(), c, h, w])
}

/// With 1 × 1 pooling blocks the convolutional RBM is the dense RBM whose weights tie each
/// filter at every position: the same hidden and visible conditionals and free energies on
/// random images of two channels (f32 sums of a few dozen terms: 1e-4), and on a one-channel
/// 4 × 4 image the same exact `log Z`, the convolutional one by summing `exp(−F(v))` over all
/// 2¹⁶ images, the dense one by enumerating its visible layer.
pub fn conv_rbm_with_single_unit_blocks_is_the_tied_dense_rbm<B: Backend>(device: &B::Device) {
    let config = ConvRbmConfig::new(2, 4, 5, 3, 2);
    let model = random_model::<B>(&config, 101, device);
    let dense = model.tied_rbm().unwrap();
    assert_eq!((dense.n_visible(), dense.n_hidden()), (40, 3 * 3 * 4));
    let rows = random_binary_rows(6, 40, 102);
    let flat = rows_tensor::<B>(&rows, device);
    let pictures = images::<B>(&rows, [2, 4, 5], device);
    let hidden = model.detection_probs(pictures.clone()).unwrap();
    let expected = to_f64(dense.hidden_probs(flat.clone()));
    assert!(max_abs_diff(&to_f64(hidden.clone()), &expected) < 1e-4);
    let visible = model.visible_means(hidden.clone()).unwrap();
    let expected = to_f64(dense.visible_probs(hidden.reshape([6, 36])));
    assert!(max_abs_diff(&to_f64(visible), &expected) < 1e-4);
    let free = to_f64(model.free_energy(pictures.clone()).unwrap());
    let expected = to_f64(dense.free_energy(flat.clone()));
    assert!(
        max_abs_diff(&free, &expected) < 1e-4,
        "{free:?} vs {expected:?}"
    );
    assert!(max_abs_diff(&to_f64(model.row_free_energy(&flat)), &expected) < 1e-4);
    // Handed over to a Burn `Conv2d`, the filters give the detection inputs.
    let conv = model.to_conv2d();
    let from_conv = burn::tensor::activation::sigmoid(conv.forward(pictures.clone()));
    let expected = to_f64(dense.hidden_probs(flat.clone()));
    assert!(max_abs_diff(&to_f64(from_conv), &expected) < 1e-4);

    let small = random_model::<B>(&ConvRbmConfig::new(1, 4, 4, 2, 2), 103, device);
    let all: Vec<Vec<f64>> = states(16).collect();
    let minus_f: Vec<f64> = to_f64(
        small
            .free_energy(images::<B>(&all, [1, 4, 4], device))
            .unwrap(),
    )
    .into_iter()
    .map(|f| -f)
    .collect();
    let log_z = log_sum_exp(minus_f);
    let dense_log_z = small.tied_rbm().unwrap().log_partition_exact().unwrap();
    assert!(
        (log_z - dense_log_z).abs() < 1e-3 * log_z.abs().max(1.0),
        "log Z {log_z} vs the tied RBM's {dense_log_z}"
    );
}

/// Probabilistic max-pooling against brute force: on 5 × 5 images with 2 × 2 filters the
/// detection map is 4 × 4, four blocks of 2 × 2, so one filter has 5⁴ = 625 states (at most one
/// unit on per block). The free energy equals `−log Σ_h exp(−E(v, h))` over them, each
/// detection probability equals the mass of the states with that unit on, and each block's
/// pooling probability is the sum of its units' (so with "all off" the block's states sum to
/// one).
pub fn probabilistic_max_pooling_matches_block_enumeration<B: Backend>(device: &B::Device) {
    let config = ConvRbmConfig::new(1, 5, 5, 1, 2).with_pool(2);
    let model = random_model::<B>(&config, 104, device);
    // Every allowed state: each of the 4 blocks off (4) or one of its 4 units on (0..4).
    let hidden_states: Vec<Vec<f64>> = (0..625)
        .map(|mut code| {
            let mut map = vec![0.0; 16];
            for block in 0..4 {
                let state = code % 5;
                code /= 5;
                if state < 4 {
                    let (row, column) = (2 * (block / 2) + state / 2, 2 * (block % 2) + state % 2);
                    map[row * 4 + column] = 1.0;
                }
            }
            map
        })
        .collect();
    let hidden = rows_tensor::<B>(&hidden_states, device).reshape([625, 1, 4, 4]);
    let rows = random_binary_rows(4, 25, 105);
    let pictures = images::<B>(&rows, [1, 5, 5], device);
    let free = to_f64(model.free_energy(pictures.clone()).unwrap());
    let probs = to_f64(model.detection_probs(pictures.clone()).unwrap());
    let pooled = to_f64(model.pool(pictures.clone()).unwrap());
    for (i, row) in rows.iter().enumerate() {
        let repeated = images::<B>(&vec![row.clone(); 625], [1, 5, 5], device);
        let minus_e: Vec<f64> = to_f64(model.energy(repeated, hidden.clone()).unwrap())
            .into_iter()
            .map(|e| -e)
            .collect();
        let log_z_h = log_sum_exp(minus_e.iter().copied());
        assert!(
            (free[i] + log_z_h).abs() < 1e-4 * log_z_h.abs().max(1.0),
            "image {i}: F = {} vs brute force {}",
            free[i],
            -log_z_h
        );
        for unit in 0..16 {
            let mass: f64 = hidden_states
                .iter()
                .zip(&minus_e)
                .filter(|(h, _)| h[unit] == 1.0)
                .map(|(_, m)| (m - log_z_h).exp())
                .sum();
            let got = probs[i * 16 + unit];
            assert!(
                (got - mass).abs() < 1e-5,
                "image {i} unit {unit}: {got} vs {mass}"
            );
        }
        for block in 0..4 {
            let (r, c) = (2 * (block / 2), 2 * (block % 2));
            let units: f64 = [(r, c), (r, c + 1), (r + 1, c), (r + 1, c + 1)]
                .iter()
                .map(|&(r, c)| probs[i * 16 + r * 4 + c])
                .sum();
            let pool = pooled[i * 4 + block];
            assert!(
                (pool - units).abs() < 1e-5 && pool < 1.0,
                "block {block}: {pool} vs {units}"
            );
        }
    }
}

/// 8 × 8 binary images with two strokes of three pixels each (horizontal or vertical, at
/// random places).
fn strokes(count: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let mut image = vec![0.0; 64];
            for _ in 0..2 {
                let horizontal = rng.random::<bool>();
                let (r, c) = if horizontal {
                    (rng.random_range(0..8), rng.random_range(0..6))
                } else {
                    (rng.random_range(0..6), rng.random_range(0..8))
                };
                for step in 0..3 {
                    let (r, c) = if horizontal {
                        (r, c + step)
                    } else {
                        (r + step, c)
                    };
                    image[r * 8 + c] = 1.0;
                }
            }
            image
        })
        .collect()
}

/// The images with their pixels shuffled (a Fisher–Yates shuffle per image): the same number
/// of on pixels, no strokes.
fn scattered(images: &[Vec<f64>], seed: u64) -> Vec<Vec<f64>> {
    let mut rng = StdRng::seed_from_u64(seed);
    images
        .iter()
        .map(|image| {
            let mut shuffled = image.clone();
            for i in (1..shuffled.len()).rev() {
                shuffled.swap(i, rng.random_range(0..=i));
            }
            shuffled
        })
        .collect()
}

/// A convolutional RBM learns strokes. Held-out stroke images are compared with the same
/// images' pixels scattered at random (the same number of on pixels): a model of independent
/// pixels, or one that learned nothing about shapes, gives both the same free energy on
/// average, so the gap measures what the filters learned about strokes. It must exceed 3 nats
/// per image (the scattered images lose every stroke, 2 per image, and a model that has
/// learned a stroke as a unit pays for each lost one), and the reconstruction error must fall
/// below half of the mean-image baseline `p(1 − p)`.
pub fn conv_rbm_learns_strokes<B: Backend>(device: &B::Device) {
    let train = rows_tensor::<B>(&strokes(600, 111), device);
    let test_rows = strokes(200, 112);
    let scattered_rows = scattered(&test_rows, 113);
    let model = ConvRbmConfig::new(1, 8, 8, 6, 3)
        .with_pool(2)
        .with_weight_std(0.1)
        .init::<B>(device)
        .unwrap();
    let (model, _) = ContrastiveDivergenceConfig::new()
        .with_learning_rate(0.05)
        .with_batch_size(20)
        .with_epochs(15)
        .with_weight_decay(0.0)
        .init()
        .unwrap()
        .fit(model, &train)
        .unwrap();
    let mean_free = |rows: &[Vec<f64>]| {
        let f = to_f64(
            model
                .free_energy(images::<B>(rows, [1, 8, 8], device))
                .unwrap(),
        );
        f.iter().sum::<f64>() / f.len() as f64
    };
    let gap = mean_free(&scattered_rows) - mean_free(&test_rows);
    let test = rows_tensor::<B>(&test_rows, device);
    let error: f64 = model.reconstruction_error(&test).into_scalar().elem();
    let p = test_rows.iter().flatten().sum::<f64>() / (64.0 * test_rows.len() as f64);
    eprintln!(
        "conv RBM: free-energy gap {gap:.2} nats, reconstruction {error:.4}, baseline {:.4}",
        p * (1.0 - p)
    );
    assert!(gap > 3.0, "free-energy gap {gap}");
    assert!(
        error < 0.5 * p * (1.0 - p),
        "reconstruction error {error}, baseline {}",
        p * (1.0 - p)
    );
}

use burn::tensor::ElementConversion;

/// A second convolutional layer trained on the pooled maps of the first (a convolutional DBN)
/// models their structure beyond each unit's mean: the log-likelihood ratio it assigns to the
/// pooled maps of held-out stroke images against those of the same images with their pixels
/// scattered (a difference of free energies, in which `log Z` cancels) must exceed the ratio
/// of the model of independent units with the training maps' means, which knows only the
/// marginals.
pub fn conv_rbm_stacks_on_pooled_maps<B: Backend>(device: &B::Device) {
    let train = rows_tensor::<B>(&strokes(400, 131), device);
    let learner = || {
        ContrastiveDivergenceConfig::new()
            .with_learning_rate(0.05)
            .with_batch_size(20)
            .with_epochs(10)
            .with_weight_decay(0.0)
            .init()
            .unwrap()
    };
    let first = ConvRbmConfig::new(1, 8, 8, 4, 3)
        .with_pool(2)
        .with_weight_std(0.1)
        .init::<B>(device)
        .unwrap();
    let (first, _) = learner().fit(first, &train).unwrap();
    let pooled = first.pooled_rows(train).unwrap();
    assert_eq!(pooled.dims(), [400, 4 * 3 * 3]);
    let second = first.stacked_config(4, 2, 1).init::<B>(device).unwrap();
    assert_eq!(second.image_shape(), [4, 3, 3]);
    let (second, _) = learner().fit(second, &pooled).unwrap();
    let test_rows = strokes(100, 132);
    let scattered = scattered(&test_rows, 133);
    let means: Vec<f64> = to_f64(pooled.clone().mean_dim(0));
    let up = |rows: &[Vec<f64>]| first.pooled_rows(rows_tensor::<B>(rows, device)).unwrap();
    let mean_free = |rows: &[Vec<f64>]| {
        let f = to_f64(second.row_free_energy(&up(rows)));
        f.iter().sum::<f64>() / f.len() as f64
    };
    // −log p of independent units with these means (a cross-entropy for fractional maps).
    let mean_independent = |rows: &[Vec<f64>]| {
        let values = to_f64(up(rows));
        let per_row = means.len();
        let total: f64 = values
            .iter()
            .enumerate()
            .map(|(i, &u)| {
                let q = means[i % per_row].clamp(1e-6, 1.0 - 1e-6);
                -(u * q.ln() + (1.0 - u) * (1.0 - q).ln())
            })
            .sum();
        total / (values.len() / per_row) as f64
    };
    let gap = mean_free(&scattered) - mean_free(&test_rows);
    let independent = mean_independent(&scattered) - mean_independent(&test_rows);
    eprintln!(
        "second layer: log-likelihood ratio {gap:.2} nats, independent units {independent:.2}"
    );
    assert!(
        gap > independent && gap > 0.0,
        "second layer {gap} vs independent units {independent}"
    );
    assert!(matches!(
        first.pooled_rows(Tensor::<B, 2>::zeros([2, 63], device)),
        Err(RbmError::WidthMismatch {
            expected: 64,
            actual: 63
        })
    ));
}

/// Training with PCD and sparsity, resumed from a checkpoint, ends bit for bit where the
/// uninterrupted run ends; the file keeps the structure and every parameter; bad shapes are
/// errors.
pub fn conv_rbm_saves_resumes_and_checks_shapes<B: Backend>(device: &B::Device) {
    let data = rows_tensor::<B>(&strokes(40, 121), device);
    let start = ConvRbmConfig::new(1, 8, 8, 3, 3)
        .with_pool(2)
        .with_weight_std(0.1)
        .init::<B>(device)
        .unwrap();
    let config = ContrastiveDivergenceConfig::new()
        .with_persistent(true)
        .with_batch_size(10)
        .with_epochs(4)
        .with_sparsity(Some(rbm_burn::SparsityConfig::new(0.1, 0.1)));
    let (whole, _) = config
        .init::<B, ConvRbm<B>>()
        .unwrap()
        .fit(start.clone(), &data)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conv.ckpt");
    let mut first = config
        .init::<B, ConvRbm<B>>()
        .unwrap()
        .with_checkpoints(&path, 2)
        .unwrap();
    drop(first.fit_until(start, &data, None, &mut (), 2).unwrap());
    let (mut resumed, model) =
        ContrastiveDivergence::<B, ConvRbm<B>>::load_checkpoint(&path, device).unwrap();
    assert_eq!(resumed.epoch(), 2);
    let (resumed, _) = resumed.fit(model, &data).unwrap();
    let all = |m: &ConvRbm<B>| {
        [
            to_f64(m.filters.val()),
            to_f64(m.visible_bias.val()),
            to_f64(m.hidden_bias.val()),
        ]
        .concat()
    };
    assert_eq!(all(&whole), all(&resumed));
    let file = dir.path().join("model.conv");
    whole.save(&file).unwrap();
    let loaded = ConvRbm::<B>::load(&file, device).unwrap();
    assert_eq!(all(&whole), all(&loaded));
    assert_eq!(loaded.config(), whole.config());
    assert!(Rbm::<B>::load(&file, device).is_err(), "not an RBM file");

    let wrong = Tensor::<B, 4>::zeros([2, 1, 7, 8], device);
    assert!(matches!(
        whole.pool(wrong),
        Err(RbmError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        ConvRbmConfig::new(1, 8, 8, 3, 4)
            .with_pool(2)
            .init::<B>(device),
        Err(RbmError::InvalidHyperparameter { name: "pool", .. })
    ));
    assert!(matches!(
        ConvRbmConfig::new(1, 8, 8, 3, 9).init::<B>(device),
        Err(RbmError::InvalidHyperparameter {
            name: "filter_size",
            ..
        })
    ));
    assert!(matches!(
        ConvRbmConfig::new(1, 8, 8, 0, 3).init::<B>(device),
        Err(RbmError::InvalidHyperparameter {
            name: "filters",
            ..
        })
    ));
    assert!(matches!(
        ConvRbmConfig::new(1, 8, 8, 3, 3)
            .with_weight_std(f64::NAN)
            .init::<B>(device),
        Err(RbmError::InvalidHyperparameter {
            name: "weight_std",
            ..
        })
    ));
    assert!(matches!(
        ConvRbmConfig::new(1, usize::MAX / 2, 8, 3, 3).init::<B>(device),
        Err(RbmError::InvalidHyperparameter { name: "height", .. })
    ));
    for units in [
        VisibleUnits::Softmax { group_size: 2 },
        VisibleUnits::Gaussian { learn_sigma: true },
    ] {
        assert!(matches!(
            ConvRbmConfig::new(1, 8, 8, 3, 3)
                .with_visible_units(units)
                .init::<B>(device),
            Err(RbmError::UnsupportedUnits { .. })
        ));
    }
    let config = whole.config();
    let parts = |filter: usize, hidden: usize| {
        ConvRbm::<B>::from_tensors(
            &config,
            Tensor::zeros([3, 1, filter, filter], device),
            Tensor::zeros([1], device),
            Tensor::zeros([hidden], device),
        )
    };
    assert!(parts(3, 3).is_ok());
    assert!(matches!(
        parts(2, 3),
        Err(RbmError::ShapeMismatch {
            what: "filters",
            ..
        })
    ));
    assert!(matches!(
        parts(3, 4),
        Err(RbmError::ShapeMismatch {
            what: "hidden_bias",
            ..
        })
    ));
    assert!(matches!(
        whole.pool(Tensor::<B, 4>::zeros([0, 1, 8, 8], device)),
        Err(RbmError::EmptyData)
    ));
    assert!(matches!(
        whole.visible_means(Tensor::<B, 4>::zeros([2, 3, 5, 6], device)),
        Err(RbmError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        whole.energy(
            Tensor::<B, 4>::zeros([2, 1, 8, 8], device),
            Tensor::<B, 4>::zeros([3, 3, 6, 6], device)
        ),
        Err(RbmError::ShapeMismatch { .. })
    ));
    let big = ConvRbmConfig::new(1, 100, 100, 8, 3)
        .init::<B>(device)
        .unwrap();
    assert!(matches!(
        big.tied_rbm(),
        Err(RbmError::InvalidHyperparameter { .. })
    ));
}
