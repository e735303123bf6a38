//! The pipeline behind `examples/class_rbm_mnist.rs`: see there for what it does and how to run
//! it.

use std::error::Error;
use std::time::Instant;

use burn::tensor::{backend::Backend, Tensor};
use clap::{Parser, ValueEnum};
use dbn::rbm_burn::{
    ClassRbm, ClassRbmConfig, ContrastiveDivergenceConfig, Objective, RbmConfig, SparsityConfig,
};

use crate::cli::{BackendChoice, MnistArgs};
use crate::mnist::MnistSplit;

/// A training objective of the classification RBM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ObjectiveChoice {
    /// `log p(x, y)` by contrastive divergence.
    Generative,
    /// `log p(y | x)` by its exact gradient.
    Discriminative,
    /// `log p(y | x) + α log p(x, y)`.
    Hybrid,
}

/// Train classification RBMs on MNIST with the generative, discriminative and hybrid
/// objectives and compare their test errors and training times.
#[derive(Parser, Debug, Clone)]
#[command(version)]
pub struct Args {
    #[command(flatten)]
    /// Where MNIST is and how much of it to use.
    pub mnist: MnistArgs,
    /// The objectives to train, one model each.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [ObjectiveChoice::Generative, ObjectiveChoice::Discriminative, ObjectiveChoice::Hybrid])]
    pub objectives: Vec<ObjectiveChoice>,
    /// Hidden units.
    #[arg(long, default_value_t = 1500)]
    pub hidden: usize,
    /// Standard deviation of the initial weights `W` and `U`. Larger than the RBM's usual 0.01:
    /// with tiny `U` the hidden units respond alike to every class, the gradient of
    /// `log p(y | x)` for `W` is nearly zero, and discriminative training sits on a plateau.
    #[arg(long, default_value_t = 0.05)]
    pub weight_std: f64,
    /// Weight `α` of the generative part of the hybrid objective.
    #[arg(long, default_value_t = 0.01)]
    pub alpha: f64,
    /// Training epochs.
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Learning rate of the generative objective (decaying linearly to a tenth of it over the
    /// epochs).
    #[arg(long, default_value_t = 0.05)]
    pub learning_rate: f64,
    /// Learning rate of the discriminative and hybrid objectives (decaying likewise). Larger:
    /// the gradient of `log p(y | x)` for `W` is a difference of hidden activations between
    /// classes, small until the classes' label weights have drawn apart.
    #[arg(long, default_value_t = 0.3)]
    pub discriminative_learning_rate: f64,
    /// Target mean activity of the hidden units (the sparsity penalty, cost 0.1); 0 turns it
    /// off. Larochelle et al. (2012) found a sparse hybrid model their best on MNIST.
    #[arg(long, default_value_t = 0.0)]
    pub sparsity_target: f64,
    /// L2 weight decay on `W` and `U` (the learner's `weight_decay`). The RBM default
    /// (2·10⁻⁴) is meant for batches of 100 at learning rate 0.1; with batches of 20 and the
    /// discriminative learning rate it shrinks the weights tenfold faster per epoch.
    #[arg(long, default_value_t = 0.0002)]
    pub weight_decay: f64,
    /// Momentum from the sixth epoch on (the first five use 0.5, or this if smaller). The
    /// step a steady gradient takes grows as `learning rate / (1 − momentum)`: 0.9 with the
    /// discriminative learning rate overshoots once it switches on.
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f64,
    /// Gibbs steps of the generative part (CD-k).
    #[arg(long, default_value_t = 1)]
    pub k: usize,
    /// Examples per update.
    #[arg(long, default_value_t = 20)]
    pub batch_size: usize,
    /// Seed of the initial weights and of the learner.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Hold out the last N training images as a validation set: training uses the others,
    /// and the epoch with the lowest validation error is reported beside the last (early
    /// stopping, as Larochelle & Bengio select their models). 0: train on all of them.
    #[arg(long, default_value_t = 0)]
    pub validation: usize,
    /// Backend.
    #[arg(long, value_enum, default_value = "ndarray")]
    pub backend: BackendChoice,
}

/// What one objective gave.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectiveResult {
    /// The objective.
    pub objective: Objective,
    /// Test error after the last epoch.
    pub test_error: f64,
    /// Training error after the last epoch (on the first 2000 training images at most).
    pub train_error: f64,
    /// With `--validation`: the epoch (1-based) of the lowest validation error, that error,
    /// and the test error after that epoch (early stopping).
    pub early_stopping: Option<EarlyStopping>,
    /// Seconds of training (evaluation excluded).
    pub seconds: f64,
}

/// The epoch that a validation set selects.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EarlyStopping {
    /// The epoch (1-based) with the lowest validation error (the first of equals).
    pub epoch: usize,
    /// Its validation error.
    pub validation_error: f64,
    /// Its test error.
    pub test_error: f64,
}

/// The objective a choice names, with `alpha` for the hybrid.
fn objective(choice: ObjectiveChoice, alpha: f64) -> Objective {
    match choice {
        ObjectiveChoice::Generative => Objective::Generative,
        ObjectiveChoice::Discriminative => Objective::Discriminative,
        ObjectiveChoice::Hybrid => Objective::Hybrid { alpha },
    }
}

/// The labels of a split as classes.
fn classes(split: &MnistSplit) -> Vec<usize> {
    split.labels.iter().map(|&l| usize::from(l)).collect()
}

/// The error rate of `model` on `inputs`, in chunks of 1000 rows (the class inputs of a chunk
/// are `[rows, classes, hidden]`).
fn error_rate<B: Backend>(
    model: &ClassRbm<B>,
    inputs: &Tensor<B, 2>,
    labels: &[usize],
) -> Result<f64, Box<dyn Error>> {
    let rows = labels.len();
    let mut errors = 0.0;
    for start in (0..rows).step_by(1000) {
        let len = 1000.min(rows - start);
        let rate = model.error_rate(
            inputs.clone().narrow(0, start, len),
            &labels[start..start + len],
        )?;
        errors += rate * len as f64;
    }
    Ok(errors / rows as f64)
}

/// Trains one classification RBM per objective on MNIST's training images and measures its
/// test error, printing each epoch.
///
/// # Errors
/// Invalid settings, missing or malformed data files, training that diverges.
pub fn run<B: Backend>(
    args: &Args,
    device: &B::Device,
) -> Result<Vec<ObjectiveResult>, Box<dyn Error>> {
    let data = args.mnist.load()?;
    let (mut train_labels, test_labels) = (classes(&data.train), classes(&data.test));
    let mut train_inputs = data.train.images_tensor::<B>(device);
    let test_inputs = data.test.images_tensor::<B>(device);
    if args.validation >= train_labels.len() {
        return Err(format!(
            "--validation {} leaves no training images out of {}",
            args.validation,
            train_labels.len()
        )
        .into());
    }
    let kept = train_labels.len() - args.validation;
    let validation_labels = train_labels.split_off(kept);
    // Burn cannot narrow to zero rows: without a validation set there is no tensor for it.
    let validation_inputs =
        (args.validation > 0).then(|| train_inputs.clone().narrow(0, kept, args.validation));
    train_inputs = train_inputs.narrow(0, 0, kept);
    let monitored = kept.min(2_000);
    let mut results = Vec::new();
    for &choice in &args.objectives {
        let objective = objective(choice, args.alpha);
        let model = ClassRbmConfig::new(
            RbmConfig::new(data.train.pixels(), args.hidden)
                .with_weight_std(args.weight_std)
                .with_seed(args.seed),
            10,
        )
        .with_objective(objective)
        .init::<B>(device)?;
        let rows = model.rows(train_inputs.clone(), &train_labels)?;
        println!(
            "{objective:?}: {}-{} classification RBM on {} MNIST images ({} held out), {} epochs",
            data.train.pixels(),
            args.hidden,
            kept,
            args.validation,
            args.epochs
        );
        let learning_rate = match objective {
            Objective::Generative => args.learning_rate,
            _ => args.discriminative_learning_rate,
        };
        let mut learner = ContrastiveDivergenceConfig::new()
            .with_epochs(args.epochs)
            .with_learning_rate(learning_rate)
            .with_final_learning_rate(Some(learning_rate / 10.0))
            .with_k(args.k)
            .with_weight_decay(args.weight_decay)
            .with_initial_momentum(args.momentum.min(0.5))
            .with_final_momentum(args.momentum)
            .with_sparsity(
                (args.sparsity_target > 0.0)
                    .then(|| SparsityConfig::new(args.sparsity_target, 0.1)),
            )
            .with_batch_size(args.batch_size)
            .with_seed(args.seed)
            .init::<B, ClassRbm<B>>()?;
        let mut model = model;
        let mut seconds = 0.0;
        let (mut train_error, mut test_error) = (f64::NAN, f64::NAN);
        let mut early_stopping: Option<EarlyStopping> = None;
        for epoch in 0..args.epochs {
            let started = Instant::now();
            let (trained, _) = learner.fit_until(model, &rows, None, &mut (), epoch + 1)?;
            model = trained;
            seconds += started.elapsed().as_secs_f64();
            train_error = error_rate(
                &model,
                &train_inputs.clone().narrow(0, 0, monitored),
                &train_labels[..monitored],
            )?;
            test_error = error_rate(&model, &test_inputs, &test_labels)?;
            let mut line = format!(
                "  epoch {:3}: train error {:.2}%, test error {:.2}%",
                epoch + 1,
                100.0 * train_error,
                100.0 * test_error
            );
            if let Some(validation_inputs) = &validation_inputs {
                let validation_error = error_rate(&model, validation_inputs, &validation_labels)?;
                line += &format!(", validation error {:.2}%", 100.0 * validation_error);
                if early_stopping.is_none_or(|best| validation_error < best.validation_error) {
                    early_stopping = Some(EarlyStopping {
                        epoch: epoch + 1,
                        validation_error,
                        test_error,
                    });
                }
            }
            println!("{line}, {seconds:.0} s of training");
        }
        results.push(ObjectiveResult {
            objective,
            test_error,
            train_error,
            early_stopping,
            seconds,
        });
    }
    println!("objective                 test error   training   early stopping (epoch: validation, test)");
    for result in &results {
        let stopped = result.early_stopping.map_or(String::from("-"), |best| {
            format!(
                "{}: {:.2}%, {:.2}%",
                best.epoch,
                100.0 * best.validation_error,
                100.0 * best.test_error
            )
        });
        println!(
            "{:<25} {:>9.2}%   {:>6.0} s   {stopped}",
            format!("{:?}", result.objective),
            100.0 * result.test_error,
            result.seconds
        );
    }
    Ok(results)
}
