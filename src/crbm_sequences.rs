//! The pipeline behind `examples/crbm_sequences.rs`: a conditional RBM on motion-like
//! sequences generated in code ([`rbm_burn::synthetic::sine_joints`]), its one-step prediction
//! error against the "repeat the last frame" and "the mean frame" baselines, and a PNG strip of
//! a generated rollout beside the true continuation.

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::backend::Backend;
use burn::tensor::{ElementConversion, Tensor, TensorData};
use clap::Parser;
use rbm_burn::rand::rngs::StdRng;
use rbm_burn::rand::SeedableRng;
use rbm_burn::synthetic::sine_joints;
use rbm_burn::{
    sequence_windows, ContrastiveDivergenceConfig, Crbm, CrbmConfig, EpochMetrics, RbmConfig,
    VisibleUnits,
};

use crate::cli::BackendChoice;
use crate::images::{save_grid_png, Scale};

/// Train a conditional RBM on generated motion sequences and compare its one-step predictions
/// with simple baselines.
#[derive(Parser, Debug, Clone)]
#[command(version)]
pub struct Args {
    /// Training sequences.
    #[arg(long, default_value_t = 60)]
    pub train_sequences: usize,
    /// Held-out sequences.
    #[arg(long, default_value_t = 20)]
    pub test_sequences: usize,
    /// Frames per sequence.
    #[arg(long, default_value_t = 100)]
    pub frames: usize,
    /// Joints (values) per frame.
    #[arg(long, default_value_t = 10)]
    pub joints: usize,
    /// Frames of context (the model's order).
    #[arg(long, default_value_t = 3)]
    pub order: usize,
    /// Hidden units.
    #[arg(long, default_value_t = 100)]
    pub hidden: usize,
    /// Training epochs.
    #[arg(long, default_value_t = 200)]
    pub epochs: usize,
    /// Learning rate (Gaussian visible units need a small one).
    #[arg(long, default_value_t = 0.005)]
    pub learning_rate: f64,
    /// L2 weight decay on `W`, `A` and `B`.
    #[arg(long, default_value_t = 0.0002)]
    pub weight_decay: f64,
    /// Windows per update.
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
    /// Gibbs steps per update (CD-k).
    #[arg(long, default_value_t = 3)]
    pub k: usize,
    /// Mean-field up–down passes of a one-step prediction.
    #[arg(long, default_value_t = 5)]
    pub prediction_steps: usize,
    /// Frames of the generated rollout.
    #[arg(long, default_value_t = 80)]
    pub rollout: usize,
    /// Gibbs steps per generated frame.
    #[arg(long, default_value_t = 30)]
    pub gibbs_steps: usize,
    /// Seed of the data, the weights and the sampling.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Directory for `rollout.png`.
    #[arg(long, default_value = "crbm_sequences_out")]
    pub out: PathBuf,
    /// Backend.
    #[arg(long, value_enum, default_value = "ndarray")]
    pub backend: BackendChoice,
}

/// What a run measured: mean squared one-step prediction errors per unit on the held-out
/// sequences (in standardised units).
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The CRBM's mean-field prediction.
    pub crbm: f64,
    /// Repeating the last frame.
    pub last_frame: f64,
    /// The mean training frame.
    pub mean_frame: f64,
    /// Seconds of training.
    pub seconds: f64,
    /// The rollout picture.
    pub rollout_png: PathBuf,
}

/// Runs the pipeline on backend `B`.
///
/// # Errors
/// Invalid settings (too few frames for the order, zero sizes), training that diverges, and
/// files that cannot be written.
pub fn run<B: Backend>(args: &Args, device: &B::Device) -> Result<Report, Box<dyn Error>> {
    if args.frames <= args.order + 1 || args.test_sequences == 0 || args.rollout == 0 {
        return Err("need --frames > --order + 1, --test-sequences ≥ 1 and --rollout ≥ 1".into());
    }
    // One skeleton for all: the held-out sequences are further walks of the same body.
    let mut train = sine_joints(
        args.train_sequences + args.test_sequences,
        args.frames,
        args.joints,
        args.seed,
    );
    let test = train.split_off(args.train_sequences);
    // Standardise every joint with the training frames' mean and standard deviation, so that
    // Gaussian units with σ = 1 fit (Hinton's practical guide, section 13.2).
    let (mean, std) = joint_moments(&train, args.joints);
    let tensor = |sequence: &Vec<Vec<f32>>| {
        let values: Vec<f32> = sequence
            .iter()
            .flat_map(|frame| {
                frame
                    .iter()
                    .zip(&mean)
                    .zip(&std)
                    .map(|((x, m), s)| (x - m) / s)
            })
            .collect();
        Tensor::<B, 2>::from_data(
            TensorData::new(values, [sequence.len(), args.joints]),
            device,
        )
    };
    let train: Vec<_> = train.iter().map(tensor).collect();
    let test: Vec<_> = test.iter().map(tensor).collect();
    let train_windows = sequence_windows(&train, args.order)?;
    let test_windows = sequence_windows(&test, args.order)?;
    println!(
        "CRBM of order {} with {} hidden units on {} training windows of {} joints ({} held out)",
        args.order,
        args.hidden,
        train_windows.dims()[0],
        args.joints,
        test_windows.dims()[0]
    );

    let frame = RbmConfig::new(args.joints, args.hidden)
        .with_visible_units(VisibleUnits::Gaussian { learn_sigma: false })
        .with_seed(args.seed);
    let crbm = CrbmConfig::new(frame, args.order).init::<B>(device)?;
    let mut learner = ContrastiveDivergenceConfig::new()
        .with_k(args.k)
        .with_learning_rate(args.learning_rate)
        .with_weight_decay(args.weight_decay)
        .with_batch_size(args.batch_size)
        .with_epochs(args.epochs)
        .with_seed(args.seed)
        .init()?;
    let started = Instant::now();
    let mut report_epoch = |m: &EpochMetrics| {
        if m.epoch == 0 || (m.epoch + 1).is_multiple_of(10) {
            println!(
                "  epoch {:3}: reconstruction error {:.4}, free energy {:8.3}",
                m.epoch + 1,
                m.reconstruction_error,
                m.free_energy_train
            );
        }
    };
    let (crbm, _) = learner.fit_with(crbm, &train_windows, None, &mut report_epoch)?;
    let seconds = started.elapsed().as_secs_f64();
    println!("training took {seconds:.1} s");

    let (frame, context) = (
        test_windows.clone().narrow(1, 0, args.joints),
        test_windows.narrow(1, args.joints, args.order * args.joints),
    );
    let error = |prediction: Tensor<B, 2>| -> f64 {
        (prediction - frame.clone())
            .square()
            .mean()
            .into_scalar()
            .elem::<f64>()
    };
    let crbm_error = error(crbm.predict(context.clone(), args.prediction_steps));
    let last_frame = error(context.narrow(1, 0, args.joints));
    // The training frames are standardised: their mean frame is zero.
    let mean_frame = error(frame.zeros_like());
    println!("one-step prediction error per unit on held-out sequences (standardised units):");
    println!("  CRBM        {crbm_error:.4}");
    println!(
        "  last frame  {last_frame:.4}   (CRBM / last frame = {:.2})",
        crbm_error / last_frame
    );
    println!("  mean frame  {mean_frame:.4}");

    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("creating {}: {e}", args.out.display()))?;
    let rollout_png = args.out.join("rollout.png");
    save_rollout(&crbm, &test[0], args, &rollout_png)?;
    println!(
        "wrote {} (top: a held-out sequence; bottom: the CRBM's rollout from its first {} frames)",
        rollout_png.display(),
        args.order
    );
    Ok(Report {
        crbm: crbm_error,
        last_frame,
        mean_frame,
        seconds,
        rollout_png,
    })
}

/// Each joint's mean and standard deviation over every training frame.
fn joint_moments(sequences: &[Vec<Vec<f32>>], joints: usize) -> (Vec<f32>, Vec<f32>) {
    let frames: Vec<&Vec<f32>> = sequences.iter().flatten().collect();
    let n = frames.len().max(1) as f64;
    let mean: Vec<f64> = (0..joints)
        .map(|j| frames.iter().map(|f| f[j] as f64).sum::<f64>() / n)
        .collect();
    let std: Vec<f32> = (0..joints)
        .map(|j| {
            let variance = frames
                .iter()
                .map(|f| (f[j] as f64 - mean[j]).powi(2))
                .sum::<f64>()
                / n;
            variance.sqrt().max(1e-6) as f32
        })
        .collect();
    (mean.into_iter().map(|m| m as f32).collect(), std)
}

/// Pixels per joint (rows) and per frame (columns) of the rollout picture.
const ROW: usize = 6;
const COLUMN: usize = 3;

/// Writes the held-out `sequence` and the rollout generated from its first `order` frames as
/// two strips (joints as rows, frames as columns), one above the other.
fn save_rollout<B: Backend>(
    crbm: &Crbm<B>,
    sequence: &Tensor<B, 2>,
    args: &Args,
    path: &std::path::Path,
) -> Result<(), Box<dyn Error>> {
    let frames = (args.order + args.rollout).min(sequence.dims()[0]);
    let start = sequence.clone().narrow(0, 0, args.order);
    let mut rng = StdRng::seed_from_u64(args.seed);
    let generated = crbm.generate(
        start.clone(),
        frames - args.order,
        args.gibbs_steps,
        &mut rng,
    )?;
    let strip = |values: Tensor<B, 2>| -> Result<Vec<f32>, Box<dyn Error>> {
        // [frames, joints] → joints as rows of ROW pixels, frames as columns of COLUMN pixels.
        let rows: Vec<f32> = values
            .transpose()
            .into_data()
            .to_vec()
            .map_err(|e| format!("{e:?}"))?;
        Ok(rows
            .chunks(frames)
            .flat_map(|row| {
                let wide: Vec<f32> = row
                    .iter()
                    .flat_map(|&x| std::iter::repeat_n(x, COLUMN))
                    .collect();
                std::iter::repeat_n(wide, ROW).flatten()
            })
            .collect())
    };
    let truth = strip(sequence.clone().narrow(0, 0, frames))?;
    let rollout = strip(Tensor::cat(vec![start, generated], 0))?;
    save_grid_png(
        path,
        &[truth, rollout],
        ROW * args.joints,
        COLUMN * frames,
        1,
        Scale::Fixed {
            low: -2.0,
            high: 2.0,
        },
    )?;
    Ok(())
}
