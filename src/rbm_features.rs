//! The pipeline behind `examples/rbm_features.rs`: see there for what it does and how to run it.

use std::error::Error;
use std::path::PathBuf;

use crate::cli::BackendChoice;
use crate::dbn_mnist::class_dataset;
use crate::mnist;
use burn::backend::Autodiff;
use burn::data::dataset::Dataset;
use burn::tensor::backend::Backend;
use clap::Parser;
use dbn::rbm_burn::{ContrastiveDivergenceConfig, DatasetSource, EpochMetrics, RbmConfig};
use dbn::{ClassDataset, FineTuneConfig, FineTuneMetrics, MlpConfig};

/// RBM features + logistic regression versus logistic regression on raw pixels.
#[derive(Parser, Debug)]
pub struct Args {
    /// Directory with the four MNIST IDX files (default: $MNIST_DIR).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Hidden units of the RBM (features).
    #[arg(long, default_value_t = 256)]
    pub hidden: usize,
    /// RBM training epochs.
    #[arg(long, default_value_t = 10)]
    pub rbm_epochs: usize,
    /// RBM learning rate.
    #[arg(long, default_value_t = 0.06)]
    pub learning_rate: f64,
    /// Epochs of the linear classifiers.
    #[arg(long, default_value_t = 15)]
    pub classifier_epochs: usize,
    /// Adam learning rate of the linear classifiers.
    #[arg(long, default_value_t = 1e-3)]
    pub classifier_learning_rate: f64,
    /// Examples per update.
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
    /// Use only the first N training images.
    #[arg(long)]
    pub train_limit: Option<usize>,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Backend.
    #[arg(long, value_enum, default_value = "ndarray")]
    pub backend: BackendChoice,
}

/// Maps every row of `data` through `f` in batches of 1000, keeping the labels.
///
/// # Errors
/// Features that cannot be read back, or rows of different widths.
pub fn map_features<B: Backend>(
    data: &ClassDataset,
    device: &B::Device,
    f: impl Fn(burn::tensor::Tensor<B, 2>) -> burn::tensor::Tensor<B, 2>,
) -> Result<ClassDataset, Box<dyn Error>> {
    let features = data.features_tensor::<B>(device);
    let rows = data.len();
    let mut values = Vec::new();
    let mut width = 0;
    for start in (0..rows).step_by(1000) {
        let batch = features.clone().narrow(0, start, 1000.min(rows - start));
        let mapped = f(batch);
        width = mapped.dims()[1];
        values.extend(
            mapped
                .into_data()
                .to_vec::<f32>()
                .map_err(|e| format!("{e:?}"))?,
        );
    }
    Ok(ClassDataset::new(values, width, data.labels().to_vec())?)
}

/// How the linear (softmax) classifiers of the feature examples are trained.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassifierSettings {
    /// Epochs.
    pub epochs: usize,
    /// Examples per update.
    pub batch_size: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Seed of the weights and of the example order.
    pub seed: u64,
}

/// Trains a linear softmax classifier on `train`, printing each epoch under `name`, and
/// returns its test accuracy after the last epoch.
///
/// # Errors
/// Training that fails (invalid settings, mismatched widths).
pub fn linear_classifier<B: Backend>(
    name: &str,
    settings: ClassifierSettings,
    train: ClassDataset,
    test: &ClassDataset,
    device: &B::Device,
) -> Result<f64, Box<dyn Error>> {
    let model = MlpConfig::new(vec![train.width()], 10)
        .with_seed(settings.seed)
        .init::<Autodiff<B>>(device)?;
    let mut report = |m: &FineTuneMetrics| {
        println!(
            "  {name} epoch {:2}: loss {:.4}, test accuracy {:.2}%",
            m.epoch + 1,
            m.train_loss,
            100.0 * m.test_accuracy.unwrap_or(f64::NAN)
        );
    };
    let (_, history) = FineTuneConfig::new()
        .with_epochs(settings.epochs)
        .with_batch_size(settings.batch_size)
        .with_learning_rate(settings.learning_rate)
        .with_seed(settings.seed)
        .fit(model, train, Some(test as &dyn Dataset<_>), &mut report)?;
    Ok(history.last().and_then(|m| m.test_accuracy).unwrap_or(0.0))
}

/// RBM features → a linear softmax classifier, against the classifier on raw pixels.
///
/// # Errors
/// Invalid settings, missing or malformed data files, training that diverges, and files that
/// cannot be written.
pub fn run<B: Backend>(args: &Args, device: &B::Device) -> Result<(), Box<dyn Error>> {
    let dir = mnist::resolve_dir(args.data_dir.as_deref())?;
    let mut data = mnist::load_dir(&dir)?;
    if let Some(limit) = args.train_limit {
        data.train.truncate(limit);
    }
    let (train, test) = (class_dataset(&data.train)?, class_dataset(&data.test)?);
    println!(
        "RBM {}-{} on {} MNIST images, then logistic regression on its features",
        train.width(),
        args.hidden,
        train.len()
    );
    let rbm = RbmConfig::new(train.width(), args.hidden)
        .with_seed(args.seed)
        .init::<B>(device)?;
    let mut learner = ContrastiveDivergenceConfig::new()
        .with_epochs(args.rbm_epochs)
        .with_learning_rate(args.learning_rate)
        .with_batch_size(args.batch_size)
        .with_seed(args.seed)
        .init()?;
    let mut report = |m: &EpochMetrics| {
        println!(
            "  RBM epoch {:2}: reconstruction error {:.4}, {:.1} s",
            m.epoch + 1,
            m.reconstruction_error,
            m.seconds
        );
    };
    let (rbm, _) = learner.fit_with(rbm, &DatasetSource::new(train.clone()), None, &mut report)?;

    let settings = ClassifierSettings {
        epochs: args.classifier_epochs,
        batch_size: args.batch_size,
        learning_rate: args.classifier_learning_rate,
        seed: args.seed,
    };
    println!("logistic regression on RBM features:");
    let rbm_train = map_features::<B>(&train, device, |x| rbm.transform(x))?;
    let rbm_test = map_features::<B>(&test, device, |x| rbm.transform(x))?;
    let on_features = linear_classifier::<B>("features", settings, rbm_train, &rbm_test, device)?;
    println!("logistic regression on raw pixels:");
    let on_pixels = linear_classifier::<B>("pixels", settings, train, &test, device)?;
    println!(
        "test accuracy: RBM features + logistic regression {:.2}% | raw pixels + logistic regression {:.2}%",
        100.0 * on_features,
        100.0 * on_pixels
    );
    Ok(())
}
