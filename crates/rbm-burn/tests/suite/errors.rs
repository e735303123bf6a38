//! Bad input to the learner and the exact quantities gives the documented errors, and none of
//! these inputs panics. (`ZeroLayerSize`, `ShapeMismatch` from `from_tensors` and
//! `EnumerationTooLarge` are triggered in the unit tests of `rbm.rs` and in `exact.rs`.)

use burn::data::dataset::{Dataset, InMemDataset};
use burn::tensor::{backend::Backend, Tensor};
use rbm_burn::synthetic::bars_and_stripes;
use rbm_burn::{
    rows_to_tensor, BetaSchedule, CentredRbm, CentringConfig, ContrastiveDivergenceConfig,
    DatasetSource, Offsets, Rbm, RbmConfig, RbmError, ReverseAisConfig, SparsityConfig,
    TemperingConfig, VisibleUnits,
};

fn invalid(name: &str) -> impl Fn(&RbmError) -> bool + '_ {
    move |error| matches!(error, RbmError::InvalidHyperparameter { name: n, .. } if *n == name)
}

pub fn invalid_hyperparameters_are_rejected<B: Backend>(_device: &B::Device) {
    let base = ContrastiveDivergenceConfig::new;
    let cases: Vec<(ContrastiveDivergenceConfig, &str)> = vec![
        (base().with_k(0), "k"),
        (base().with_learning_rate(0.0), "learning_rate"),
        (base().with_learning_rate(-0.1), "learning_rate"),
        (base().with_learning_rate(f64::NAN), "learning_rate"),
        (base().with_learning_rate(f64::INFINITY), "learning_rate"),
        (base().with_batch_size(0), "batch_size"),
        (
            base().with_final_learning_rate(Some(0.0)),
            "final_learning_rate",
        ),
        (
            base().with_final_learning_rate(Some(f64::NAN)),
            "final_learning_rate",
        ),
        (base().with_initial_momentum(1.0), "initial_momentum"),
        (base().with_final_momentum(-0.1), "final_momentum"),
        (base().with_weight_decay(-1e-4), "weight_decay"),
        (base().with_weight_decay(f64::NAN), "weight_decay"),
        (base().with_monitor_size(0), "monitor_size"),
        (
            base().with_sparsity(Some(SparsityConfig::new(0.0, 1.0))),
            "sparsity.target",
        ),
        (
            base().with_sparsity(Some(SparsityConfig::new(0.1, -1.0))),
            "sparsity.cost",
        ),
        (
            base().with_sparsity(Some(SparsityConfig::new(0.1, 1.0).with_decay(1.0))),
            "sparsity.decay",
        ),
        (
            base().with_centring(Some(CentringConfig::new().with_offset_rate(0.0))),
            "centring.offset_rate",
        ),
        (
            base().with_centring(Some(CentringConfig::new().with_offset_rate(1.5))),
            "centring.offset_rate",
        ),
        (
            base().with_tempering(Some(TemperingConfig::new().with_temperatures(1))),
            "tempering.temperatures",
        ),
        (
            base().with_tempering(Some(TemperingConfig::new().with_min_beta(1.0))),
            "tempering.min_beta",
        ),
        (
            base().with_tempering(Some(TemperingConfig::new().with_min_beta(f64::NAN))),
            "tempering.min_beta",
        ),
    ];
    for (config, name) in cases {
        let error = config.init::<B, Rbm<B>>().unwrap_err();
        assert!(invalid(name)(&error), "{name}: got {error}");
        assert!(error.to_string().contains(name));
    }
    assert!(base().init::<B, Rbm<B>>().is_ok());
}

pub fn bad_training_data_is_rejected<B: Backend>(device: &B::Device) {
    let rbm = || RbmConfig::new(4, 3).init::<B>(device).unwrap();
    let mut learner = ContrastiveDivergenceConfig::new()
        .with_epochs(1)
        .init::<B, Rbm<B>>()
        .unwrap();
    let fit = |learner: &mut rbm_burn::ContrastiveDivergence<B>, data: Tensor<B, 2>| {
        learner.fit(rbm(), &data).map(|_| ()).unwrap_err()
    };

    assert_eq!(
        fit(&mut learner, Tensor::zeros([0, 4], device)),
        RbmError::EmptyData
    );
    assert_eq!(
        fit(&mut learner, Tensor::zeros([3, 5], device)),
        RbmError::WidthMismatch {
            expected: 4,
            actual: 5
        }
    );
    let mut values = [[0.0f32; 4]; 3];
    values[2][1] = f32::NAN;
    assert_eq!(
        fit(&mut learner, Tensor::from_floats(values, device)),
        RbmError::NonFiniteData { row: Some(2) }
    );
    values[2][1] = f32::NEG_INFINITY;
    assert_eq!(
        fit(&mut learner, Tensor::from_floats(values, device)),
        RbmError::NonFiniteData { row: Some(2) }
    );
    values[2][1] = 0.0;
    values[1][3] = 255.0;
    assert_eq!(
        fit(&mut learner, Tensor::from_floats(values, device)),
        RbmError::ValueOutOfRange {
            value: 255.0,
            row: Some(1)
        }
    );
    values[1][3] = -0.5;
    assert_eq!(
        fit(&mut learner, Tensor::from_floats(values, device)),
        RbmError::ValueOutOfRange {
            value: -0.5,
            row: Some(1)
        }
    );

    // The same checks guard `step`, `estimate_gradient` and the validation set.
    let bad = Tensor::<B, 2>::from_floats(values, device);
    assert!(matches!(
        learner.step(rbm(), bad.clone()),
        Err(RbmError::ValueOutOfRange { .. })
    ));
    assert!(matches!(
        learner.estimate_gradient(&rbm(), bad.clone()),
        Err(RbmError::ValueOutOfRange { .. })
    ));
    assert_eq!(
        learner
            .step(rbm(), Tensor::zeros([2, 3], device))
            .unwrap_err(),
        RbmError::WidthMismatch {
            expected: 4,
            actual: 3
        }
    );
    let good = Tensor::<B, 2>::zeros([3, 4], device);
    assert!(matches!(
        learner.fit_with(rbm(), &good, Some(&bad), &mut ()),
        Err(RbmError::ValueOutOfRange { .. })
    ));
}

/// A `Dataset` whose `len` promises more than `get` delivers.
struct Truncated;

impl Dataset<Vec<f32>> for Truncated {
    fn get(&self, index: usize) -> Option<Vec<f32>> {
        (index < 2).then(|| vec![0.0; 4])
    }
    fn len(&self) -> usize {
        5
    }
}

pub fn bad_streamed_rows_name_the_row<B: Backend>(device: &B::Device) {
    let rbm = || RbmConfig::new(4, 3).init::<B>(device).unwrap();
    let mut learner = ContrastiveDivergenceConfig::new()
        .with_epochs(1)
        .with_shuffle(false)
        .init::<B, Rbm<B>>()
        .unwrap();
    let mut rows = vec![vec![0.0f32; 4]; 6];
    rows[4][0] = 1.5;
    let dataset = DatasetSource::new(InMemDataset::new(rows.clone()));
    assert_eq!(
        learner.fit(rbm(), &dataset).map(|_| ()).unwrap_err(),
        RbmError::ValueOutOfRange {
            value: 1.5,
            row: Some(4)
        }
    );
    rows[4][0] = f32::NAN;
    let dataset = DatasetSource::new(InMemDataset::new(rows.clone()));
    assert_eq!(
        learner.fit(rbm(), &dataset).map(|_| ()).unwrap_err(),
        RbmError::NonFiniteData { row: Some(4) }
    );
    rows[4] = vec![0.0; 3];
    let dataset = DatasetSource::new(InMemDataset::new(rows));
    assert_eq!(
        learner.fit(rbm(), &dataset).map(|_| ()).unwrap_err(),
        RbmError::WidthMismatch {
            expected: 4,
            actual: 3
        }
    );
    let empty = DatasetSource::new(InMemDataset::<Vec<f32>>::new(vec![]));
    assert_eq!(
        learner.fit(rbm(), &empty).map(|_| ()).unwrap_err(),
        RbmError::EmptyData
    );
    let truncated = DatasetSource::new(Truncated);
    assert_eq!(
        learner.fit(rbm(), &truncated).map(|_| ()).unwrap_err(),
        RbmError::MissingRow { row: 2 }
    );
}

pub fn exact_quantities_reject_bad_data<B: Backend>(device: &B::Device) {
    let rbm = RbmConfig::new(4, 3).init::<B>(device).unwrap();
    let half = Tensor::<B, 2>::full([2, 4], 0.5, device);
    assert_eq!(
        rbm.log_likelihood_exact(half.clone()).unwrap_err(),
        RbmError::NotBinary { value: 0.5 }
    );
    assert!(matches!(
        rbm_burn::exact_log_likelihood_gradient(&rbm, half),
        Err(RbmError::NotBinary { .. })
    ));
    assert_eq!(
        rbm.log_likelihood_exact(Tensor::zeros([2, 6], device))
            .unwrap_err(),
        RbmError::WidthMismatch {
            expected: 4,
            actual: 6
        }
    );
    assert_eq!(
        rbm.log_likelihood_exact(Tensor::zeros([0, 4], device))
            .unwrap_err(),
        RbmError::EmptyData
    );
    assert_eq!(
        rows_to_tensor::<B, _>(&[vec![0.0f32; 2], vec![0.0; 3]], device).unwrap_err(),
        RbmError::WidthMismatch {
            expected: 2,
            actual: 3
        }
    );
    assert_eq!(
        rows_to_tensor::<B, Vec<f32>>(&[], device).unwrap_err(),
        RbmError::EmptyData
    );
}

/// A learning rate far too large with weight decay makes the weights oscillate with a growing
/// factor (1 − ε·λ ≈ −2·10²⁶) until they overflow: `fit` stops with an error that names the
/// epoch and batch instead of returning NaN weights, and so does `step`.
pub fn divergence_is_reported_with_epoch_and_batch<B: Backend>(device: &B::Device) {
    let data = rows_to_tensor::<B, _>(&bars_and_stripes(3), device).unwrap();
    let config = ContrastiveDivergenceConfig::new()
        .with_learning_rate(1e30)
        .with_weight_decay(2e-4)
        .with_batch_size(2)
        .with_shuffle(false);
    let rbm = || RbmConfig::new(9, 4).init::<B>(device).unwrap();
    let error = config
        .init::<B, Rbm<B>>()
        .unwrap()
        .fit(rbm(), &data)
        .map(|_| ())
        .unwrap_err();
    let RbmError::Diverged { epoch, batch } = error else {
        panic!("expected divergence, got {error}");
    };
    assert_eq!(epoch, 0);
    // ε·g ≈ 1e29 after the first update; the second multiplies by ≈ −2e26, past f32's 3.4e38.
    assert!(batch <= 2, "diverged at batch {batch}");

    let mut learner = config.init::<B, Rbm<B>>().unwrap();
    let mut model = rbm();
    let mut outcome = Ok(());
    for _ in 0..5 {
        match learner.step(model.clone(), data.clone().narrow(0, 0, 2)) {
            Ok(next) => model = next,
            Err(error) => {
                outcome = Err(error);
                break;
            }
        }
    }
    assert!(matches!(outcome, Err(RbmError::Diverged { epoch: 0, batch }) if batch <= 2));
}

/// A learner keeps momentum and chains shaped for the first model it trained; handing it a model
/// of another size is an error, not a panic inside Burn's shape checks.
pub fn a_learner_is_for_one_model_size<B: Backend>(device: &B::Device) {
    let data = rows_to_tensor::<B, _>(&bars_and_stripes(3), device).unwrap();
    let mut learner = ContrastiveDivergenceConfig::new()
        .with_epochs(1)
        .init::<B, Rbm<B>>()
        .unwrap();
    let small = RbmConfig::new(9, 4).init::<B>(device).unwrap();
    learner.fit(small, &data).unwrap();
    let large = RbmConfig::new(9, 6).init::<B>(device).unwrap();
    let expected = RbmError::ShapeMismatch {
        what: "model parameters (this learner's state was built for another model)",
        expected: vec![9, 4],
        actual: vec![9, 6],
    };
    assert_eq!(
        learner.fit(large.clone(), &data).map(|_| ()).unwrap_err(),
        expected
    );
    assert_eq!(
        learner
            .step(large.clone(), data.clone())
            .map(|_| ())
            .unwrap_err(),
        expected
    );
    assert_eq!(
        learner
            .estimate_gradient(&large, data)
            .map(|_| ())
            .unwrap_err(),
        expected
    );
}

/// Centring and tempering refuse models they do not apply to (Gaussian visible units here)
/// before any update, reverse AIS refuses an empty run or chunk count, and the centred view
/// checks its offsets' lengths and the unit types.
pub fn centring_tempering_and_reverse_ais_inputs_are_checked<B: Backend>(device: &B::Device) {
    let gaussian = || {
        RbmConfig::new(4, 3)
            .with_visible_units(VisibleUnits::Gaussian { learn_sigma: false })
            .init::<B>(device)
            .unwrap()
    };
    let batch = Tensor::<B, 2>::zeros([2, 4], device);
    for (config, operation) in [
        (
            ContrastiveDivergenceConfig::new().with_centring(Some(CentringConfig::new())),
            "centred training",
        ),
        (
            ContrastiveDivergenceConfig::new().with_tempering(Some(TemperingConfig::new())),
            "parallel tempering",
        ),
    ] {
        let mut learner = config.init::<B, Rbm<B>>().unwrap();
        let error = learner.step(gaussian(), batch.clone()).unwrap_err();
        assert!(
            matches!(error, RbmError::UnsupportedUnits { operation: o, .. } if o == operation),
            "{error}"
        );
    }

    let rbm = RbmConfig::new(4, 3).init::<B>(device).unwrap();
    let rows = Tensor::<B, 2>::zeros([2, 4], device);
    let schedule = BetaSchedule::uniform(10);
    for (config, name) in [
        (
            ReverseAisConfig::new()
                .with_runs_per_row(0)
                .with_schedule(schedule.clone()),
            "runs_per_row",
        ),
        (
            ReverseAisConfig::new()
                .with_chunk_rows(0)
                .with_schedule(schedule.clone()),
            "chunk_rows",
        ),
    ] {
        let error = rbm
            .reverse_ais_log_likelihood(&rows, &rows, &config)
            .unwrap_err();
        assert!(invalid(name)(&error), "{name}: got {error}");
    }
    assert!(rbm
        .reverse_ais_log_likelihood(
            &rows,
            &rows,
            &ReverseAisConfig::new().with_schedule(schedule)
        )
        .is_ok());

    let offsets = |v: usize, h: usize| Offsets {
        visible: Tensor::<B, 1>::zeros([v], device),
        hidden: Tensor::<B, 1>::zeros([h], device),
    };
    for (wrong, what) in [
        (offsets(5, 3), "visible offsets"),
        (offsets(4, 2), "hidden offsets"),
    ] {
        let error = CentredRbm::from_rbm(&rbm, wrong.clone()).unwrap_err();
        assert!(
            matches!(error, RbmError::ShapeMismatch { what: w, .. } if w == what),
            "{error}"
        );
        let centred = CentredRbm {
            offsets: wrong,
            ..CentredRbm::from_rbm(&rbm, offsets(4, 3)).unwrap()
        };
        assert!(matches!(
            centred.to_rbm(),
            Err(RbmError::ShapeMismatch { .. })
        ));
    }
    assert!(matches!(
        CentredRbm::from_rbm(&gaussian(), offsets(4, 3)),
        Err(RbmError::UnsupportedUnits { .. })
    ));
}
