//! The generative RBM-on-MNIST pipeline behind `examples/rbm_mnist.rs`: train a Bernoulli RBM
//! on stochastically binarised MNIST (CD-k or PCD), estimate its test log-likelihood with AIS,
//! sample from it, fill in occluded digits, denoise corrupted ones, and draw all of it.
//!
//! The images are binarised once, with a fixed seed, by drawing each pixel from a Bernoulli of
//! its intensity, as Salakhutdinov & Murray (2008) did for the figures this is compared with.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Tensor, TensorData};
use clap::Parser;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rbm_burn::{
    AisConfig, AisEstimate, BetaSchedule, CentringConfig, ChainOutput, ContrastiveDivergence,
    ContrastiveDivergenceConfig, EpochMetrics, FillInConfig, GibbsChainConfig, RbmConfig,
    ReverseAisConfig, ScheduleSegment, TemperingConfig,
};

use crate::cli::{BackendChoice, MnistArgs};
use crate::files::{save_module_atomically, write_bytes_atomically};
use crate::images::{save_grid_png, save_tiles_png, tensor_tiles, Scale};
use crate::mnist::MnistSplit;
use crate::plots::{save_panels_svg, Panel, Series};

/// Train an RBM on binarised MNIST, measure its AIS test log-likelihood, and use it to sample,
/// inpaint and denoise.
#[derive(Parser, Debug, Clone)]
#[command(version)]
pub struct Args {
    /// The data: `--data-dir`, `--train-limit`, `--test-limit`.
    #[command(flatten)]
    pub data: MnistArgs,
    /// Hidden units.
    #[arg(long, default_value_t = 500)]
    pub hidden: usize,
    /// Training epochs.
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Gibbs steps per update (CD-k, or per update of the persistent chains).
    #[arg(long, default_value_t = 1)]
    pub k: usize,
    /// Persistent contrastive divergence instead of CD-k.
    #[arg(long)]
    pub persistent: bool,
    /// Centred training (Melchior et al. 2016): offsets that follow the data's means.
    #[arg(long)]
    pub centred: bool,
    /// Moving-average rate of the offsets of `--centred`.
    #[arg(long, default_value_t = 0.01)]
    pub offset_rate: f64,
    /// Parallel tempering with this many temperatures as the negative phase (persistent).
    #[arg(long)]
    pub tempering: Option<usize>,
    /// Smallest inverse temperature of `--tempering`.
    #[arg(long, default_value_t = 0.5)]
    pub min_beta: f64,
    /// Train and evaluate on flipped images, `1 − x`.
    #[arg(long)]
    pub flip: bool,
    /// Also the exact log-likelihood, by enumerating the hidden layer (at most 24 units).
    #[arg(long)]
    pub exact: bool,
    /// Test images on which to run reverse AIS (0: none), with the AIS schedule.
    #[arg(long, default_value_t = 0)]
    pub raise_rows: usize,
    /// Write a checkpoint every this many epochs (and resume from one found in `--out`).
    #[arg(long)]
    pub checkpoint_every: Option<usize>,
    /// Learning rate (of the first epoch).
    #[arg(long, default_value_t = 0.05)]
    pub learning_rate: f64,
    /// Learning rate of the last epoch, reached by a linear decay (default: no decay).
    #[arg(long)]
    pub final_learning_rate: Option<f64>,
    /// Momentum after the switch epoch, `min(⌈epochs / 2⌉, 5)` (0-based; earlier epochs use
    /// 0.5). PCD's chains cannot follow a model that moves fast, so PCD runs usually keep it
    /// at 0.5.
    #[arg(long, default_value_t = 0.9)]
    pub final_momentum: f64,
    /// L2 weight decay.
    #[arg(long, default_value_t = 2e-4)]
    pub weight_decay: f64,
    /// Images per update (and persistent chains).
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
    /// Seed of the binarisation, the weights, training, AIS and the pictures.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// AIS runs.
    #[arg(long, default_value_t = 100)]
    pub ais_runs: usize,
    /// A 10× shorter AIS schedule (1 450 steps) for quick runs; the default is the paper's
    /// 14 500 steps.
    #[arg(long)]
    pub fast_ais: bool,
    /// Gibbs steps from random states before the samples are drawn.
    #[arg(long, default_value_t = 1000)]
    pub sample_steps: usize,
    /// Test digits used to measure inpainting and denoising.
    #[arg(long, default_value_t = 1000)]
    pub eval_digits: usize,
    /// Directory for the model, metrics, curves and pictures.
    #[arg(long, default_value = "rbm_mnist_out")]
    pub out: PathBuf,
    /// Backend.
    #[arg(long, value_enum, default_value = "ndarray")]
    pub backend: BackendChoice,
}

/// Squared errors of a restoration method and its baselines, per pixel.
#[derive(Debug, Clone, PartialEq)]
pub struct Restoration {
    /// What was done to the digits.
    pub task: String,
    /// Mean squared error of the RBM's restoration against the clean digits: on the occluded
    /// pixels for inpainting, on all pixels for denoising.
    pub rbm: f64,
    /// The same for the baselines, by name.
    pub baselines: Vec<(String, f64)>,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// The AIS estimate of `log Z`.
    pub ais: AisEstimate,
    /// Average log-likelihood of the (binarised) training images used, in nats.
    pub train_log_likelihood: f64,
    /// Average log-likelihood of the (binarised) test images, in nats.
    pub test_log_likelihood: f64,
    /// Wall time of training, in seconds.
    pub train_seconds: f64,
    /// Wall time of AIS, in seconds.
    pub ais_seconds: f64,
    /// The exact training and test log-likelihoods, with `--exact`.
    pub exact: Option<(f64, f64)>,
    /// The reverse AIS estimate of the test log-likelihood on `--raise-rows` test images, with
    /// the AIS estimate on the same images: `(pessimistic, optimistic)`.
    pub bracket: Option<(f64, f64)>,
    /// Inpainting and denoising errors.
    pub restorations: Vec<Restoration>,
    /// The files written.
    pub files: Vec<PathBuf>,
}

/// Digits shown in the before/after pictures, and tiles in the other grids.
const SHOWN: usize = 10;
const TILES: usize = 100;
/// Fraction of pixels replaced by random black or white in the denoising task.
const SALT_AND_PEPPER: f64 = 0.1;
/// Fraction of pixels hidden in the random-occlusion task.
const RANDOM_OCCLUSION: f64 = 0.5;

/// Runs the whole pipeline on `B`.
///
/// # Errors
/// Missing or malformed MNIST files, invalid settings (reported by the RBM's config checks),
/// divergence, and write errors.
pub fn run<B: Backend>(args: &Args, device: &B::Device) -> Result<Report, Box<dyn Error>> {
    if args.sample_steps == 0 || args.eval_digits == 0 {
        return Err("--sample-steps and --eval-digits must be at least 1".into());
    }
    let data = args.data.load()?;
    if data.train.is_empty() || data.test.is_empty() {
        return Err("the training and test sets must not be empty".into());
    }
    let (height, width, pixels) = (data.train.rows, data.train.columns, data.train.pixels());
    let mut rng = StdRng::seed_from_u64(args.seed);
    let mut train = binarize::<B>(&data.train, &mut rng, device);
    let mut test = binarize::<B>(&data.test, &mut rng, device);
    if args.flip {
        train = train.neg() + 1.0;
        test = test.neg() + 1.0;
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("creating {}: {e}", args.out.display()))?;

    let rbm_config = RbmConfig::new(pixels, args.hidden).with_seed(args.seed);
    let cd = ContrastiveDivergenceConfig::new()
        .with_k(args.k)
        .with_persistent(args.persistent)
        .with_learning_rate(args.learning_rate)
        .with_final_learning_rate(args.final_learning_rate)
        .with_final_momentum(args.final_momentum)
        .with_weight_decay(args.weight_decay)
        .with_batch_size(args.batch_size)
        .with_epochs(args.epochs)
        .with_momentum_switch_epoch(args.epochs.div_ceil(2).min(5))
        .with_centring(
            args.centred
                .then(|| CentringConfig::new().with_offset_rate(args.offset_rate)),
        )
        .with_tempering(args.tempering.map(|temperatures| {
            TemperingConfig::new()
                .with_temperatures(temperatures)
                .with_min_beta(args.min_beta)
        }))
        .with_seed(args.seed);
    let method = match (args.tempering, args.persistent) {
        (Some(m), _) => format!("PT({m} temperatures, β ≥ {})-{}", args.min_beta, args.k),
        (None, true) => format!("PCD-{}", args.k),
        (None, false) => format!("CD-{}", args.k),
    };
    let method = format!(
        "{}{method}{}",
        if args.centred { "centred " } else { "" },
        if args.flip { " on flipped images" } else { "" }
    );
    println!(
        "RBM {pixels}-{} on {} binarised MNIST images ({} test), {method}, learning rate {}, {} epochs, backend {}",
        args.hidden,
        train.dims()[0],
        test.dims()[0],
        args.learning_rate,
        args.epochs,
        std::any::type_name::<B>()
    );
    let checkpoint = args.out.join("checkpoint.ckpt");
    let (mut learner, rbm) = if args.checkpoint_every.is_some() && checkpoint.exists() {
        let (learner, rbm) = ContrastiveDivergence::load_checkpoint(&checkpoint, device)?;
        if learner.config() != &cd {
            return Err(format!(
                "{} was written with other settings; remove it or use another --out",
                checkpoint.display()
            )
            .into());
        }
        println!(
            "resuming from {} after epoch {}",
            checkpoint.display(),
            learner.epoch()
        );
        (learner, rbm)
    } else {
        let rbm = rbm_config
            .init::<B>(device)?
            .init_visible_bias_from_data(&train)?;
        (cd.init()?, rbm)
    };
    if let Some(every) = args.checkpoint_every {
        learner = learner.with_checkpoints(&checkpoint, every)?;
    }
    let validation = test.clone().narrow(0, 0, test.dims()[0].min(1000));
    let started = Instant::now();
    let mut print_epoch = |m: &EpochMetrics| {
        let swaps = if m.swap_rates.is_empty() {
            String::new()
        } else {
            let rates: Vec<String> = m.swap_rates.iter().map(|r| format!("{r:.2}")).collect();
            format!(", swap rates [{}]", rates.join(" "))
        };
        println!(
            "  epoch {:3}: reconstruction error {:.4}, free-energy gap {:+.2}, pseudo-log-likelihood {:8.2}, {:.1} s{swaps}",
            m.epoch + 1,
            m.reconstruction_error,
            m.free_energy_gap().unwrap_or(f64::NAN),
            m.pseudo_log_likelihood,
            m.seconds
        )
    };
    let (rbm, history) = learner.fit_with(rbm, &train, Some(&validation), &mut print_epoch)?;
    let train_seconds = started.elapsed().as_secs_f64();
    println!("training took {train_seconds:.0} s");

    let started = Instant::now();
    let schedule = if args.fast_ais {
        BetaSchedule {
            segments: [(0.5, 1e-2), (0.9, 1e-3), (1.0, 1e-4)]
                .map(|(until, step)| ScheduleSegment { until, step })
                .to_vec(),
        }
    } else {
        BetaSchedule::salakhutdinov_murray()
    };
    let ais_config = AisConfig::new()
        .with_runs(args.ais_runs)
        .with_schedule(schedule)
        .with_seed(args.seed);
    let ais = rbm.ais_log_partition(&train, &ais_config)?;
    let ais_seconds = started.elapsed().as_secs_f64();
    let train_log_likelihood = rbm.average_log_likelihood(&train, ais.log_z)?;
    let test_log_likelihood = rbm.average_log_likelihood(&test, ais.log_z)?;
    println!(
        "AIS ({} runs, {} steps, {ais_seconds:.0} s): log Z = {:.2} ± {:.2} (3 sd: [{:.2}, {:.2}], effective runs {:.1})",
        ais.log_weights.len(),
        ais.steps,
        ais.log_z,
        ais.std_error,
        ais.log_z_low,
        ais.log_z_high,
        ais.effective_sample_size
    );
    let mut sorted = ais.log_weights.clone();
    sorted.sort_by(f64::total_cmp);
    let top: Vec<String> = sorted
        .iter()
        .rev()
        .take(3)
        .map(|w| format!("{:+.2}", w - sorted[sorted.len() / 2]))
        .collect();
    println!(
        "  the largest log weights, from the median: {} (a run far above the others dominates the estimate)",
        top.join(", ")
    );
    println!(
        "average log-likelihood: train {train_log_likelihood:.2} nats, test {test_log_likelihood:.2} nats"
    );
    let exact_log_z = if args.exact {
        Some(rbm.log_partition_exact()?)
    } else {
        None
    };
    let exact = if let Some(log_z) = exact_log_z {
        let started = Instant::now();
        let train_exact = rbm.average_log_likelihood(&train, log_z)?;
        let test_exact = rbm.average_log_likelihood(&test, log_z)?;
        println!(
            "exact log Z = {log_z:.4} ({:.0} s): average log-likelihood train {train_exact:.2} nats, test {test_exact:.2} nats",
            started.elapsed().as_secs_f64()
        );
        Some((train_exact, test_exact))
    } else {
        None
    };
    let bracket = if args.raise_rows > 0 {
        let started = Instant::now();
        let rows = test
            .clone()
            .narrow(0, 0, test.dims()[0].min(args.raise_rows));
        let raise = rbm.reverse_ais_log_likelihood(
            &train,
            &rows,
            &ReverseAisConfig::new()
                .with_schedule(ais_config.schedule.clone())
                .with_seed(args.seed),
        )?;
        let optimistic = rbm.average_log_likelihood(&rows, ais.log_z)?;
        let exact = match exact_log_z {
            Some(log_z) => format!(", exact {:.2}", rbm.average_log_likelihood(&rows, log_z)?),
            None => String::new(),
        };
        println!(
            "reverse AIS on {} test images ({:.0} s): test log-likelihood in [{:.2}, {optimistic:.2}] (reverse AIS, AIS; spread over the images ± {:.2}){exact}",
            rows.dims()[0],
            started.elapsed().as_secs_f64(),
            raise.log_likelihood,
            raise.std_error
        );
        Some((raise.log_likelihood, optimistic))
    } else {
        None
    };

    let mut files = Vec::new();
    let eval = test
        .clone()
        .narrow(0, 0, test.dims()[0].min(args.eval_digits));
    let mean_image = train.clone().mean_dim(0);
    let mut restorations = Vec::new();
    for (task, file, known) in [
        (
            "inpainting the bottom half",
            "inpaint_bottom.png",
            top_half_known::<B>(eval.dims(), width, device),
        ),
        (
            "inpainting 50% random pixels",
            "inpaint_random.png",
            random_known::<B>(eval.dims(), 1.0 - RANDOM_OCCLUSION, &mut rng, device),
        ),
    ] {
        let filled = rbm.fill_in(eval.clone(), known.clone(), &FillInConfig::new(), &mut rng)?;
        let baseline = eval.clone().mask_where(
            known.clone().bool_not(),
            mean_image.clone().expand(eval.dims()),
        );
        let hidden = known.clone().bool_not().float();
        let restoration = Restoration {
            task: task.into(),
            rbm: masked_mse(filled.clone(), eval.clone(), hidden.clone()),
            baselines: vec![(
                "mean image".into(),
                masked_mse(baseline.clone(), eval.clone(), hidden.clone()),
            )],
        };
        let shown = eval.clone().mask_fill(known.bool_not(), 0.5);
        let path = args.out.join(file);
        save_comparison(&path, [&eval, &shown, &filled, &baseline], height, width)?;
        files.push(path);
        restorations.push(restoration);
    }

    let noise_mask = random_known::<B>(eval.dims(), SALT_AND_PEPPER, &mut rng, device);
    let noise_values = random_known::<B>(eval.dims(), 0.5, &mut rng, device).float();
    let noisy = eval.clone().mask_where(noise_mask, noise_values);
    let denoised = rbm.reconstruct(noisy.clone());
    let median = median_filter(noisy.clone(), height, width)?;
    let everywhere = eval.ones_like();
    restorations.push(Restoration {
        task: format!("denoising {:.0}% salt-and-pepper", 100.0 * SALT_AND_PEPPER),
        rbm: masked_mse(denoised.clone(), eval.clone(), everywhere.clone()),
        baselines: vec![
            (
                "noisy input".into(),
                masked_mse(noisy.clone(), eval.clone(), everywhere.clone()),
            ),
            (
                "3×3 median filter".into(),
                masked_mse(median.clone(), eval.clone(), everywhere),
            ),
        ],
    });
    let path = args.out.join("denoise.png");
    save_comparison(&path, [&eval, &noisy, &denoised, &median], height, width)?;
    files.push(path);
    for r in &restorations {
        let baselines: Vec<String> = r
            .baselines
            .iter()
            .map(|(name, error)| format!("{name} {error:.4}"))
            .collect();
        println!(
            "{} ({} test digits), squared error per restored pixel: RBM {:.4} | {}",
            r.task,
            eval.dims()[0],
            r.rbm,
            baselines.join(" | ")
        );
    }

    // Pictures of the model: filters, samples from random starts, and PCD's fantasy particles.
    let filters = tensor_tiles(rbm.weights.val().transpose())?;
    let path = args.out.join("filters.png");
    save_tiles_png(
        &path,
        &filters[..filters.len().min(TILES)],
        height,
        width,
        10,
    )?;
    files.push(path);
    let chains = GibbsChainConfig::new()
        .with_burn_in(args.sample_steps - 1)
        .with_thinning(1)
        .with_samples(1)
        .with_output(ChainOutput::Means);
    let samples = rbm.sample_chains(rbm.random_visible(TILES, &mut rng), &chains, &mut rng)?;
    let mut save_probabilities = |name: &str, rows: Tensor<B, 2>| -> Result<(), Box<dyn Error>> {
        let shown = rows.dims()[0].min(TILES);
        let path = args.out.join(name);
        let tiles = tensor_tiles(rows.narrow(0, 0, shown))?;
        save_grid_png(&path, &tiles, height, width, 10, Scale::PROBABILITIES)?;
        files.push(path);
        Ok(())
    };
    save_probabilities("samples.png", samples[0].clone())?;
    if let Some(fantasy) = learner.fantasy_particles(&rbm) {
        save_probabilities("fantasy_particles.png", fantasy)?;
    }

    // A run resumed after its last epoch trains nothing and keeps the earlier files.
    let epochs = &history.epochs;
    if !epochs.is_empty() {
        let curve = |name: &str, value: &dyn Fn(&EpochMetrics) -> f64| Series {
            name: name.into(),
            points: epochs
                .iter()
                .map(|m| ((m.epoch + 1) as f64, value(m)))
                .collect(),
        };
        let panel = |title: &str, series| Panel {
            title: title.into(),
            x_label: "epoch".into(),
            series,
        };
        let path = args.out.join("curves.svg");
        save_panels_svg(
            &path,
            &[
                panel(
                    "reconstruction error",
                    vec![curve("train", &|m| m.reconstruction_error)],
                ),
                panel(
                    "free-energy gap (test − train)",
                    vec![curve("gap", &|m| m.free_energy_gap().unwrap_or(f64::NAN))],
                ),
                panel(
                    "pseudo-log-likelihood",
                    vec![curve("train", &|m| m.pseudo_log_likelihood)],
                ),
            ],
        )?;
        files.push(path);

        let header =
            "epoch,reconstruction_error,free_energy_train,free_energy_test,pseudo_log_likelihood,seconds\n";
        // A resumed run keeps the rows of the epochs before it (its curves show its own epochs).
        let first_epoch = epochs[0].epoch + 1;
        let earlier = std::fs::read_to_string(args.out.join("metrics.csv")).unwrap_or_default();
        let mut csv = String::from(header);
        for line in earlier.lines().skip(1) {
            let epoch = line.split(',').next().and_then(|e| e.parse::<usize>().ok());
            if epoch.is_some_and(|e| e < first_epoch) {
                csv.push_str(line);
                csv.push('\n');
            }
        }
        for m in epochs {
            writeln!(
                csv,
                "{},{},{},{},{},{}",
                m.epoch + 1,
                m.reconstruction_error,
                m.free_energy_train,
                m.free_energy_validation.unwrap_or(f64::NAN),
                m.pseudo_log_likelihood,
                m.seconds
            )?;
        }
        let path = args.out.join("metrics.csv");
        write_bytes_atomically(&path, csv.as_bytes())?;
        files.push(path);
    }
    let path = args.out.join("rbm.json");
    write_bytes_atomically(&path, rbm_config.to_string().as_bytes())?;
    files.push(path);
    let path = args.out.join("model.mpk");
    save_module_atomically(&rbm, &path)?;
    files.push(path);
    for file in &files {
        println!("wrote {}", file.display());
    }
    Ok(Report {
        ais,
        train_log_likelihood,
        test_log_likelihood,
        train_seconds,
        ais_seconds,
        exact,
        bracket,
        restorations,
        files,
    })
}

/// Each pixel drawn once as 1 with probability equal to its intensity.
///
/// # Shapes
/// - output: `[split.len(), split.pixels()]`
fn binarize<B: Backend>(split: &MnistSplit, rng: &mut StdRng, device: &B::Device) -> Tensor<B, 2> {
    let values: Vec<f32> = split
        .images
        .iter()
        .map(|&p| f32::from(rng.random::<f32>() < p))
        .collect();
    Tensor::from_data(
        TensorData::new(values, [split.len(), split.pixels()]),
        device,
    )
}

/// True on the top half of each image of `width` columns (the known part when the bottom half
/// is occluded).
fn top_half_known<B: Backend>(
    dims: [usize; 2],
    width: usize,
    device: &B::Device,
) -> Tensor<B, 2, Bool> {
    let height = dims[1] / width;
    let row: Vec<bool> = (0..dims[1]).map(|i| i / width < height / 2).collect();
    Tensor::<B, 1, Bool>::from_bool(TensorData::new(row, [dims[1]]), device)
        .unsqueeze::<2>()
        .expand(dims)
}

/// True independently with probability `p`.
fn random_known<B: Backend>(
    dims: [usize; 2],
    p: f64,
    rng: &mut StdRng,
    device: &B::Device,
) -> Tensor<B, 2, Bool> {
    let values: Vec<bool> = (0..dims[0] * dims[1])
        .map(|_| rng.random::<f64>() < p)
        .collect();
    Tensor::from_bool(TensorData::new(values, dims), device)
}

/// Mean of `(a − b)²` over the entries where `mask` is 1.
fn masked_mse<B: Backend>(a: Tensor<B, 2>, b: Tensor<B, 2>, mask: Tensor<B, 2>) -> f64 {
    let total = ((a - b).square() * mask.clone()).sum().into_scalar();
    let count = mask.sum().into_scalar();
    use burn::tensor::ElementConversion;
    total.elem::<f64>() / count.elem::<f64>().max(1.0)
}

/// A 3×3 median filter on each `height × width` image, with the edge pixels repeated beyond
/// the border (so every window has 9 values).
fn median_filter<B: Backend>(
    images: Tensor<B, 2>,
    height: usize,
    width: usize,
) -> Result<Tensor<B, 2>, Box<dyn Error>> {
    let device = images.device();
    let dims = images.dims();
    let tiles = tensor_tiles(images)?;
    let mut out = Vec::with_capacity(dims[0] * dims[1]);
    let mut window = Vec::with_capacity(9);
    for tile in &tiles {
        for y in 0..height {
            for x in 0..width {
                window.clear();
                for dy in 0..3 {
                    for dx in 0..3 {
                        let yy = (y + dy).saturating_sub(1).min(height - 1);
                        let xx = (x + dx).saturating_sub(1).min(width - 1);
                        window.push(tile[yy * width + xx]);
                    }
                }
                window.sort_by(f32::total_cmp);
                out.push(window[window.len() / 2]);
            }
        }
    }
    Ok(Tensor::from_data(TensorData::new(out, dims), &device))
}

/// Rows of the first [`SHOWN`] digits of each tensor, one tensor per row of the picture.
fn save_comparison<B: Backend>(
    path: &Path,
    rows: [&Tensor<B, 2>; 4],
    height: usize,
    width: usize,
) -> Result<(), Box<dyn Error>> {
    let mut tiles = Vec::new();
    let shown = rows[0].dims()[0].min(SHOWN);
    for row in rows {
        tiles.extend(tensor_tiles(row.clone().narrow(0, 0, shown))?);
    }
    save_grid_png(path, &tiles, height, width, shown, Scale::PROBABILITIES)?;
    Ok(())
}
