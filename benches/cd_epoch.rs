//! CD-1 and PCD-1 epoch times on MNIST next to the bare matrix products of the same epoch,
//! for a grid of batch and hidden sizes.
//!
//! ```text
//! MNIST_DIR=../shared/data/mnist cargo bench --bench cd_epoch
//! MNIST_DIR=../shared/data/mnist cargo bench --features openblas --bench cd_epoch
//! cargo bench --bench cd_epoch -- --backend wgpu --rows 2000 --batch 100 --hidden 500
//! ```
//!
//! For each configuration it prints the seconds of one CD-1 and one PCD-1 epoch (after a
//! warm-up of a few updates; the fastest of `--repeats`), the seconds of the epoch's matrix products alone (the same
//! products on tensors of the same shapes, nothing else), their ratios, images/s and GFLOP/s.
//! An epoch of `N` rows is `10·N·V·H` flops: the positive product `v₀W`, the negative products
//! `h₀Wᵀ` and `v₁W`, and the statistics `[v₀; v₁]ᵀ[p₀; −p₁]` (two products' worth).

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor, TensorData};
use clap::Parser;
use rbm_burn::internal::matmul;
use rbm_burn::{ContrastiveDivergenceConfig, RbmConfig};
use rbm_burn_examples::cli::{exit_on_error, BackendChoice};
use rbm_burn_examples::mnist;

/// Time CD-1 and PCD-1 epochs against their bare matrix products.
#[derive(Parser, Debug)]
struct Args {
    /// Directory with the MNIST IDX files (default: $MNIST_DIR; without either, random binary
    /// images of MNIST's shape, which cost the same).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Backend to run on.
    #[arg(long, value_enum, default_value = "ndarray")]
    backend: BackendChoice,
    /// Rows per epoch (at most 60 000 with MNIST).
    #[arg(long, default_value_t = 60_000)]
    rows: usize,
    /// Batch sizes to time.
    #[arg(long, value_delimiter = ',', default_value = "10,100,1000")]
    batch: Vec<usize>,
    /// Hidden-layer sizes to time.
    #[arg(long, value_delimiter = ',', default_value = "500,2000")]
    hidden: Vec<usize>,
    /// Updates run before each timed epoch (allocations, thread pools, kernel compilation).
    #[arg(long, default_value_t = 20)]
    warm_up: usize,
    /// Times each epoch this many times, interleaved, and reports the fastest: on a shared
    /// machine the minimum is the figure least disturbed by other work.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() {
    let args = Args::parse();
    let result = rbm_burn_examples::with_backend!(args.backend, run(&args));
    exit_on_error(result);
}

fn run<B: Backend>(args: &Args, device: &B::Device) -> Result<(), Box<dyn Error>> {
    let (images, visible, source) = mnist::bench_rows(args.data_dir.as_deref(), args.rows)?;
    let rows = images.len() / visible;
    let data = Tensor::<B, 2>::from_data(TensorData::new(images, [rows, visible]), device);
    println!(
        "{rows} rows of {source}, {visible} visible units, backend {:?}, fastest of {} epochs each",
        args.backend, args.repeats
    );
    println!(
        "| batch | hidden | CD-1 epoch | PCD-1 epoch | bare products | CD-1 / bare | PCD-1 / bare | images/s (CD-1) | GFLOP/s (CD-1) | GFLOP/s (bare) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for &hidden in &args.hidden {
        for &batch in &args.batch {
            let flops = 10.0 * (rows * visible * hidden) as f64;
            let (mut cd, mut pcd, mut bare) = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
            for _ in 0..args.repeats.max(1) {
                cd = cd.min(learner_epoch(
                    &data,
                    hidden,
                    batch,
                    false,
                    args.warm_up,
                    device,
                )?);
                pcd = pcd.min(learner_epoch(
                    &data,
                    hidden,
                    batch,
                    true,
                    args.warm_up,
                    device,
                )?);
                bare = bare.min(bare_products_epoch::<B>(
                    rows, visible, hidden, batch, device,
                ));
            }
            println!(
                "| {batch} | {hidden} | {cd:.3} s | {pcd:.3} s | {bare:.3} s | {:.2} | {:.2} | {:.0} | {:.1} | {:.1} |",
                cd / bare,
                pcd / bare,
                rows as f64 / cd,
                flops / cd / 1e9,
                flops / bare / 1e9,
            );
        }
    }
    Ok(())
}

/// Seconds of one CD-1 (or PCD-1) epoch of `data` through the learner's `fit`, after
/// `warm_up` updates of another learner on the same model.
fn learner_epoch<B: Backend>(
    data: &Tensor<B, 2>,
    hidden: usize,
    batch: usize,
    persistent: bool,
    warm_up: usize,
    device: &B::Device,
) -> Result<f64, Box<dyn Error>> {
    let visible = data.dims()[1];
    let config = ContrastiveDivergenceConfig::new()
        .with_persistent(persistent)
        .with_batch_size(batch)
        .with_epochs(1)
        .with_monitor_size(100);
    let mut rbm = RbmConfig::new(visible, hidden).init::<B>(device)?;
    let mut warm = config.init()?;
    for start in (0..data.dims()[0]).step_by(batch).take(warm_up) {
        let rows = batch.min(data.dims()[0] - start);
        rbm = warm.step(rbm, data.clone().narrow(0, start, rows))?;
    }
    let (_, history) = config.init()?.fit(rbm, data)?;
    Ok(history.epochs[0].seconds)
}

/// Seconds of the matrix products of one epoch alone, in the learner's shapes, on random
/// tensors: `v₀W`, `h₀Wᵀ`, `v₁W` and `[v₀; v₁]ᵀ[p₀; p₁]` per batch, with the product the
/// learner uses (`rbm_burn::internal::matmul`).
fn bare_products_epoch<B: Backend>(
    rows: usize,
    visible: usize,
    hidden: usize,
    batch: usize,
    device: &B::Device,
) -> f64 {
    let weights = Tensor::<B, 2>::random([visible, hidden], Distribution::Default, device);
    let v = Tensor::<B, 2>::random([batch, visible], Distribution::Default, device);
    let h = Tensor::<B, 2>::random([batch, hidden], Distribution::Default, device);
    let both_v = Tensor::cat(vec![v.clone(), v.clone()], 0);
    let both_h = Tensor::cat(vec![h.clone(), h.clone()], 0);
    let products = || {
        let positive = matmul(v.clone(), weights.clone());
        let down = matmul(h.clone(), weights.clone().transpose());
        let up = matmul(v.clone(), weights.clone());
        let statistics = matmul(both_v.clone().transpose(), both_h.clone());
        (positive, down, up, statistics)
    };
    products();
    B::sync(device).expect("device sync");
    let started = Instant::now();
    for _ in 0..rows.div_ceil(batch) {
        products();
    }
    B::sync(device).expect("device sync");
    started.elapsed().as_secs_f64()
}
