//! The pipeline behind `examples/rbm_gaussian_mnist.rs`: see there for what it does and how to run it.

use std::error::Error;
use std::path::PathBuf;

use crate::cli::BackendChoice;
use crate::{images, mnist};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use clap::Parser;
use rbm_burn::{ContrastiveDivergenceConfig, EpochMetrics, HiddenUnits, RbmConfig, VisibleUnits};

/// Train a Gaussian–Bernoulli RBM on standardised MNIST pixels and save its filters.
#[derive(Parser, Debug)]
pub struct Args {
    /// Directory with the four MNIST IDX files (default: $MNIST_DIR).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Training images used (the first ones of the training set).
    #[arg(long, default_value_t = 10_000)]
    pub train_limit: usize,
    /// Hidden units (one filter each).
    #[arg(long, default_value_t = 100)]
    pub hidden: usize,
    /// ReLU hidden units instead of binary ones.
    #[arg(long)]
    pub relu: bool,
    /// Epochs.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Learning rate (Gaussian visible units need a small one).
    #[arg(long, default_value_t = 0.005)]
    pub learning_rate: f64,
    /// Images per update.
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
    /// Smallest per-pixel standard deviation used when standardising: pixels that are almost
    /// always blank would otherwise be blown up to huge values.
    #[arg(long, default_value_t = 0.1)]
    pub min_std: f32,
    /// Where to write the filters.
    #[arg(long, default_value = "gaussian_filters.png")]
    pub out: PathBuf,
    /// Seed of the initial weights and the learner.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Backend.
    #[arg(long, value_enum, default_value = "ndarray")]
    pub backend: BackendChoice,
}

/// Standardises each column of `rows × columns` values in place: `(x − mean) / max(std, min_std)`.
fn standardise(values: &mut [f32], columns: usize, min_std: f32) {
    let rows = (values.len() / columns) as f64;
    for c in 0..columns {
        let column = values.iter().skip(c).step_by(columns);
        let mean = column.clone().map(|&v| v as f64).sum::<f64>() / rows;
        let var = column.map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / rows;
        let std = (var.sqrt() as f32).max(min_std);
        for v in values.iter_mut().skip(c).step_by(columns) {
            *v = (*v - mean as f32) / std;
        }
    }
}

/// Trains a Gaussian–Bernoulli RBM on standardised MNIST and writes its filters.
///
/// # Errors
/// Invalid settings, missing or malformed data files, training that diverges, and files that
/// cannot be written.
pub fn run<B: Backend>(args: &Args, device: &B::Device) -> Result<(), Box<dyn Error>> {
    let dir = mnist::resolve_dir(args.data_dir.as_deref())?;
    let mut train = mnist::load_train(&dir)?;
    train.truncate(args.train_limit);
    let (rows, pixels) = (train.len(), train.pixels());
    let mut values = train.images;
    standardise(&mut values, pixels, args.min_std);
    let data = Tensor::<B, 2>::from_data(TensorData::new(values, [rows, pixels]), device);
    println!(
        "Gaussian–Bernoulli RBM {pixels}-{} on {rows} standardised MNIST images, σ = 1 fixed",
        args.hidden
    );
    let rbm = RbmConfig::new(pixels, args.hidden)
        .with_visible_units(VisibleUnits::Gaussian { learn_sigma: false })
        .with_hidden_units(if args.relu {
            HiddenUnits::Relu
        } else {
            HiddenUnits::Bernoulli
        })
        .with_seed(args.seed)
        .init::<B>(device)?
        .init_visible_bias_from_data(&data)?;
    let mut learner = ContrastiveDivergenceConfig::new()
        .with_learning_rate(args.learning_rate)
        .with_batch_size(args.batch_size)
        .with_epochs(args.epochs)
        .with_seed(args.seed)
        .init()?;
    let mut report = |m: &EpochMetrics| {
        println!(
            "epoch {:3}: reconstruction MSE {:.4} (about 1 for predicting the mean), free energy {:.1}, {:.1} s",
            m.epoch + 1,
            m.reconstruction_error,
            m.free_energy_train,
            m.seconds
        );
    };
    let (rbm, _) = learner.fit_with(rbm, &data, None, &mut report)?;

    // Column j of W is hidden unit j's filter.
    let weights: Vec<f32> = rbm.weights.val().transpose().into_data().to_vec()?;
    let tiles: Vec<Vec<f32>> = weights.chunks(pixels).map(<[f32]>::to_vec).collect();
    let side = (pixels as f64).sqrt() as usize;
    images::save_tiles_png(&args.out, &tiles, side, pixels / side, 10)?;
    println!("filters written to {}", args.out.display());
    Ok(())
}
