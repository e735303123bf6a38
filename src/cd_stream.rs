//! The pipeline behind `examples/cd_stream.rs`: see there for what it does and how to run it.

use std::error::Error;
use std::time::Instant;

use crate::cli::{BackendChoice, MnistArgs};
use crate::mnist::MnistSplit;
use burn::data::dataset::Dataset;
use burn::tensor::backend::Backend;
use clap::Parser;
use rbm_burn::{ContrastiveDivergenceConfig, DatasetSource, EpochMetrics, RbmConfig};

/// Stream shifted copies of MNIST through CD-1 and report memory use.
#[derive(Parser, Debug)]
pub struct Args {
    /// The data: `--data-dir`, `--train-limit`, `--test-limit`.
    #[command(flatten)]
    pub mnist: MnistArgs,
    /// Backend to run on.
    #[arg(long, value_enum, default_value = "ndarray")]
    pub backend: BackendChoice,
    /// How many shifted copies of the training set make one epoch.
    #[arg(long, default_value_t = 20)]
    pub copies: usize,
    /// Hidden units.
    #[arg(long, default_value_t = 500)]
    pub hidden: usize,
    /// Rows per update.
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
    /// Seed of the shifts and of the learner.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// MNIST images repeated `copies` times, image `i` shifted by an offset drawn from a hash of
/// `(seed, i)`: the same row every time it is read, and nothing stored but the originals.
struct ShiftedMnist {
    train: MnistSplit,
    copies: usize,
    seed: u64,
}

/// The largest shift, in pixels, in each direction.
const MAX_SHIFT: i64 = 2;

impl ShiftedMnist {
    fn shift(&self, index: usize) -> (i64, i64) {
        // SplitMix64 of (seed, index).
        let mut z = self.seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let span = 2 * MAX_SHIFT as u64 + 1;
        (
            (z % span) as i64 - MAX_SHIFT,
            ((z / span) % span) as i64 - MAX_SHIFT,
        )
    }
}

impl Dataset<Vec<f32>> for ShiftedMnist {
    fn get(&self, index: usize) -> Option<Vec<f32>> {
        if index >= self.len() {
            return None;
        }
        let (height, width) = (self.train.rows as i64, self.train.columns as i64);
        let pixels = self.train.pixels();
        let base = index % self.train.len();
        let image = &self.train.images[base * pixels..(base + 1) * pixels];
        let (dx, dy) = self.shift(index);
        let mut shifted = vec![0.0; pixels];
        for y in 0..height {
            for x in 0..width {
                let (source_y, source_x) = (y - dy, x - dx);
                if (0..height).contains(&source_y) && (0..width).contains(&source_x) {
                    shifted[(y * width + x) as usize] =
                        image[(source_y * width + source_x) as usize];
                }
            }
        }
        Some(shifted)
    }

    fn len(&self) -> usize {
        self.train.len() * self.copies
    }
}

/// `(VmRSS, VmHWM)` of this process in MiB, where `/proc` has them.
fn resident_mib() -> Option<(f64, f64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|line| line.starts_with(name))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn memory() -> String {
    match resident_mib() {
        Some((now, peak)) => format!("RSS {now:.0} MiB, peak {peak:.0} MiB"),
        None => "RSS unavailable".to_string(),
    }
}

/// Prints progress and memory ten times per epoch.
struct Printer {
    started: Instant,
    rows: usize,
    batch_size: usize,
}

impl rbm_burn::TrainingObserver for Printer {
    fn on_batch_end(&mut self, progress: rbm_burn::Progress) {
        let (batch, n_batches) = (progress.batch, progress.batches);
        let step = n_batches.div_ceil(10).max(1);
        if (batch + 1).is_multiple_of(step) || batch + 1 == n_batches {
            let done = ((batch + 1) * self.batch_size).min(self.rows);
            let seconds = self.started.elapsed().as_secs_f64();
            println!(
                "{done:>9} / {} rows, {seconds:.1} s, {:.0} rows/s, {}",
                self.rows,
                done as f64 / seconds,
                memory()
            );
        }
    }

    fn on_epoch_end(&mut self, _progress: rbm_burn::Progress, metrics: &EpochMetrics) {
        println!(
            "epoch done in {:.1} s: reconstruction error {:.4}, pseudo-log-likelihood {:.2}",
            metrics.seconds, metrics.reconstruction_error, metrics.pseudo_log_likelihood
        );
    }
}

/// Trains one epoch on MNIST images shifted on the fly, printing progress and memory.
///
/// # Errors
/// Invalid settings, missing or malformed data files, training that diverges, and files that
/// cannot be written.
pub fn run<B: Backend>(args: &Args, device: &B::Device) -> Result<(), Box<dyn Error>> {
    let train = args.mnist.load()?.train;
    let data = ShiftedMnist {
        train,
        copies: args.copies,
        seed: args.seed,
    };
    let rows = data.len();
    let pixels = data.train.pixels();
    println!(
        "{rows} shifted MNIST images ({:.2} GiB as one f32 tensor), generated on the fly; {}",
        (rows * pixels * 4) as f64 / (1u64 << 30) as f64,
        memory()
    );
    let rbm = RbmConfig::new(pixels, args.hidden)
        .with_seed(args.seed)
        .init::<B>(device)?;
    let mut learner = ContrastiveDivergenceConfig::new()
        .with_batch_size(args.batch_size)
        .with_epochs(1)
        .with_seed(args.seed)
        .init()?;
    let mut progress = Printer {
        started: Instant::now(),
        rows,
        batch_size: args.batch_size,
    };
    learner.fit_with(rbm, &DatasetSource::new(data), None, &mut progress)?;
    println!("finished: {}", memory());
    Ok(())
}
