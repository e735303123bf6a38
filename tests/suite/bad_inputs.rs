//! A table of bad inputs across the public API — hyperparameters, data values and shapes,
//! unit-type constraints, file contents, DBN layer chains and the examples' command-line flags.
//! Each must give its specific error (checked against the error's `Debug` form, which names the
//! variant and the offending field) and none may panic.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use burn::backend::NdArray;
use burn::tensor::{Tensor, TensorData};
use clap::Parser;
use dbn::{ClassDataset, Dbn, DbnConfig};
use rbm_burn::{
    AisConfig, ContrastiveDivergence, ContrastiveDivergenceConfig, HiddenUnits, Rbm, RbmConfig,
    SparsityConfig, VisibleUnits,
};
use rbm_burn_examples::dbn_mnist;

type B = NdArray;
type Outcome = Result<(), String>;
/// A case: its name, what it runs, and what its error must contain.
type Case<'a> = (&'a str, Box<dyn Fn() -> Outcome + 'a>, &'a str);

fn device() -> burn::backend::ndarray::NdArrayDevice {
    Default::default()
}

fn tensor(rows: &[&[f32]]) -> Tensor<B, 2> {
    let width = rows.first().map_or(0, |r| r.len());
    let values: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Tensor::from_data(TensorData::new(values, [rows.len(), width]), &device())
}

fn rbm(n_visible: usize, n_hidden: usize) -> Rbm<B> {
    RbmConfig::new(n_visible, n_hidden).init(&device()).unwrap()
}

/// The `Debug` form of an error, as the table compares it.
fn fails<T, E: std::fmt::Debug>(result: Result<T, E>) -> Outcome {
    match result {
        Ok(_) => Ok(()),
        Err(e) => Err(format!("{e:?}")),
    }
}

/// Trains one epoch of default CD on `data`, with an RBM as wide as the data.
fn train(data: Tensor<B, 2>) -> Outcome {
    let n_visible = data.dims()[1].max(1);
    let mut learner = ContrastiveDivergenceConfig::new()
        .with_epochs(1)
        .init::<B, Rbm<B>>()
        .unwrap();
    fails(learner.fit(rbm(n_visible, 2), &data))
}

/// Runs `dbn_mnist` with `flags` (parsing included) on an empty output directory.
fn dbn_mnist_run(flags: &[&str], out: &Path) -> Outcome {
    let mut argv = vec!["dbn_mnist".to_string()];
    argv.extend(flags.iter().map(|f| f.to_string()));
    if !flags.contains(&"--resume") {
        argv.extend(["--out".to_string(), out.display().to_string()]);
    }
    let args = dbn_mnist::Args::try_parse_from(argv).map_err(|e| format!("{:?}", e.kind()))?;
    rbm_burn_examples::pipelines::dbn_mnist(&args)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[test]
fn every_bad_input_gives_its_error_and_none_panics() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str| dir.path().join(name);
    // Files for the file cases: a good RBM, a DBN, and damaged copies.
    rbm(4, 3).save(file("good.rbm")).unwrap();
    let good = std::fs::read(file("good.rbm")).unwrap();
    std::fs::write(file("half.rbm"), &good[..good.len() / 2]).unwrap();
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    std::fs::write(file("flipped.rbm"), &flipped).unwrap();
    std::fs::write(file("text.rbm"), b"weights = [1, 2, 3]\n").unwrap();
    Dbn::from_layers(vec![rbm(4, 3), rbm(3, 2)])
        .unwrap()
        .save(file("stack.dbn"))
        .unwrap();
    let empty_dir = tempfile::tempdir().unwrap();
    // A finished pre-training checkpoint of a 4-3-2 stack.
    let small_dbn = DbnConfig::new(vec![4, 3, 2])
        .with_cd(vec![ContrastiveDivergenceConfig::new().with_epochs(1)]);
    let rows: Vec<&[f32]> = vec![&[0.0, 1.0, 1.0, 0.0]; 6];
    small_dbn
        .pretrain_with_checkpoints::<B, _, _>(
            &tensor(&rows),
            &mut (),
            file("pretrain.ckpt"),
            1,
            &device(),
        )
        .unwrap();
    let resume = {
        let (config, path) = (small_dbn.clone(), file("pretrain.ckpt"));
        move |data: Tensor<B, 2>| {
            fails(config.resume_pretraining::<B, _, _>(&path, &data, &mut (), 1, &device()))
        }
    };
    let resume_wide = resume.clone();

    let binary = tensor(&[&[0.0, 1.0, 1.0, 0.0]]);
    let cd = ContrastiveDivergenceConfig::new;
    let cases: Vec<Case> = vec![
        // RBM hyperparameters.
        (
            "no visible units",
            Box::new(|| fails(RbmConfig::new(0, 5).init::<B>(&device()))),
            "ZeroLayerSize { n_visible: 0, n_hidden: 5 }",
        ),
        (
            "negative weight std",
            Box::new(|| {
                fails(
                    RbmConfig::new(4, 3)
                        .with_weight_std(-1.0)
                        .init::<B>(&device()),
                )
            }),
            "InvalidHyperparameter { name: \"weight_std\"",
        ),
        (
            "zero sigma",
            Box::new(|| {
                fails(
                    RbmConfig::new(4, 3)
                        .with_visible_units(VisibleUnits::Gaussian { learn_sigma: false })
                        .with_initial_sigma(0.0)
                        .init::<B>(&device()),
                )
            }),
            "InvalidHyperparameter { name: \"initial_sigma\"",
        ),
        (
            "softmax group not dividing",
            Box::new(|| {
                fails(
                    RbmConfig::new(10, 3)
                        .with_visible_units(VisibleUnits::Softmax { group_size: 3 })
                        .init::<B>(&device()),
                )
            }),
            "InvalidHyperparameter { name: \"group_size\"",
        ),
        // Contrastive-divergence hyperparameters.
        (
            "k = 0",
            Box::new(move || fails(cd().with_k(0).init::<B, Rbm<B>>())),
            "name: \"k\"",
        ),
        (
            "NaN learning rate",
            Box::new(move || fails(cd().with_learning_rate(f64::NAN).init::<B, Rbm<B>>())),
            "name: \"learning_rate\"",
        ),
        (
            "negative final rate",
            Box::new(move || {
                fails(
                    cd().with_final_learning_rate(Some(-1.0))
                        .init::<B, Rbm<B>>(),
                )
            }),
            "name: \"final_learning_rate\"",
        ),
        (
            "momentum 1",
            Box::new(move || fails(cd().with_initial_momentum(1.0).init::<B, Rbm<B>>())),
            "name: \"initial_momentum\"",
        ),
        (
            "negative momentum",
            Box::new(move || fails(cd().with_final_momentum(-0.1).init::<B, Rbm<B>>())),
            "name: \"final_momentum\"",
        ),
        (
            "negative weight decay",
            Box::new(move || fails(cd().with_weight_decay(-1.0).init::<B, Rbm<B>>())),
            "name: \"weight_decay\"",
        ),
        (
            "zero batch size",
            Box::new(move || fails(cd().with_batch_size(0).init::<B, Rbm<B>>())),
            "name: \"batch_size\"",
        ),
        (
            "zero monitor size",
            Box::new(move || fails(cd().with_monitor_size(0).init::<B, Rbm<B>>())),
            "name: \"monitor_size\"",
        ),
        (
            "sparsity target 1.5",
            Box::new(move || {
                fails(
                    cd().with_sparsity(Some(SparsityConfig::new(1.5, 0.1)))
                        .init::<B, Rbm<B>>(),
                )
            }),
            "name: \"sparsity.target\"",
        ),
        (
            "negative sparsity cost",
            Box::new(move || {
                fails(
                    cd().with_sparsity(Some(SparsityConfig::new(0.1, -1.0)))
                        .init::<B, Rbm<B>>(),
                )
            }),
            "name: \"sparsity.cost\"",
        ),
        (
            "sparsity decay 1",
            Box::new(move || {
                fails(
                    cd().with_sparsity(Some(SparsityConfig::new(0.1, 0.1).with_decay(1.0)))
                        .init::<B, Rbm<B>>(),
                )
            }),
            "name: \"sparsity.decay\"",
        ),
        (
            "checkpoints every 0",
            Box::new(move || fails(cd().init::<B, Rbm<B>>().unwrap().with_checkpoints("x", 0))),
            "name: \"checkpoint every\"",
        ),
        // Data values and shapes.
        (
            "empty data",
            Box::new(|| train(Tensor::<B, 2>::zeros([0, 4], &device()))),
            "EmptyData",
        ),
        (
            "wrong width",
            Box::new(|| {
                fails(
                    cd().init::<B, Rbm<B>>()
                        .unwrap()
                        .fit(rbm(5, 2), &tensor(&[&[0.0, 1.0, 1.0, 0.0]])),
                )
            }),
            "WidthMismatch { expected: 5, actual: 4 }",
        ),
        (
            "NaN in the data",
            Box::new(|| train(tensor(&[&[0.0, f32::NAN, 1.0, 0.0]]))),
            "NonFiniteData",
        ),
        (
            "1.5 for binary units",
            Box::new(|| train(tensor(&[&[0.0, 1.5, 1.0, 0.0]]))),
            "ValueOutOfRange",
        ),
        (
            "two ones in a softmax group",
            Box::new(|| {
                let rbm = RbmConfig::new(4, 2)
                    .with_visible_units(VisibleUnits::Softmax { group_size: 2 })
                    .init::<B>(&device())
                    .unwrap();
                fails(
                    cd().init::<B, Rbm<B>>()
                        .unwrap()
                        .fit(rbm, &tensor(&[&[1.0, 1.0, 0.0, 1.0]])),
                )
            }),
            "InvalidGroup",
        ),
        (
            "probabilities for an exact likelihood",
            Box::new(|| fails(rbm(4, 3).log_likelihood_exact(tensor(&[&[0.5, 1.0, 0.0, 1.0]])))),
            "NotBinary",
        ),
        (
            "enumerating 2^40 states",
            Box::new(|| fails(rbm(40, 40).log_partition_exact())),
            "EnumerationTooLarge",
        ),
        (
            "AIS with ReLU hidden units",
            Box::new(move || {
                let relu = RbmConfig::new(4, 3)
                    .with_hidden_units(HiddenUnits::Relu)
                    .init::<B>(&device())
                    .unwrap();
                fails(relu.ais_log_partition(&binary, &AisConfig::new()))
            }),
            "UnsupportedUnits",
        ),
        // File contents.
        (
            "missing model file",
            Box::new(move || fails(Rbm::<B>::load(file("none.rbm"), &device()))),
            "kind: NotFound",
        ),
        (
            "text instead of a model",
            Box::new(move || fails(Rbm::<B>::load(file("text.rbm"), &device()))),
            "NotAnRbmBurnFile",
        ),
        (
            "truncated model",
            Box::new(move || fails(Rbm::<B>::load(file("half.rbm"), &device()))),
            "Truncated",
        ),
        (
            "flipped bit",
            Box::new(move || fails(Rbm::<B>::load(file("flipped.rbm"), &device()))),
            "Corrupt { reason: \"checksum",
        ),
        (
            "a DBN loaded as an RBM",
            Box::new(move || fails(Rbm::<B>::load(file("stack.dbn"), &device()))),
            "WrongContent { expected: \"rbm\", found: \"dbn\" }",
        ),
        (
            "an RBM loaded as a DBN",
            Box::new(move || fails(Dbn::<B>::load(file("good.rbm"), &device()))),
            "WrongContent { expected: \"dbn\", found: \"rbm\" }",
        ),
        (
            "a model of another size",
            Box::new(move || {
                fails(RbmConfig::new(4, 5).init_from_file::<B>(file("good.rbm"), &device()))
            }),
            "Mismatch { what: \"the model size (visible × hidden)\"",
        ),
        (
            "an RBM loaded as a checkpoint",
            Box::new(move || {
                fails(ContrastiveDivergence::<B>::load_checkpoint(
                    file("good.rbm"),
                    &device(),
                ))
            }),
            "WrongContent { expected: \"rbm cd-checkpoint\", found: \"rbm\" }",
        ),
        // DBN layer chains and data.
        (
            "one layer size",
            Box::new(|| fails(DbnConfig::new(vec![784]).init::<B>(&device()))),
            "NoLayers { got: 1 }",
        ),
        (
            "an empty hidden layer",
            Box::new(|| fails(DbnConfig::new(vec![784, 0, 10]).init::<B>(&device()))),
            "ZeroLayerSize { layer: 1 }",
        ),
        (
            "layers that do not chain",
            Box::new(|| fails(Dbn::from_layers(vec![rbm(4, 3), rbm(2, 2)]))),
            "LayerMismatch { layer: 1",
        ),
        (
            "ReLU hidden units in a DBN",
            Box::new(|| {
                let relu = RbmConfig::new(4, 3)
                    .with_hidden_units(HiddenUnits::Relu)
                    .init::<B>(&device())
                    .unwrap();
                fails(Dbn::from_layers(vec![relu]))
            }),
            "UnsupportedUnits { layer: 0",
        ),
        (
            "two learners for three RBMs",
            Box::new(move || {
                fails(
                    DbnConfig::new(vec![4, 3, 3, 2])
                        .with_cd(vec![cd(), cd()])
                        .init::<B>(&device()),
                )
            }),
            "LayerCount",
        ),
        (
            "a label out of range",
            Box::new(|| {
                fails(
                    ClassDataset::new(vec![0.0; 4], 2, vec![0, 12])
                        .and_then(|d| dbn::check_dataset(&d, 2, 10)),
                )
            }),
            "LabelOutOfRange { row: 1, label: 12, n_classes: 10 }",
        ),
        (
            "resuming with data of another width",
            Box::new(move || resume_wide(tensor(&[&[0.0, 1.0, 1.0, 0.0, 1.0]]))),
            "InputWidth { expected: 4, actual: 5 }",
        ),
        (
            "resuming with NaN in the data",
            Box::new(move || resume(tensor(&[&[0.0, f32::NAN, 1.0, 0.0]]))),
            "NonFiniteData",
        ),
        // The examples' command-line flags.
        (
            "a batch size that is not a number",
            Box::new(move || dbn_mnist_run(&["--batch-size", "ten"], dir_path())),
            "ValueValidation",
        ),
        (
            "an unknown backend",
            Box::new(move || dbn_mnist_run(&["--backend", "cuda"], dir_path())),
            "InvalidValue",
        ),
        (
            "an unknown flag",
            Box::new(move || dbn_mnist_run(&["--epochs", "3"], dir_path())),
            "UnknownArgument",
        ),
        (
            "no MNIST files",
            Box::new({
                let empty = empty_dir.path().to_path_buf();
                move || {
                    dbn_mnist_run(
                        &["--data-dir", &empty.display().to_string()],
                        &empty.join("out"),
                    )
                }
            }),
            "train-images-idx3-ubyte(.gz) not found",
        ),
        (
            "zero sample steps",
            Box::new(|| dbn_mnist_run(&["--sample-steps", "0"], dir_path())),
            "--sample-steps must be at least 1",
        ),
        (
            "resuming a directory with no run",
            Box::new({
                let empty = empty_dir.path().display().to_string();
                move || dbn_mnist_run(&["--resume", &empty], Path::new("."))
            }),
            "there is no config.json",
        ),
    ];
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (name, case, expected) in &cases {
        match catch_unwind(AssertUnwindSafe(case)) {
            Err(_) => failures.push(format!("{name}: panicked")),
            Ok(Ok(())) => failures.push(format!("{name}: accepted")),
            Ok(Err(error)) if !error.contains(expected) => {
                failures.push(format!("{name}: expected `{expected}` in\n    {error}"))
            }
            Ok(Err(_)) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn dir_path() -> &'static Path {
    Path::new("target/bad_inputs_out")
}
