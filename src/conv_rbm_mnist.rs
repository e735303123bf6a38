//! The pipeline behind `examples/conv_rbm_mnist.rs`: see there for what it does and how to run
//! it.

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use burn::data::dataset::Dataset;
use burn::tensor::backend::Backend;
use clap::Parser;
use dbn::rbm_burn::{
    ContrastiveDivergenceConfig, EpochMetrics, Progress, SparsityConfig, TrainingObserver,
};
use dbn::{ConvDbn, ConvDbnConfig, ConvLayerConfig};

use crate::cli::{BackendChoice, MnistArgs};
use crate::dbn_mnist::class_dataset;
use crate::images::{save_tiles_png, tensor_tiles};
use crate::rbm_features::{linear_classifier, map_features, ClassifierSettings};

/// Learn convolutional RBM filters on MNIST (one layer, or a convolutional DBN of two), write
/// them as a PNG, and compare a linear classifier on the pooled features with the same
/// classifier on raw pixels.
#[derive(Parser, Debug, Clone)]
#[command(version)]
pub struct Args {
    #[command(flatten)]
    /// Where MNIST is and how much of it to use.
    pub mnist: MnistArgs,
    /// Number of filters.
    #[arg(long, default_value_t = 24)]
    pub filters: usize,
    /// Side of the square filters.
    #[arg(long, default_value_t = 7)]
    pub filter_size: usize,
    /// Side of the pooling blocks (it must divide 29 − filter size).
    #[arg(long, default_value_t = 2)]
    pub pool: usize,
    /// Filters of a second convolutional layer on the first one's pooled maps (a
    /// convolutional DBN); 0: one layer.
    #[arg(long, default_value_t = 0)]
    pub second_filters: usize,
    /// Side of the second layer's filters.
    #[arg(long, default_value_t = 4)]
    pub second_filter_size: usize,
    /// Side of the second layer's pooling blocks.
    #[arg(long, default_value_t = 2)]
    pub second_pool: usize,
    /// Training epochs of each convolutional layer.
    #[arg(long, default_value_t = 2)]
    pub epochs: usize,
    /// Its learning rate.
    #[arg(long, default_value_t = 0.01)]
    pub learning_rate: f64,
    /// Target activity of the detection units (the sparsity penalty); 0 turns it off.
    #[arg(long, default_value_t = 0.02)]
    pub sparsity_target: f64,
    /// Images per update.
    #[arg(long, default_value_t = 50)]
    pub batch_size: usize,
    /// Epochs of the linear classifiers.
    #[arg(long, default_value_t = 15)]
    pub classifier_epochs: usize,
    /// Adam learning rate of the linear classifiers.
    #[arg(long, default_value_t = 1e-3)]
    pub classifier_learning_rate: f64,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write a pre-training checkpoint here after every epoch (atomically replaced).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Continue pre-training from `--checkpoint` (written by a run with the same settings).
    #[arg(long, requires = "checkpoint")]
    pub resume: bool,
    /// Directory for `filters.png`.
    #[arg(long, default_value = "conv_rbm_mnist_out")]
    pub out: PathBuf,
    /// Backend.
    #[arg(long, value_enum, default_value = "ndarray")]
    pub backend: BackendChoice,
}

/// What the run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Test accuracy of the linear classifier on the pooled features.
    pub features_accuracy: f64,
    /// Test accuracy of the same classifier on raw pixels.
    pub pixels_accuracy: f64,
    /// Seconds of convolutional pre-training (every layer).
    pub seconds: f64,
    /// The filters' picture.
    pub filters_png: PathBuf,
}

/// Trains the convolutional RBM, writes its filters, and trains the two linear classifiers.
///
/// # Errors
/// Invalid settings, missing or malformed data files, training that diverges, and files that
/// cannot be written.
pub fn run<B: Backend>(args: &Args, device: &B::Device) -> Result<Report, Box<dyn Error>> {
    let data = args.mnist.load()?;
    let (train, test) = (class_dataset(&data.train)?, class_dataset(&data.test)?);
    let (rows, columns) = (data.train.rows, data.train.columns);
    let mut layers =
        vec![ConvLayerConfig::new(args.filters, args.filter_size).with_pool(args.pool)];
    if args.second_filters > 0 {
        layers.push(
            ConvLayerConfig::new(args.second_filters, args.second_filter_size)
                .with_pool(args.second_pool),
        );
    }
    let sparsity =
        (args.sparsity_target > 0.0).then(|| SparsityConfig::new(args.sparsity_target, 0.1));
    let config = ConvDbnConfig::new(1, rows, columns, layers)
        .with_cd(vec![ContrastiveDivergenceConfig::new()
            .with_epochs(args.epochs)
            .with_learning_rate(args.learning_rate)
            .with_batch_size(args.batch_size)
            .with_sparsity(sparsity)
            .with_seed(args.seed)])
        .with_weight_std(0.01)
        .with_seed(args.seed);
    let shapes: Vec<String> = config
        .layer_configs()?
        .iter()
        .map(|layer| {
            let [k, h, w] = layer.pooled_shape().expect("checked by layer_configs");
            format!(
                "{} filters of {}×{}, {}×{} pooling → {k}×{h}×{w}",
                layer.filters, layer.filter_size, layer.filter_size, layer.pool, layer.pool
            )
        })
        .collect();
    println!(
        "convolutional DBN on {} MNIST images: {}",
        train.len(),
        shapes.join("; then ")
    );
    let mut printer = Printer;
    let started = Instant::now();
    let images = data.train.images_tensor::<B>(device);
    let (dbn, _) = match (&args.checkpoint, args.resume) {
        (Some(path), true) => config.resume_pretraining(path, &images, &mut printer, 1, device)?,
        (Some(path), false) => {
            config.pretrain_with_checkpoints(&images, &mut printer, path, 1, device)?
        }
        (None, _) => config.pretrain_with(&images, &mut printer, device)?,
    };
    let seconds = started.elapsed().as_secs_f64();
    println!("pre-training took {seconds:.0} s");

    std::fs::create_dir_all(&args.out)?;
    let filters_png = args.out.join("filters.png");
    let f = args.filter_size;
    let tiles = tensor_tiles(dbn.layers[0].filters.val().reshape([args.filters, f * f]))?;
    save_tiles_png(&filters_png, &tiles, f, f, args.filters.min(12))?;
    println!("wrote {}", filters_png.display());

    let width = pooled_width(&dbn);
    let features = |x: burn::tensor::Tensor<B, 2>| {
        let n = x.dims()[0];
        let mut maps = x.reshape([n, 1, rows, columns]);
        let mut pooled = Vec::new();
        for layer in &dbn.layers {
            maps = layer
                .pool(maps)
                .expect("MNIST images have the model's shape");
            pooled.push(maps.clone().flatten::<2>(1, 3));
        }
        burn::tensor::Tensor::cat(pooled, 1)
    };
    let settings = ClassifierSettings {
        epochs: args.classifier_epochs,
        batch_size: 100,
        learning_rate: args.classifier_learning_rate,
        seed: args.seed,
    };
    println!("linear classifier on the pooled features of every layer ({width} features):");
    let features_train = map_features::<B>(&train, device, features)?;
    let features_test = map_features::<B>(&test, device, features)?;
    let features_accuracy =
        linear_classifier::<B>("features", settings, features_train, &features_test, device)?;
    println!("linear classifier on raw pixels:");
    let pixels_accuracy = linear_classifier::<B>("pixels", settings, train, &test, device)?;
    println!(
        "test error: pooled features {:.2}% | raw pixels {:.2}%",
        100.0 * (1.0 - features_accuracy),
        100.0 * (1.0 - pixels_accuracy)
    );
    Ok(Report {
        features_accuracy,
        pixels_accuracy,
        seconds,
        filters_png,
    })
}

/// Pooled features per image, all layers together.
fn pooled_width<B: Backend>(dbn: &ConvDbn<B>) -> usize {
    dbn.layers
        .iter()
        .map(|layer| layer.pooled_shape().iter().product::<usize>())
        .sum()
}

/// Prints each layer's start and epochs.
struct Printer;

impl TrainingObserver for Printer {
    fn on_layer_start(&mut self, layer: usize, layers: usize, visible: usize, hidden: usize) {
        println!(
            "layer {} of {layers}: {visible} inputs, {hidden} detection units",
            layer + 1
        );
    }

    fn on_epoch_end(&mut self, _progress: Progress, m: &EpochMetrics) {
        println!(
            "  epoch {:2}: reconstruction error {:.4}, {:.1} s",
            m.epoch + 1,
            m.reconstruction_error,
            m.seconds
        );
    }
}
