//! The pipeline behind `examples/bars_and_stripes.rs`: see there for what it does and how to run it.

use burn::tensor::backend::Backend;
use burn::tensor::ElementConversion;
use clap::Parser;
use rbm_burn::synthetic::bars_and_stripes;
use rbm_burn::{rows_to_tensor, ContrastiveDivergenceConfig, RbmConfig};

/// Learn bars-and-stripes with an RBM and watch the exact log-likelihood rise.
#[derive(Parser, Debug)]
pub struct Args {
    /// Side of the square images (9 or 16 visible units for 3 or 4).
    #[arg(long, default_value_t = 3)]
    pub side: usize,
    /// Hidden units.
    #[arg(long, default_value_t = 16)]
    pub hidden: usize,
    /// Gibbs steps per update.
    #[arg(long, default_value_t = 1)]
    pub k: usize,
    /// Persistent contrastive divergence instead of CD-k.
    #[arg(long)]
    pub persistent: bool,
    /// Epochs (each image is shown ten times per epoch).
    #[arg(long, default_value_t = 100)]
    pub epochs: usize,
    /// Learning rate.
    #[arg(long, default_value_t = 0.05)]
    pub learning_rate: f64,
    /// Final momentum (after epoch 5).
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f64,
    /// Rows per update (and number of persistent chains); each image appears ten times per epoch.
    #[arg(long, default_value_t = 14)]
    pub batch_size: usize,
    /// L2 weight decay.
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    /// Standard deviation of the initial weights.
    #[arg(long, default_value_t = 0.1)]
    pub weight_std: f64,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// Learns bars-and-stripes and prints the exact log-likelihood every ten epochs.
///
/// # Errors
/// Invalid settings, missing or malformed data files, training that diverges, and files that
/// cannot be written.
pub fn run<B: Backend>(args: &Args, device: &B::Device) -> rbm_burn::Result<()> {
    let images = bars_and_stripes(args.side);
    let data = rows_to_tensor::<B, _>(&images, device)?;
    let optimum = -(images.len() as f64).ln();
    let rbm = RbmConfig::new(args.side * args.side, args.hidden)
        .with_weight_std(args.weight_std)
        .with_seed(args.seed)
        .init::<B>(device)?;
    let mut learner = ContrastiveDivergenceConfig::new()
        .with_k(args.k)
        .with_persistent(args.persistent)
        .with_batch_size(args.batch_size)
        .with_epochs(args.epochs)
        .with_learning_rate(args.learning_rate)
        .with_final_momentum(args.momentum)
        .with_weight_decay(args.weight_decay)
        .with_seed(args.seed)
        .init()?;
    let start = rbm
        .log_likelihood_exact(data.clone())?
        .mean()
        .into_scalar()
        .elem::<f64>();
    println!(
        "{} bars-and-stripes images of {}×{}: best possible {optimum:.3} nats, start {start:.3}",
        images.len(),
        args.side,
        args.side
    );
    // Train in rounds of ten epochs: `fit_until` stops at the given epoch of the schedule, and
    // the next call continues it (momentum, chains, random stream).
    let repeated = data.clone().repeat_dim(0, 10);
    let mut rbm = rbm;
    let mut end = start;
    while learner.epoch() < args.epochs {
        let stop = learner.epoch() + 10;
        let (next, history) = learner.fit_until(rbm, &repeated, None, &mut (), stop)?;
        rbm = next;
        let trained = learner.epoch();
        let Some(last) = history.last() else { break };
        end = rbm
            .log_likelihood_exact(data.clone())?
            .mean()
            .into_scalar()
            .elem::<f64>();
        println!(
            "epoch {trained:4}  log-likelihood {end:7.3}  reconstruction error {:.4}  pseudo-LL {:7.3}",
            last.reconstruction_error, last.pseudo_log_likelihood
        );
    }
    println!(
        "exact average log-likelihood: {start:.3} → {end:.3} nats (best possible {optimum:.3})"
    );
    Ok(())
}
