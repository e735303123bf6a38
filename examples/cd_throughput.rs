//! CD-k throughput on MNIST: seconds per epoch, images per second and effective GFLOP/s of the
//! learner, next to the time of the bare matrix products of one epoch on the same backend.
//!
//! ```text
//! MNIST_DIR=../shared/data/mnist cargo run --release --example cd_throughput
//! cargo run --release --example cd_throughput -- --backend wgpu --train-limit 5000
//! ```

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use burn::backend::{NdArray, Wgpu};
use burn::data::dataset::InMemDataset;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};
use clap::Parser;
use rbm_burn::{ContrastiveDivergenceConfig, DatasetSource, EpochMetrics, RbmConfig};
use rbm_burn_examples::cli::{exit_on_error, BackendChoice};
use rbm_burn_examples::mnist;

/// Measure contrastive-divergence throughput on MNIST.
#[derive(Parser, Debug)]
struct Args {
    /// Directory with the MNIST IDX files (default: $MNIST_DIR).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Backend to run on.
    #[arg(long, value_enum, default_value = "ndarray")]
    backend: BackendChoice,
    /// Epochs to time.
    #[arg(long, default_value_t = 3)]
    epochs: usize,
    /// Rows per update.
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// Hidden units.
    #[arg(long, default_value_t = 500)]
    hidden: usize,
    /// Gibbs steps per update.
    #[arg(long, default_value_t = 1)]
    k: usize,
    /// Persistent CD.
    #[arg(long)]
    persistent: bool,
    /// Use only the first N training images.
    #[arg(long)]
    train_limit: Option<usize>,
    /// Stream batches from a Burn `Dataset` instead of holding the data as one device tensor
    /// (needed on lavapipe, which cannot allocate one buffer for all of MNIST).
    #[arg(long)]
    stream: bool,
}

/// Matrix products of one CD-k update: the positive phase, two per Gibbs step, and the two
/// statistics products, each `2·batch·V·H` flops.
fn matmuls_per_update(k: usize) -> usize {
    2 * k + 3
}

/// Runs exactly the matrix products of one epoch, on random data of the same shapes, and
/// returns the seconds they took.
fn bare_matmul_epoch<B: Backend>(
    rows: usize,
    args: &Args,
    visible: usize,
    device: &B::Device,
) -> f64 {
    let batch = args.batch_size;
    let weights = Tensor::<B, 2>::random([visible, args.hidden], Distribution::Default, device);
    let v = Tensor::<B, 2>::random([batch, visible], Distribution::Default, device);
    let h = Tensor::<B, 2>::random([batch, args.hidden], Distribution::Default, device);
    B::sync(device).expect("device sync");
    let started = Instant::now();
    for _ in 0..rows.div_ceil(batch) {
        let _positive = v.clone().matmul(weights.clone());
        for _ in 0..args.k {
            let _down = h.clone().matmul(weights.clone().transpose());
            let _up = v.clone().matmul(weights.clone());
        }
        let _positive_statistics = v.clone().transpose().matmul(h.clone());
        let _negative_statistics = v.clone().transpose().matmul(h.clone());
    }
    B::sync(device).expect("device sync");
    started.elapsed().as_secs_f64()
}

fn run<B: Backend>(args: &Args, device: &B::Device) -> Result<(), Box<dyn Error>> {
    let dir = mnist::resolve_dir(args.data_dir.as_deref())?;
    let mut train = mnist::load_train(&dir)?;
    if let Some(limit) = args.train_limit {
        train.truncate(limit);
    }
    let (rows, visible) = (train.len(), train.pixels());
    let flops_per_epoch = (2 * matmuls_per_update(args.k) * rows * visible * args.hidden) as f64;
    println!(
        "CD-{}{} on {rows} MNIST images, {visible}-{} RBM, batch {}, {} epochs, backend {:?}",
        args.k,
        if args.persistent { " (persistent)" } else { "" },
        args.hidden,
        args.batch_size,
        args.epochs,
        args.backend
    );

    let rbm = RbmConfig::new(visible, args.hidden).init::<B>(device)?;
    let mut learner = ContrastiveDivergenceConfig::new()
        .with_k(args.k)
        .with_persistent(args.persistent)
        .with_batch_size(args.batch_size)
        .with_epochs(args.epochs)
        .init::<B>()?;
    let mut report = |m: &EpochMetrics| {
        println!(
            "epoch {}: {:.3} s, {:.0} images/s, {:.1} GFLOP/s, reconstruction error {:.4}, pseudo-LL {:.2}",
            m.epoch + 1,
            m.seconds,
            rows as f64 / m.seconds,
            flops_per_epoch / m.seconds / 1e9,
            m.reconstruction_error,
            m.pseudo_log_likelihood
        );
    };
    let (_, history) = if args.stream {
        let source = DatasetSource::new(InMemDataset::new(
            train.images.chunks(visible).map(<[f32]>::to_vec).collect(),
        ));
        learner.fit_with(rbm, &source, None, &mut report)?
    } else {
        learner.fit_with(rbm, &train.images_tensor::<B>(device), None, &mut report)?
    };

    // The first epoch includes warm-up (allocations, kernel compilation on wgpu).
    let timed: Vec<f64> = history.epochs.iter().skip(1).map(|m| m.seconds).collect();
    let epoch = if timed.is_empty() {
        history.epochs[0].seconds
    } else {
        timed.iter().sum::<f64>() / timed.len() as f64
    };
    let bare = bare_matmul_epoch::<B>(rows, args, visible, device);
    println!(
        "CD epoch (mean after the first): {epoch:.3} s, {:.0} images/s, {:.1} GFLOP/s",
        rows as f64 / epoch,
        flops_per_epoch / epoch / 1e9
    );
    println!(
        "bare matrix products of one epoch: {bare:.3} s, {:.1} GFLOP/s",
        flops_per_epoch / bare / 1e9
    );
    println!("ratio CD epoch / bare matrix products: {:.2}", epoch / bare);
    Ok(())
}

fn main() {
    let args = Args::parse();
    let result = match args.backend {
        BackendChoice::Ndarray => run::<NdArray>(&args, &Default::default()),
        BackendChoice::Wgpu => run::<Wgpu>(&args, &Default::default()),
    };
    exit_on_error(result);
}
