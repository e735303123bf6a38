//! Fine-tuning an [`Mlp`] with Burn's autodiff: cross-entropy, a Burn optimizer, mini-batches
//! from a Burn `DataLoader`, and accuracy after every epoch.

use std::time::Instant;

use burn::config::Config;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::Dataset;
use burn::module::AutodiffModule;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, GradientsParams, Optimizer, SgdConfig};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Int, Tensor};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::data::{check_dataset, ClassBatch, ClassBatcher, ClassItem};
use crate::error::{invalid, DbnError};
use crate::mlp::Mlp;
use rbm_burn::internal::linear_decay;
use rbm_burn::sampling::uniform;
use rbm_burn::{Progress, TrainingObserver};

/// The optimizer [`FineTuneConfig::fit`] builds. Any other Burn optimizer can be passed to
/// [`FineTuneConfig::fit_with_optimizer`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum OptimizerChoice {
    /// Adam with Burn's defaults (β₁ = 0.9, β₂ = 0.999).
    Adam,
    /// Stochastic gradient descent with (classical) momentum.
    Sgd {
        /// Momentum coefficient in `[0, 1)`.
        momentum: f64,
    },
}

/// Settings of supervised fine-tuning.
#[derive(Config, Debug)]
pub struct FineTuneConfig {
    /// Passes over the training set.
    #[config(default = 10)]
    pub epochs: usize,
    /// Examples per update.
    #[config(default = 100)]
    pub batch_size: usize,
    /// Learning rate of the optimizer (of the first epoch when `final_learning_rate` is set).
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// When set, the learning rate falls linearly from `learning_rate` in the first epoch to
    /// this value in the last one (`epochs − 1`, 0-based); finite and > 0. (With `epochs = 1`
    /// only `learning_rate` is used.) A decaying rate lets the last epochs settle instead of
    /// wandering around a minimum at full step size.
    #[config(default = "None")]
    pub final_learning_rate: Option<f64>,
    /// Seed of the data loader's shuffling and of the dropout masks.
    #[config(default = 0)]
    pub seed: u64,
    /// The optimizer.
    #[config(default = "OptimizerChoice::Adam")]
    pub optimizer: OptimizerChoice,
    /// Dropout (Srivastava et al. 2014) on every hidden layer's output during fine-tuning:
    /// the probability of zeroing each unit in each example, in `[0, 1)`; the kept units are
    /// scaled by `1 / (1 − p)`, so the trained model is used as it is. The masks come from a
    /// host generator seeded with `seed`, so a run is reproducible whatever else uses the
    /// backend's global generator meanwhile. 0 turns it off.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Dropout on the input units, as `dropout` (Srivastava et al. use 0.2 with 0.5 on the
    /// hidden units).
    #[config(default = 0.0)]
    pub input_dropout: f64,
}

/// What one epoch of fine-tuning measured.
#[derive(Debug, Clone, PartialEq)]
pub struct FineTuneMetrics {
    /// The epoch, from 0.
    pub epoch: usize,
    /// The learning rate the optimizer used in this epoch.
    pub learning_rate: f64,
    /// Mean cross-entropy over the epoch's batches (weighted by batch size), in nats.
    pub train_loss: f64,
    /// Fraction of training examples classified correctly during the epoch (by the model as
    /// it was when it saw each batch).
    pub train_accuracy: f64,
    /// Accuracy on the evaluation set after the epoch, when one was given.
    pub test_accuracy: Option<f64>,
    /// Wall time of the epoch, evaluation included, in seconds.
    pub seconds: f64,
}

/// Every epoch's metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FineTuneHistory {
    /// One entry per epoch.
    pub epochs: Vec<FineTuneMetrics>,
}

impl FineTuneHistory {
    /// The last epoch's metrics.
    pub fn last(&self) -> Option<&FineTuneMetrics> {
        self.epochs.last()
    }
}

impl FineTuneConfig {
    /// Checks the hyperparameters.
    ///
    /// # Errors
    /// [`DbnError::InvalidHyperparameter`] for a zero batch size, a learning rate (initial or
    /// final) that is not positive and finite, or a momentum or dropout probability outside
    /// `[0, 1)`.
    pub fn validate(&self) -> crate::Result<()> {
        if self.batch_size == 0 {
            return Err(invalid("batch_size", 0, "must be at least 1"));
        }
        let rates = std::iter::once(("learning_rate", self.learning_rate))
            .chain(self.final_learning_rate.map(|r| ("final_learning_rate", r)));
        for (name, rate) in rates {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(invalid(name, rate, "must be positive and finite"));
            }
        }
        for (name, p) in [
            ("dropout", self.dropout),
            ("input_dropout", self.input_dropout),
        ] {
            if !(0.0..1.0).contains(&p) {
                return Err(invalid(name, p, "must be in [0, 1)"));
            }
        }
        if let OptimizerChoice::Sgd { momentum } = self.optimizer {
            if !(0.0..1.0).contains(&momentum) {
                return Err(invalid("momentum", momentum, "must be in [0, 1)"));
            }
        }
        Ok(())
    }

    /// The learning rate of epoch `epoch` (0-based; see [`Self::final_learning_rate`]).
    pub fn learning_rate_at(&self, epoch: usize) -> f64 {
        linear_decay(
            self.learning_rate,
            self.final_learning_rate,
            self.epochs,
            epoch,
        )
    }

    /// Fine-tunes `model` on `train` with the configured optimizer, evaluating on `test` after
    /// every epoch when given.
    ///
    /// # Errors
    /// Invalid hyperparameters, an empty data set, examples of the wrong width, non-finite
    /// features or labels beyond the model's classes (all checked before the first update),
    /// and [`DbnError::Diverged`].
    pub fn fit<AB, D, O>(
        &self,
        model: Mlp<AB>,
        train: D,
        test: Option<&dyn Dataset<ClassItem>>,
        observer: &mut O,
    ) -> crate::Result<(Mlp<AB>, FineTuneHistory)>
    where
        AB: AutodiffBackend,
        D: Dataset<ClassItem> + 'static,
        O: TrainingObserver<FineTuneMetrics> + ?Sized,
    {
        self.validate()?;
        match self.optimizer {
            OptimizerChoice::Adam => {
                let optimizer = AdamConfig::new().init();
                self.fit_with_optimizer(model, optimizer, train, test, observer)
            }
            OptimizerChoice::Sgd { momentum } => {
                // Burn's momentum defaults to a dampening of 0.1; classical momentum has none.
                let momentum = (momentum > 0.0).then(|| {
                    MomentumConfig::new()
                        .with_momentum(momentum)
                        .with_dampening(0.0)
                });
                let optimizer = SgdConfig::new().with_momentum(momentum).init();
                self.fit_with_optimizer(model, optimizer, train, test, observer)
            }
        }
    }

    /// [`Self::fit`] with any Burn optimizer (its state carries over between calls if you keep
    /// it); `optimizer` setting of the config is ignored.
    ///
    /// # Errors
    /// As [`Self::fit`].
    pub fn fit_with_optimizer<AB, D, Opt, O>(
        &self,
        mut model: Mlp<AB>,
        mut optimizer: Opt,
        train: D,
        test: Option<&dyn Dataset<ClassItem>>,
        observer: &mut O,
    ) -> crate::Result<(Mlp<AB>, FineTuneHistory)>
    where
        AB: AutodiffBackend,
        D: Dataset<ClassItem> + 'static,
        Opt: Optimizer<Mlp<AB>, AB>,
        O: TrainingObserver<FineTuneMetrics> + ?Sized,
    {
        self.validate()?;
        let (width, n_classes) = (model.n_input(), model.n_classes());
        check_dataset(&train, width, n_classes)?;
        if let Some(test) = test {
            check_dataset(test, width, n_classes)?;
        }
        let device = model.output.weight.device();
        let n_rows = train.len();
        let n_batches = n_rows.div_ceil(self.batch_size);
        let loader = DataLoaderBuilder::<AB, ClassItem, ClassBatch<AB>>::new(ClassBatcher)
            .batch_size(self.batch_size)
            .shuffle(self.seed)
            .set_device(device.clone())
            .build(train);
        let loss_fn = CrossEntropyLossConfig::new().init(&device);
        let mut dropout = Dropouts {
            input: self.input_dropout,
            hidden: self.dropout,
            rng: StdRng::seed_from_u64(self.seed),
        };
        let mut history = FineTuneHistory::default();
        for epoch in 0..self.epochs {
            let started = Instant::now();
            let learning_rate = self.learning_rate_at(epoch);
            let mut loss_sums = Vec::with_capacity(n_batches);
            let mut correct = Vec::with_capacity(n_batches);
            for (batch, ClassBatch { inputs, targets }) in loader.iter().enumerate() {
                let rows = targets.dims()[0];
                let logits = dropout.logits(&model, inputs);
                let loss = loss_fn.forward(logits.clone(), targets.clone());
                loss_sums.push(loss.clone().inner() * rows as f64);
                correct.push(count_correct(logits.inner(), targets.inner()));
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                model = optimizer.step(learning_rate, model, grads);
                observer.on_batch_end(Progress {
                    layer: None,
                    epoch,
                    batch,
                    batches: n_batches,
                });
            }
            // One read-back per epoch for the loss and one for the accuracy.
            let train_loss = sum_scalar(Tensor::cat(loss_sums, 0)) / n_rows as f64;
            if !train_loss.is_finite() {
                return Err(DbnError::Diverged { epoch });
            }
            let train_accuracy = sum_scalar(Tensor::cat(correct, 0).float()) / n_rows as f64;
            let test_accuracy = test
                .map(|test| accuracy(&model.valid(), test, self.batch_size))
                .transpose()?;
            let metrics = FineTuneMetrics {
                epoch,
                learning_rate,
                train_loss,
                train_accuracy,
                test_accuracy,
                seconds: started.elapsed().as_secs_f64(),
            };
            let progress = Progress {
                layer: None,
                epoch,
                batch: n_batches.saturating_sub(1),
                batches: n_batches,
            };
            observer.on_epoch_end(progress, &metrics);
            history.epochs.push(metrics);
        }
        Ok((model, history))
    }
}

/// Dropout during fine-tuning, applied around the model's own layers so that the model (and
/// its record) stays a plain MLP. The masks are drawn from a host generator that the fitting
/// loop owns: Burn's `Dropout` draws from the backend's process-wide generator, which any
/// other thread may advance, so a seeded run would not be reproducible.
struct Dropouts {
    /// Probability of dropping each input unit.
    input: f64,
    /// Probability of dropping each hidden unit.
    hidden: f64,
    rng: StdRng,
}

impl Dropouts {
    /// The training-time logits: [`Mlp::forward`] with dropout on the input and on every
    /// hidden layer's output.
    ///
    /// # Shapes
    /// - `input`: `[batch, n_input]`
    /// - output: `[batch, n_classes]`
    fn logits<B: Backend>(&mut self, model: &Mlp<B>, input: Tensor<B, 2>) -> Tensor<B, 2> {
        let input = self.drop(input, self.input);
        let features = model.hidden_fold(input, model.hidden.len(), |x| self.drop(x, self.hidden));
        model.output.forward(features)
    }

    /// `x` with each element zeroed with probability `p` and the rest scaled by `1 / (1 − p)`.
    ///
    /// # Shapes
    /// - `x`, output: `[batch, width]`
    fn drop<B: Backend>(&mut self, x: Tensor<B, 2>, p: f64) -> Tensor<B, 2> {
        if p == 0.0 {
            return x;
        }
        let keep = uniform::<B, _, 2>(&mut self.rng, x.dims(), &x.device())
            .greater_equal_elem(p)
            .float();
        x * keep.mul_scalar(1.0 / (1.0 - p))
    }
}

/// Number of rows whose largest logit is the target's, as a one-element tensor.
fn count_correct<B: Backend>(
    logits: Tensor<B, 2>,
    targets: Tensor<B, 1, Int>,
) -> Tensor<B, 1, Int> {
    logits
        .argmax(1)
        .squeeze_dim::<1>(1)
        .equal(targets)
        .int()
        .sum()
}

fn sum_scalar<B: Backend>(values: Tensor<B, 1>) -> f64 {
    values.sum().into_scalar().elem::<f64>()
}

/// Fraction of `dataset` that `model` classifies correctly, evaluated `batch_size` examples
/// at a time on the model's device.
///
/// # Errors
/// [`DbnError::InvalidHyperparameter`] for a zero batch size, and the checks of
/// [`check_dataset`].
pub fn accuracy<B: Backend, D: Dataset<ClassItem> + ?Sized>(
    model: &Mlp<B>,
    dataset: &D,
    batch_size: usize,
) -> crate::Result<f64> {
    if batch_size == 0 {
        return Err(invalid("batch_size", 0, "must be at least 1"));
    }
    check_dataset(dataset, model.n_input(), model.n_classes())?;
    let device = model.output.weight.device();
    let n_rows = dataset.len();
    let mut correct = Vec::with_capacity(n_rows.div_ceil(batch_size));
    for start in (0..n_rows).step_by(batch_size) {
        let items = (start..(start + batch_size).min(n_rows))
            .map(|row| dataset.get(row).ok_or(DbnError::EmptyData))
            .collect::<crate::Result<Vec<_>>>()?;
        let batch: ClassBatch<B> = ClassBatcher.batch(items, &device);
        correct.push(count_correct(model.forward(batch.inputs), batch.targets));
    }
    Ok(sum_scalar(Tensor::cat(correct, 0).float()) / n_rows as f64)
}
