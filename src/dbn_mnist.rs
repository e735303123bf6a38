//! The DBN-on-MNIST pipeline behind `examples/dbn_mnist.rs`: load → greedy pre-training →
//! fine-tuning of the pre-trained MLP and of the same MLP from random initialisation → files.
//! It lives in the library so that the MNIST smoke test runs exactly the example's code.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::backend::Autodiff;
use burn::config::Config;
use burn::data::dataset::Dataset;
use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;
use clap::{Parser, ValueEnum};
use dbn::rbm_burn::rand::rngs::StdRng;
use dbn::rbm_burn::rand::SeedableRng;
use dbn::rbm_burn::{
    CentringConfig, ContrastiveDivergenceConfig, DatasetSource, EpochMetrics, Progress,
    TemperingConfig, TrainingObserver,
};
use dbn::{
    ClassDataset, DbnConfig, FineTuneConfig, FineTuneHistory, FineTuneMetrics, Mlp, MlpConfig,
    PretrainHistory,
};

use crate::cli::{BackendChoice, MnistArgs};
use crate::files::{save_module_atomically, write_bytes_atomically};
use crate::{images, mnist};

/// Named settings that replace the defaults (flags given explicitly still win).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// Hinton, Osindero & Teh 2006: 784-500-500-2000, longer pre-training and fine-tuning.
    Hinton2006,
}

/// Pre-train a DBN on MNIST, fine-tune it as a classifier, and compare it with the same MLP
/// trained from random initialisation.
#[derive(Parser, Debug, Clone)]
#[command(version)]
pub struct Args {
    /// The data: `--data-dir`, `--train-limit`, `--test-limit`.
    #[command(flatten)]
    pub data: MnistArgs,
    /// Hidden layer sizes, bottom first [default: 500,500].
    #[arg(long, value_delimiter = ',')]
    pub layers: Option<Vec<usize>>,
    /// Pre-training epochs per layer [default: 3].
    #[arg(long)]
    pub pretrain_epochs: Option<usize>,
    /// Fine-tuning epochs (for both classifiers) [default: 12].
    #[arg(long)]
    pub finetune_epochs: Option<usize>,
    /// Examples per update, in both phases.
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
    /// Learning rate of contrastive divergence.
    #[arg(long, default_value_t = 0.1)]
    pub learning_rate: f64,
    /// Learning rate of Adam during fine-tuning (of its first epoch).
    #[arg(long, default_value_t = 1e-3)]
    pub finetune_learning_rate: f64,
    /// Learning rate of the last fine-tuning epoch, reached by a linear decay (default: no
    /// decay).
    #[arg(long)]
    pub finetune_final_learning_rate: Option<f64>,
    /// Dropout on the hidden units during fine-tuning (probability of dropping each one).
    #[arg(long, default_value_t = 0.0)]
    pub dropout: f64,
    /// Dropout on the input pixels during fine-tuning.
    #[arg(long, default_value_t = 0.0)]
    pub input_dropout: f64,
    /// Fine-tune only the pre-trained MLP, not also the same MLP from random weights (the
    /// comparison doubles the fine-tuning time).
    #[arg(long)]
    pub no_random_init: bool,
    /// Gibbs steps per CD update (CD-k).
    #[arg(long, default_value_t = 1)]
    pub k: usize,
    /// Persistent contrastive divergence instead of CD-k.
    #[arg(long)]
    pub persistent: bool,
    /// Pre-train centred RBMs (offsets following the data's means at rate 0.01).
    #[arg(long)]
    pub centred: bool,
    /// Pre-train with parallel tempering over this many temperatures (β from 1 down to 0.5).
    #[arg(long)]
    pub tempering: Option<usize>,
    /// Seed of the weights, shuffling and sampling.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Gibbs steps in the top RBM for the sample image.
    #[arg(long, default_value_t = 1000)]
    pub sample_steps: usize,
    /// Directory for the model, config, metrics and images.
    #[arg(long, default_value = "dbn_mnist_out")]
    pub out: PathBuf,
    /// Write a pre-training checkpoint (`pretrain.ckpt` in the output directory) after every
    /// N epochs of each layer.
    #[arg(long, default_value_t = 1)]
    pub checkpoint_every: usize,
    /// Continue the interrupted run whose output directory is DIR (use the same other flags):
    /// pre-training goes on from DIR's last checkpoint, then fine-tuning runs.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// Settings of a published run.
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// Backend: NdArray on the CPU, or Wgpu (with `Autodiff` around it for fine-tuning).
    #[arg(long, value_enum, default_value = "ndarray")]
    pub backend: BackendChoice,
}

/// The settings of one run, after the preset and defaults are applied; saved as
/// `config.json`.
#[derive(Config, Debug)]
pub struct RunConfig {
    /// The DBN and its pre-training.
    pub dbn: DbnConfig,
    /// Fine-tuning, for both classifiers.
    pub finetune: FineTuneConfig,
    /// Training images used.
    pub train_images: usize,
    /// Test images used.
    pub test_images: usize,
    /// Gibbs steps for the samples.
    pub sample_steps: usize,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// Test accuracy of the fine-tuned DBN.
    pub pretrained_accuracy: f64,
    /// Test accuracy of the same MLP trained from random initialisation (`None` with
    /// `--no-random-init`).
    pub random_init_accuracy: Option<f64>,
    /// Wall time of pre-training, in seconds.
    pub pretrain_seconds: f64,
    /// Wall time of each fine-tuning run, in seconds (pre-trained, random).
    pub finetune_seconds: (f64, Option<f64>),
    /// The files written.
    pub files: Vec<PathBuf>,
}

/// Number of classes of MNIST.
const CLASSES: usize = 10;
/// The pre-training checkpoint in the output directory.
pub const CHECKPOINT: &str = "pretrain.ckpt";
/// Filters shown in `filters.png` and samples in `samples.png`.
const TILES: usize = 100;

impl Args {
    /// Resolves the preset and defaults into the run's settings.
    pub fn run_config(&self, pixels: usize, train_images: usize, test_images: usize) -> RunConfig {
        let hinton = self.preset == Some(Preset::Hinton2006);
        let layers = self.layers.clone().unwrap_or_else(|| {
            if hinton {
                vec![500, 500, 2000]
            } else {
                vec![500, 500]
            }
        });
        let pretrain_epochs = self.pretrain_epochs.unwrap_or(if hinton { 30 } else { 3 });
        let finetune_epochs = self.finetune_epochs.unwrap_or(if hinton { 40 } else { 12 });
        let cd = ContrastiveDivergenceConfig::new()
            .with_epochs(pretrain_epochs)
            .with_batch_size(self.batch_size)
            .with_learning_rate(self.learning_rate)
            .with_k(self.k)
            .with_persistent(self.persistent)
            .with_centring(self.centred.then(CentringConfig::new))
            .with_tempering(
                self.tempering
                    .map(|m| TemperingConfig::new().with_temperatures(m)),
            )
            // Momentum switches to its final value halfway through short schedules.
            .with_momentum_switch_epoch(pretrain_epochs.div_ceil(2).min(5))
            .with_seed(self.seed);
        let sizes = std::iter::once(pixels).chain(layers).collect();
        RunConfig {
            dbn: DbnConfig::new(sizes).with_cd(vec![cd]).with_seed(self.seed),
            finetune: FineTuneConfig::new()
                .with_epochs(finetune_epochs)
                .with_batch_size(self.batch_size)
                .with_learning_rate(self.finetune_learning_rate)
                .with_final_learning_rate(self.finetune_final_learning_rate)
                .with_dropout(self.dropout)
                .with_input_dropout(self.input_dropout)
                .with_seed(self.seed),
            train_images,
            test_images,
            sample_steps: self.sample_steps,
        }
    }
}

/// Prints pre-training progress, one line per epoch.
struct PretrainPrinter;

impl TrainingObserver for PretrainPrinter {
    fn on_layer_start(&mut self, layer: usize, n_layers: usize, n_visible: usize, n_hidden: usize) {
        println!(
            "pre-training RBM {}/{n_layers}: {n_visible} → {n_hidden}",
            layer + 1
        );
    }

    fn on_checkpoint(&mut self, progress: Progress, path: &Path) {
        println!(
            "  checkpoint: layer {} after epoch {} in {}",
            progress.layer.map_or(0, |l| l + 1),
            progress.epoch + 1,
            path.display()
        );
    }

    fn on_epoch_end(&mut self, progress: Progress, m: &EpochMetrics) {
        println!(
            "  layer {} epoch {:3}: reconstruction error {:.4}, free energy {:8.2}, {:.1} s",
            progress.layer.map_or(0, |l| l + 1),
            m.epoch + 1,
            m.reconstruction_error,
            m.free_energy_train,
            m.seconds
        );
    }
}

/// Runs the whole pipeline: pre-training on `B`, fine-tuning on `Autodiff<B>`.
///
/// # Errors
/// Missing or malformed MNIST files (naming the file), invalid settings, and write errors.
pub fn run<B: Backend>(args: &Args, device: &B::Device) -> Result<Report, Box<dyn Error>> {
    if args.sample_steps == 0 {
        return Err("--sample-steps must be at least 1".into());
    }
    if let Some(dir) = &args.resume {
        if !dir.join("config.json").is_file() {
            return Err(format!(
                "--resume {}: there is no config.json; give the --out directory of an \
                 interrupted run",
                dir.display()
            )
            .into());
        }
    }
    let data = args.data.load()?;
    let pixels = data.train.pixels();
    let train = class_dataset(&data.train)?;
    let test = class_dataset(&data.test)?;
    let config = args.run_config(pixels, train.len(), test.len());
    let out = args.resume.as_ref().unwrap_or(&args.out);
    let checkpoint = out.join(CHECKPOINT);
    let config_path = out.join("config.json");
    if args.resume.is_some() {
        // The checkpoint must be this run's: the same settings as the interrupted one.
        let saved = std::fs::read_to_string(&config_path)
            .map_err(|e| format!("resuming: reading {}: {e}", config_path.display()))?;
        if saved != config.to_string() {
            return Err(format!(
                "resuming: {} was written with other settings; give the flags of the \
                 interrupted run\n  saved: {saved}\n  now:   {config}",
                config_path.display()
            )
            .into());
        }
    } else {
        std::fs::create_dir_all(out).map_err(|e| format!("creating {}: {e}", out.display()))?;
        // A checkpoint left by an earlier run in this directory must not be resumed as this
        // run's.
        match std::fs::remove_file(&checkpoint) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(format!("removing {}: {e}", checkpoint.display()).into())
            }
            _ => {}
        }
        write_bytes_atomically(&config_path, config.to_string().as_bytes())?;
    }
    println!(
        "DBN {:?} on {} MNIST training images ({} test), backend {}",
        config.dbn.layers,
        train.len(),
        test.len(),
        std::any::type_name::<B>()
    );

    // Greedy pre-training, streaming the images batch by batch.
    let started = Instant::now();
    let mut printer = PretrainPrinter;
    let source = DatasetSource::new(train.clone());
    let every = args.checkpoint_every;
    // A run killed before its first checkpoint starts pre-training again.
    let (dbn, pretrain_history) = if args.resume.is_some() && checkpoint.exists() {
        println!("resuming pre-training from {}", checkpoint.display());
        config
            .dbn
            .resume_pretraining(&checkpoint, &source, &mut printer, every, device)?
    } else {
        config
            .dbn
            .pretrain_with_checkpoints(&source, &mut printer, &checkpoint, every, device)?
    };
    let pretrain_seconds = started.elapsed().as_secs_f64();
    println!("pre-training took {pretrain_seconds:.0} s");

    // Fine-tuning: the pre-trained stack, and the same MLP from random weights.
    let pretrained = Mlp::<Autodiff<B>>::from_inner(dbn.to_mlp(CLASSES, args.seed)?);
    let (pretrained, pretrained_history, pretrained_seconds) =
        fine_tune("pre-trained", &config.finetune, pretrained, &train, &test)?;
    let random = if args.no_random_init {
        None
    } else {
        let model = MlpConfig::new(config.dbn.layers.clone(), CLASSES)
            .with_seed(args.seed)
            .init::<Autodiff<B>>(device)?;
        Some(fine_tune(
            "random init",
            &config.finetune,
            model,
            &train,
            &test,
        )?)
    };
    let batch = config.finetune.batch_size;
    let random_init_accuracy = random
        .as_ref()
        .map(|(model, _, _)| dbn::accuracy(&model.valid(), &test, batch))
        .transpose()?;
    let report = Report {
        pretrained_accuracy: dbn::accuracy(&pretrained.valid(), &test, batch)?,
        random_init_accuracy,
        pretrain_seconds,
        finetune_seconds: (pretrained_seconds, random.as_ref().map(|r| r.2)),
        files: Vec::new(),
    };
    let random_line = report.random_init_accuracy.map_or(String::new(), |a| {
        format!(" | random init {:.2}%", 100.0 * a)
    });
    println!(
        "test accuracy after {} fine-tuning epochs: pre-trained DBN {:.2}%{random_line}",
        config.finetune.epochs,
        100.0 * report.pretrained_accuracy,
    );

    let files = write_outputs(
        out,
        &config,
        &dbn,
        &pretrained.valid(),
        &pretrain_history,
        std::iter::once(("pretrained", &pretrained_history))
            .chain(random.as_ref().map(|r| ("random_init", &r.1)))
            .collect(),
        args.seed,
    )?;
    for file in &files {
        println!("wrote {}", file.display());
    }
    Ok(Report { files, ..report })
}

/// MNIST images and labels as a labelled data set.
pub fn class_dataset(split: &mnist::MnistSplit) -> Result<ClassDataset, Box<dyn Error>> {
    let labels = split.labels.iter().map(|&l| usize::from(l)).collect();
    Ok(ClassDataset::new(
        split.images.clone(),
        split.pixels(),
        labels,
    )?)
}

/// A fine-tuned model, its history and the seconds it took.
type Tuned<B> = (Mlp<Autodiff<B>>, FineTuneHistory, f64);

/// Fine-tunes `model`, printing one line per epoch; returns it with its history and seconds.
fn fine_tune<B: Backend>(
    name: &str,
    config: &FineTuneConfig,
    model: Mlp<Autodiff<B>>,
    train: &ClassDataset,
    test: &ClassDataset,
) -> Result<Tuned<B>, Box<dyn Error>> {
    println!("fine-tuning the {name} MLP");
    let started = Instant::now();
    let mut report = |m: &FineTuneMetrics| {
        println!(
            "  {name} epoch {:3}: learning rate {:.2e}, loss {:.4}, train accuracy {:.2}%, \
             test accuracy {:.2}%, {:.1} s",
            m.epoch + 1,
            m.learning_rate,
            m.train_loss,
            100.0 * m.train_accuracy,
            100.0 * m.test_accuracy.unwrap_or(f64::NAN),
            m.seconds
        );
    };
    let (model, history) = config.fit(
        model,
        train.clone(),
        Some(test as &dyn Dataset<_>),
        &mut report,
    )?;
    Ok((model, history, started.elapsed().as_secs_f64()))
}

/// Writes everything a run produces into `out`, each file atomically.
fn write_outputs<B: Backend>(
    out: &Path,
    config: &RunConfig,
    dbn: &dbn::Dbn<B>,
    classifier: &Mlp<B>,
    pretrain: &PretrainHistory,
    finetune: Vec<(&str, &FineTuneHistory)>,
    seed: u64,
) -> Result<Vec<PathBuf>, Box<dyn Error>> {
    let mut files = Vec::new();
    let path = out.join("model.mpk");
    save_module_atomically(classifier, &path)?;
    files.push(path);
    let path = out.join("pretrained.dbn");
    dbn.save(&path)?;
    files.push(path);
    files.push(out.join("config.json"));
    files.push(out.join(CHECKPOINT));

    let mut csv = String::from(
        "layer,epoch,reconstruction_error,free_energy_train,pseudo_log_likelihood,seconds\n",
    );
    for (layer, history) in pretrain.layers.iter().enumerate() {
        for m in &history.epochs {
            writeln!(
                csv,
                "{},{},{},{},{},{}",
                layer + 1,
                m.epoch + 1,
                m.reconstruction_error,
                m.free_energy_train,
                m.pseudo_log_likelihood,
                m.seconds
            )?;
        }
    }
    let path = out.join("pretrain_metrics.csv");
    write_bytes_atomically(&path, csv.as_bytes())?;
    files.push(path);

    let mut csv =
        String::from("model,epoch,learning_rate,train_loss,train_accuracy,test_accuracy,seconds\n");
    for (name, history) in finetune {
        for m in &history.epochs {
            writeln!(
                csv,
                "{name},{},{},{},{},{},{}",
                m.epoch + 1,
                m.learning_rate,
                m.train_loss,
                m.train_accuracy,
                m.test_accuracy.unwrap_or(f64::NAN),
                m.seconds
            )?;
        }
    }
    let path = out.join("finetune_metrics.csv");
    write_bytes_atomically(&path, csv.as_bytes())?;
    files.push(path);

    // Layer-1 filters: column j of W is hidden unit j's receptive field.
    let pixels = dbn.n_input();
    let side = (pixels as f64).sqrt() as usize;
    let weights: Vec<f32> = dbn.layers[0]
        .weights
        .val()
        .transpose()
        .into_data()
        .to_vec()
        .map_err(|e| format!("{e:?}"))?;
    let filters: Vec<Vec<f32>> = weights
        .chunks(pixels)
        .take(TILES)
        .map(<[f32]>::to_vec)
        .collect();
    let path = out.join("filters.png");
    images::save_tiles_png(&path, &filters, side, pixels / side, 10)?;
    files.push(path);

    let mut rng = StdRng::seed_from_u64(seed);
    let samples: Vec<f32> = dbn
        .sample(TILES, config.sample_steps, &mut rng)?
        .into_data()
        .to_vec()
        .map_err(|e| format!("{e:?}"))?;
    let samples: Vec<Vec<f32>> = samples.chunks(pixels).map(<[f32]>::to_vec).collect();
    let path = out.join("samples.png");
    images::save_grid_png(
        &path,
        &samples,
        side,
        pixels / side,
        10,
        images::Scale::PROBABILITIES,
    )?;
    files.push(path);
    Ok(files)
}
