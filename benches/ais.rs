//! AIS time next to the bare matrix products of the same annealing schedule.
//!
//! ```text
//! MNIST_DIR=../shared/data/mnist cargo bench --bench ais
//! cargo bench --bench ais -- --steps 1450 --hidden 500,2000
//! cargo bench --features wgpu --bench ais -- --backend wgpu --steps 1450
//! ```
//!
//! Each annealing step needs two matrix products, `vW` (the hidden inputs, for the step's
//! weight and its Gibbs transition) and `hWᵀ` (the visible inputs), so `S` steps of `R` runs
//! on a `V`–`H` RBM are `4·S·R·V·H` flops. The bench times [`Rbm::ais_log_partition`] (the
//! paper's 14 500-step schedule unless `--steps` asks for a uniform one) and the same products
//! alone on tensors of the same shapes, and prints both and the fraction of the AIS time that
//! the products would take (1 would mean that everything else is free).

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor, TensorData};
use clap::Parser;
use rbm_burn::internal::matmul;
use rbm_burn::{AisConfig, BetaSchedule, Rbm};
use rbm_burn_examples::cli::{exit_on_error, BackendChoice};
use rbm_burn_examples::mnist;

/// Time AIS against its bare matrix products.
#[derive(Parser, Debug)]
struct Args {
    /// Directory with the MNIST IDX files (default: $MNIST_DIR; without either, random binary
    /// images of MNIST's shape, which cost the same).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Backend to run on.
    #[arg(long, value_enum, default_value = "ndarray")]
    backend: BackendChoice,
    /// Training rows whose pixel means make the base-rate model.
    #[arg(long, default_value_t = 10_000)]
    rows: usize,
    /// Annealing runs (rows advanced together).
    #[arg(long, value_delimiter = ',', default_value = "100")]
    runs: Vec<usize>,
    /// Hidden-layer sizes to time.
    #[arg(long, value_delimiter = ',', default_value = "500")]
    hidden: Vec<usize>,
    /// A uniform schedule of this many steps instead of the paper's 14 500.
    #[arg(long)]
    steps: Option<usize>,
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
    let schedule = match args.steps {
        Some(steps) => BetaSchedule::uniform(steps),
        None => BetaSchedule::salakhutdinov_murray(),
    };
    let steps = schedule.betas()?.len() - 1;
    println!(
        "base rates from {rows} rows of {source}, {visible} visible units, {steps} steps, backend {:?}",
        args.backend
    );
    println!(
        "| runs | hidden | AIS | bare products | products / AIS | GFLOP/s (AIS) | GFLOP/s (bare) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for &hidden in &args.hidden {
        for &runs in &args.runs {
            let rbm = trained_looking::<B>(visible, hidden, device)?;
            let config = AisConfig::new()
                .with_runs(runs)
                .with_schedule(schedule.clone());
            // A short warm-up (allocations, thread team, kernel compilation).
            rbm.ais_log_partition(
                &data,
                &config.clone().with_schedule(BetaSchedule::uniform(20)),
            )?;
            let started = Instant::now();
            let estimate = rbm.ais_log_partition(&data, &config)?;
            let ais = started.elapsed().as_secs_f64();
            assert!(estimate.log_z.is_finite());
            let bare = bare_products::<B>(steps, runs, visible, hidden, device);
            let flops = 4.0 * (steps * runs * visible * hidden) as f64;
            println!(
                "| {runs} | {hidden} | {ais:.2} s | {bare:.2} s | {:.2} | {:.1} | {:.1} |",
                bare / ais,
                flops / ais / 1e9,
                flops / bare / 1e9,
            );
        }
    }
    Ok(())
}

/// A `visible`–`hidden` RBM with weights of a trained model's scale (N(0, 0.1²)) and zero
/// biases, so that the hidden inputs, and with them the exponentials and logarithms of each
/// step, are not all near 0.
fn trained_looking<B: Backend>(
    visible: usize,
    hidden: usize,
    device: &B::Device,
) -> Result<Rbm<B>, Box<dyn Error>> {
    let weights = Tensor::random([visible, hidden], Distribution::Normal(0.0, 0.1), device);
    let rbm = Rbm::from_tensors(
        weights,
        Tensor::zeros([visible], device),
        Tensor::zeros([hidden], device),
    )?;
    Ok(rbm)
}

/// Seconds of the products of `steps` annealing steps alone: `vW` and `hWᵀ` on random
/// tensors of the runs' shapes, with the product the learner uses
/// (`rbm_burn::internal::matmul`).
fn bare_products<B: Backend>(
    steps: usize,
    runs: usize,
    visible: usize,
    hidden: usize,
    device: &B::Device,
) -> f64 {
    let weights = Tensor::<B, 2>::random([visible, hidden], Distribution::Default, device);
    let v = Tensor::<B, 2>::random([runs, visible], Distribution::Default, device);
    let h = Tensor::<B, 2>::random([runs, hidden], Distribution::Default, device);
    let products = || {
        let up = matmul(v.clone(), weights.clone());
        let down = matmul(h.clone(), weights.clone().transpose());
        (up, down)
    };
    products();
    B::sync(device).expect("device sync");
    let started = Instant::now();
    for _ in 0..steps {
        products();
    }
    B::sync(device).expect("device sync");
    started.elapsed().as_secs_f64()
}
