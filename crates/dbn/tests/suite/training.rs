//! Pre-training, fine-tuning and sampling learn what the data holds.

use burn::data::dataset::Dataset;
use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::ElementConversion;
use dbn::{
    ClassDataset, DbnConfig, FineTuneConfig, FineTuneHistory, FineTuneMetrics, Mlp, MlpConfig,
    OptimizerChoice, PassUp,
};
use rbm_burn::rand::rngs::StdRng;
use rbm_burn::rand::SeedableRng;
use rbm_burn::{
    ContrastiveDivergenceConfig, DatasetSource, EpochMetrics, Progress, TrainingObserver,
};

use crate::common::{noisy_classes, prototypes, CLASSES, FLIP, WIDTH};

fn cd(epochs: usize) -> ContrastiveDivergenceConfig {
    ContrastiveDivergenceConfig::new()
        .with_epochs(epochs)
        .with_batch_size(20)
        .with_learning_rate(0.1)
        .with_seed(5)
}

#[derive(Default)]
struct Recorder {
    starts: Vec<(usize, usize, usize, usize)>,
    epochs: Vec<(usize, usize)>,
    batches: usize,
}

impl TrainingObserver for Recorder {
    fn on_layer_start(&mut self, layer: usize, n_layers: usize, n_visible: usize, n_hidden: usize) {
        self.starts.push((layer, n_layers, n_visible, n_hidden));
    }

    fn on_batch_end(&mut self, progress: Progress) {
        assert!(progress.layer.is_some() && progress.batch < progress.batches);
        self.batches += 1;
    }

    fn on_epoch_end(&mut self, progress: Progress, metrics: &EpochMetrics) {
        assert_eq!(progress.epoch, metrics.epoch);
        self.epochs.push((progress.layer.unwrap(), metrics.epoch));
    }
}

pub fn pretraining_reports_every_layer<B: Backend>(device: &B::Device) {
    let data = noisy_classes(100, 1).features_tensor::<B>(device);
    // One learner per layer: 2 epochs, then 3, of 20 batches each.
    let fast = |epochs| cd(epochs).with_batch_size(5).with_learning_rate(0.5);
    let config = DbnConfig::new(vec![WIDTH, 12, 6]).with_cd(vec![fast(2), fast(3)]);
    let mut recorder = Recorder::default();
    let (dbn, history) = config
        .pretrain_with::<B, _, _>(&data, &mut recorder, device)
        .unwrap();
    assert_eq!(recorder.starts, vec![(0, 2, WIDTH, 12), (1, 2, 12, 6)]);
    assert_eq!(
        recorder.epochs,
        vec![(0, 0), (0, 1), (1, 0), (1, 1), (1, 2)]
    );
    assert_eq!(recorder.batches, 5 * 20);
    assert_eq!(history.layers.len(), 2);
    assert_eq!(history.layers[1].epochs.len(), 3);
    // The bottom layer learned: it reconstructs the data better than the untrained one.
    let untrained = config.init::<B>(device).unwrap();
    let error = |rbm| {
        rbm_burn::reconstruction_error(rbm, data.clone())
            .into_scalar()
            .elem::<f64>()
    };
    let (before, after) = (error(&untrained.layers[0]), error(&dbn.layers[0]));
    assert!(
        after < 0.8 * before,
        "reconstruction error {before} -> {after}"
    );
    assert_eq!(dbn.sizes(), vec![WIDTH, 12, 6]);
}

pub fn dataset_and_tensor_pretraining_agree<B: Backend>(device: &B::Device) {
    let classes = noisy_classes(60, 4);
    for pass_up in [PassUp::Probabilities, PassUp::Samples] {
        let config = DbnConfig::new(vec![WIDTH, 10, 5])
            .with_cd(vec![cd(2)])
            .with_pass_up(pass_up);
        let (from_tensor, _) = config
            .pretrain::<B, _>(&classes.features_tensor::<B>(device), device)
            .unwrap();
        let (from_dataset, _) = config
            .pretrain::<B, _>(&DatasetSource::new(classes.clone()), device)
            .unwrap();
        for (a, b) in from_tensor.layers.iter().zip(&from_dataset.layers) {
            let diff = crate::common::max_abs_diff(a.weights.val(), b.weights.val());
            assert!(diff < 1e-5, "{pass_up:?}: weights differ by {diff}");
        }
    }
}

pub fn samples_come_from_the_learned_patterns<B: Backend>(device: &B::Device) {
    // Noise-free prototypes: the DBN should generate images near one of them.
    let protos = prototypes();
    let features: Vec<f32> = (0..200).flat_map(|i| protos[i % CLASSES].clone()).collect();
    let labels = (0..200).map(|i| i % CLASSES).collect();
    let data = ClassDataset::new(features, WIDTH, labels)
        .unwrap()
        .features_tensor::<B>(device);
    let config = DbnConfig::new(vec![WIDTH, 16, 8]).with_cd(vec![cd(30)]);
    let (dbn, _) = config.pretrain::<B, _>(&data, device).unwrap();
    let samples = dbn.sample(40, 50, &mut StdRng::seed_from_u64(1)).unwrap();
    assert_eq!(samples.dims(), [40, WIDTH]);
    let samples: Vec<f32> = samples.into_data().to_vec().unwrap();
    // Random images are 0.5 away from the nearest prototype per pixel on average (a uniform
    // grey image exactly 0.5); learned samples should be much closer than that.
    let mut near = 0;
    for sample in samples.chunks(WIDTH) {
        assert!(sample.iter().all(|v| (0.0..=1.0).contains(v)));
        let distance = protos
            .iter()
            .map(|p| {
                p.iter()
                    .zip(sample)
                    .map(|(a, b)| (a - b).abs())
                    .sum::<f32>()
                    / WIDTH as f32
            })
            .fold(f32::INFINITY, f32::min);
        near += usize::from(distance < 0.2);
    }
    assert!(near >= 30, "only {near} of 40 samples are near a prototype");
}

/// Held-out accuracy a fine-tuned DBN must reach on the synthetic classes. Any two prototypes
/// differ in at least 12 of 24 pixels and each pixel flips with probability 0.1, so the
/// Bayes-optimal classifier errs only when 6 or more of those 12 flip: P ≈ 5·10⁻⁴. Chance is
/// 25%; 95% leaves room for a small training set while failing any classifier that has not
/// learned the classes.
const REQUIRED_ACCURACY: f64 = 0.95;

pub fn pretrained_classifier_learns_synthetic_classes<B: AutodiffBackend>(device: &B::Device) {
    const { assert!(FLIP < 0.2) };
    let train = noisy_classes(400, 11);
    let test = noisy_classes(400, 12);
    let inner_device = device.clone();
    let config = DbnConfig::new(vec![WIDTH, 16, 8]).with_cd(vec![cd(5)]);
    let (dbn, _) = config
        .pretrain::<B::InnerBackend, _>(
            &train.features_tensor::<B::InnerBackend>(&inner_device),
            &inner_device,
        )
        .unwrap();
    let mlp = Mlp::<B>::from_inner(dbn.to_mlp(CLASSES, 1).unwrap());
    let mut seen = Vec::new();
    let mut observer = |m: &FineTuneMetrics| seen.push(m.clone());
    let (mlp, history) = FineTuneConfig::new()
        .with_epochs(8)
        .with_batch_size(20)
        .with_learning_rate(0.01)
        .fit(mlp, train, Some(&test as &dyn Dataset<_>), &mut observer)
        .unwrap();
    assert_eq!(seen.len(), 8);
    assert_eq!(seen, history.epochs);
    let first = &history.epochs[0];
    let last = history.last().unwrap();
    assert!(last.train_loss < first.train_loss, "{first:?} → {last:?}");
    let accuracy = dbn::accuracy(&mlp.valid(), &test, 64).unwrap();
    assert_eq!(Some(accuracy), last.test_accuracy);
    assert!(accuracy >= REQUIRED_ACCURACY, "test accuracy {accuracy}");
}

/// `final_learning_rate` is used from the first epoch to the last, linearly in between. With
/// plain SGD, a second epoch at a rate of 1e-9 moves each weight by 1e-9 × its gradient, far
/// below f32 resolution of the outputs compared here (1e-5), while a second epoch at the full
/// rate changes them by much more: the decayed run ends where the one-epoch run ended.
pub fn fine_tuning_learning_rate_decays_to_its_final_value<B: AutodiffBackend>(device: &B::Device) {
    let train = noisy_classes(200, 23);
    let probe = train.features_tensor::<B::InnerBackend>(device);
    let mlp = MlpConfig::new(vec![WIDTH, 8], CLASSES)
        .with_seed(3)
        .init::<B>(device)
        .unwrap();
    let sgd = FineTuneConfig::new()
        .with_batch_size(10)
        .with_learning_rate(0.5)
        .with_optimizer(OptimizerChoice::Sgd { momentum: 0.0 });
    let run = |config: FineTuneConfig| {
        let (model, history) = config
            .fit(mlp.clone(), train.clone(), None, &mut ())
            .unwrap();
        let rates: Vec<f64> = history.epochs.iter().map(|m| m.learning_rate).collect();
        let out: Vec<f32> = model
            .valid()
            .forward(probe.clone())
            .into_data()
            .to_vec()
            .unwrap();
        (rates, out)
    };
    let largest_change = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    };
    let (one_rates, one) = run(sgd.clone().with_epochs(1));
    let (decayed_rates, decayed) = run(sgd
        .clone()
        .with_epochs(2)
        .with_final_learning_rate(Some(1e-9)));
    let (constant_rates, constant) = run(sgd.clone().with_epochs(2));
    assert_eq!(one_rates, [0.5]);
    assert_eq!(decayed_rates, [0.5, 1e-9]);
    assert_eq!(constant_rates, [0.5, 0.5]);
    assert!(largest_change(&one, &decayed) < 1e-5);
    assert!(largest_change(&one, &constant) > 1e-2);

    let five = sgd
        .clone()
        .with_epochs(5)
        .with_final_learning_rate(Some(0.1));
    let rates: Vec<f64> = (0..6).map(|e| five.learning_rate_at(e)).collect();
    let expected = [0.5, 0.4, 0.3, 0.2, 0.1, 0.1];
    assert!(
        rates
            .iter()
            .zip(expected)
            .all(|(r, e)| (r - e).abs() < 1e-12),
        "{rates:?}"
    );
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(sgd
            .clone()
            .with_final_learning_rate(Some(bad))
            .validate()
            .is_err());
    }
}

/// Dropout is applied while fitting, from a seeded stream, and only then. With the inputs
/// dropped at p = 0.98, nearly every example reaches the model as all zeros, and the best the
/// model can do is the class frequencies: the training loss stays near ln 4 ≈ 1.39 (an
/// example keeps any input with probability 1 − 0.98²⁴ ≈ 0.38, so the loss cannot drop below
/// about 0.62 · ln 4 ≈ 0.85), while the same run without dropout goes below 0.5. A moderate
/// dropout still learns the classes; the same seed gives the same run and another seed
/// another one.
pub fn dropout_is_applied_while_fitting_and_seeded<B: AutodiffBackend>(device: &B::Device) {
    let train = noisy_classes(200, 31);
    let test = noisy_classes(200, 32);
    let mlp = MlpConfig::new(vec![WIDTH, 16], CLASSES)
        .with_seed(4)
        .init::<B>(device)
        .unwrap();
    let config = FineTuneConfig::new()
        .with_epochs(6)
        .with_batch_size(10)
        .with_learning_rate(0.02);
    let fit = |config: FineTuneConfig| {
        config
            .fit(
                mlp.clone(),
                train.clone(),
                Some(&test as &dyn Dataset<_>),
                &mut (),
            )
            .unwrap()
    };
    let last_loss = |config: FineTuneConfig| fit(config).1.last().unwrap().train_loss;
    let plain = last_loss(config.clone());
    let blind = last_loss(config.clone().with_input_dropout(0.98));
    assert!(plain < 0.5, "without dropout: loss {plain}");
    assert!(blind > 0.85, "inputs dropped at 0.98: loss {blind}");

    let dropped = config.clone().with_dropout(0.3).with_input_dropout(0.1);
    let (model, history) = fit(dropped.clone());
    let (_, again) = fit(dropped.clone());
    let (_, other) = fit(dropped.clone().with_seed(9));
    assert_eq!(history, again_without_seconds(&again, &history));
    assert_ne!(
        history.last().unwrap().train_loss,
        other.last().unwrap().train_loss
    );
    let accuracy = dbn::accuracy(&model.valid(), &test, 50).unwrap();
    assert!(
        accuracy >= REQUIRED_ACCURACY,
        "with dropout: test accuracy {accuracy}"
    );
    for bad in [1.0, -0.1, f64::NAN] {
        assert!(config.clone().with_dropout(bad).validate().is_err());
        assert!(config.clone().with_input_dropout(bad).validate().is_err());
    }
}

/// `run` with the wall times of `reference` (the only field that may differ between two
/// identical runs).
fn again_without_seconds(run: &FineTuneHistory, reference: &FineTuneHistory) -> FineTuneHistory {
    let mut run = run.clone();
    for (m, r) in run.epochs.iter_mut().zip(&reference.epochs) {
        m.seconds = r.seconds;
    }
    run
}

pub fn sgd_fine_tuning_lowers_the_loss<B: AutodiffBackend>(device: &B::Device) {
    let train = noisy_classes(200, 21);
    let mlp = MlpConfig::new(vec![WIDTH, 8], CLASSES)
        .init::<B>(device)
        .unwrap();
    let (_, history) = FineTuneConfig::new()
        .with_epochs(5)
        .with_batch_size(10)
        .with_learning_rate(0.1)
        .with_optimizer(OptimizerChoice::Sgd { momentum: 0.9 })
        .fit(mlp, train, None, &mut ())
        .unwrap();
    let losses: Vec<f64> = history.epochs.iter().map(|m| m.train_loss).collect();
    assert!(losses[4] < 0.5 * losses[0], "{losses:?}");
    assert!(history.epochs.iter().all(|m| m.test_accuracy.is_none()));
    let bad = FineTuneConfig::new().with_optimizer(OptimizerChoice::Sgd { momentum: 1.0 });
    assert!(bad.validate().is_err());
}
