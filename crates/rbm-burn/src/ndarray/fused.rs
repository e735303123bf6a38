//! One contrastive-divergence update of a binary RBM, fused on the host.
//!
//! For `NdArray<f32>` with Bernoulli visible and hidden units (the classic RBM, and every layer
//! of a DBN on MNIST) the learner runs its whole update here, on plain `f32` buffers that it
//! keeps between updates, instead of as a sequence of tensor operations. The maths is that of
//! the generic path in [`crate::cd`], and the random numbers are drawn from the same stream in
//! the same order, so both paths give the same samples up to the rounding of their sums.
//!
//! What the fusion saves, per update, against one tensor operation at a time:
//! - **One statistics product.** The visible states of both phases are one matrix
//!   `X = [v₀; v_k]` (`[n + m, V]`) and the hidden means one matrix `P = [p₀; −(n/m) p_k]`
//!   (`[n + m, H]`), so the weight statistic `(ε/n) v₀ᵀp₀ − (ε/m) v_kᵀp_k` is the single GEMM
//!   `(ε/n) XᵀP`, added by the GEMM itself into the momentum buffer (`μ·velocity + …`).
//!   Each product of the Gibbs chain writes straight into its rows of `X` or `P`.
//! - **Layouts the GEMM likes.** `X` and `P` are column-major (the products with fewer rows
//!   than columns run 1.3–1.7× faster that way) and the biases are added by the products
//!   (each output starts as copies of its bias).
//! - **Few passes per layer.** The logistic function runs in place, compiled for the widest
//!   vector instructions of the CPU (AVX-512 or AVX2 when present, chosen at run time); the
//!   Bernoulli sample is one more pass, in blocks of 16 columns so that the noise (row-major)
//!   and the buffers (column-major) are both read a cache line at a time. The momentum step of
//!   the weights is one pass that also sums the parameters for the divergence check.
//! - **Every pass on the team.** The products, the transposed copy of the batch, the logistic
//!   function, the sample, the column sums and the momentum step each run in blocks of columns
//!   (or rows) on the [`team`](super::team), whose helper threads spin between these short
//!   jobs instead of falling asleep. The noise is one stream, so one member draws it while the
//!   others compute the logistic function; the sample then reads it in parallel.
//! - **Each member keeps its rows of `W`.** Where each member's share of `W` and its velocity
//!   fits in its L2 cache (as `gemm` measured it), the visible units are split in one block
//!   per member, and every pass that reads or writes `W` or its velocity gives member `p` the
//!   same block: `h Wᵀ` by columns (visible units), the statistics product and the momentum
//!   step by rows of `W`, and the hidden inputs `X W` over their inner dimension (the visible
//!   units), member `p > 0` writing its share into a partial product that the logistic pass
//!   adds in. Each member's rows of `W` and of the velocity (0.8 MB each at 784 × 500 on two
//!   members) then stay in its own cache from one pass to the next instead of moving between
//!   the cores' caches: on the 2-core machine of the README this took the momentum step from
//!   70 to 23 ms an epoch and the two hidden-input products from about 370 to 320 ms (batch
//!   100, 500 hidden units). Larger batches, which read each row of `W` for more rows, split
//!   `X W` by its output as before, since their partials would cost more than sharing `W`
//!   does; layers whose share does not fit (2000 hidden units) keep the earlier splits.
//! - **No large allocation** once the buffers have their size (they live in the learner), and no
//!   copy of the parameters or of the batch: the weights, biases and velocities are updated in
//!   their own (unshared) buffers. (PCD's chains, `[m, H]`, are copied out of and back into
//!   their tensor on each update.)

use burn::module::Param;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor, TensorData};
use burn_ndarray::NdArray;
use rand::rngs::Xoshiro256PlusPlus;
use rand::Rng;

use super::host::{from_host_array, read_row_major, row_major_array, row_major_slice};
use super::host::{host_array, memory_order_slice};
use super::host::{logistic_in_place, momentum_pass, momentum_pass_in_blocks, widest_vectors};
use super::product::{blocks, gemm, parts_for, Layout, Split, Start};
use super::team::team;
use crate::cd::update::{Declined, TrainingState, UpdatePath, UpdateSettings, UpdateStep};
use crate::params::value_param;
use crate::rbm::Rbm;
use crate::sampling::fill_uniform;
use crate::units::{Bernoulli, HiddenLayer, VisibleLayer};

/// The parameters and the learner state of a binary RBM in host memory. The weights and their
/// velocity are row-major `[V, H]`.
struct HostState<'a> {
    pub(crate) weights: &'a mut [f32],
    pub(crate) visible_bias: &'a mut [f32],
    pub(crate) hidden_bias: &'a mut [f32],
    pub(crate) weights_velocity: &'a mut [f32],
    pub(crate) visible_bias_velocity: &'a mut [f32],
    pub(crate) hidden_bias_velocity: &'a mut [f32],
    /// Hidden states of the persistent chains, row-major `[m, H]`: read and replaced by PCD
    /// (started from the batch's hidden sample when empty), ignored by CD.
    pub(crate) chains: &'a mut Vec<f32>,
    /// The running mean hidden activity for the sparsity penalty (`[H]`, empty before the
    /// first update).
    pub(crate) hidden_activity: &'a mut Vec<f32>,
}

/// The `[rows, units]` buffers of an update, kept between updates so that they are allocated
/// (and their pages faulted in) once.
#[derive(Default)]
struct Workspace {
    /// `X`: the visible states of both phases, column-major `[n + m, V]`.
    visible: Vec<f32>,
    /// `P`: the hidden means of both phases, column-major `[n + m, H]`.
    hidden: Vec<f32>,
    /// A hidden sample of the chains, column-major `[m, H]`.
    hidden_sample: Vec<f32>,
    /// Uniform noise in the logical (row-major) order of the layer it samples.
    noise: Vec<f32>,
    /// Column sums of the data (`[V]` then `[H]`) and of the model phase.
    sums: Vec<f32>,
    /// The partial products of the hidden inputs, one `P`-shaped buffer per block of visible
    /// units after the first (see [`cd_update`]).
    partials: Vec<f32>,
}

widest_vectors! {
    /// The sum of `values`, in 16 interleaved partial sums (vectorised).
    fn lane_sum(values: &[f32], sum: &mut f32) {
        let mut lanes = [0.0_f32; 16];
        let mut chunks = values.chunks_exact(16);
        for chunk in &mut chunks {
            for t in 0..16 {
                lanes[t] += chunk[t];
            }
        }
        *sum = chunks.remainder().iter().sum::<f32>() + lanes.iter().sum::<f32>();
    }
}

widest_vectors! {
    /// `dst ← dst + src`, element by element.
    fn add_into(dst: &mut [f32], src: &[f32]) {
        for (d, s) in dst.iter_mut().zip(src) {
            *d += s;
        }
    }
}

fn column_sum(values: &[f32]) -> f32 {
    let mut sum = 0.0;
    lane_sum(values, &mut sum);
    sum
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspace").finish_non_exhaustive()
    }
}

impl Workspace {
    /// Sizes every buffer for a batch of `n` rows and `m` chains, with `partials` partial
    /// products of the hidden inputs.
    fn prepare(&mut self, n: usize, m: usize, [visible, hidden, partials]: [usize; 3]) {
        let rows = n + m;
        self.partials.resize(partials * rows * hidden, 0.0);
        self.visible.resize(rows * visible, 0.0);
        self.hidden.resize(rows * hidden, 0.0);
        self.hidden_sample.resize(m * hidden, 0.0);
        self.sums.resize(2 * (visible + hidden), 0.0);
    }
}

/// How many of `columns` columns each of the team's parts takes: a multiple of 16 (so that a
/// part reads the row-major noise a cache line at a time), one block per member.
fn columns_per_part(columns: usize) -> usize {
    blocks(columns, team().size())
}

/// The L2 cache of one core, in bytes, as `gemm` measured it for its own blocking.
fn l2_bytes() -> usize {
    gemm_common::cache::CACHE_INFO[1].cache_bytes
}

/// Where [`means_and_sample`] puts its Bernoulli sample.
enum Sample<'a> {
    /// No sample: only the means.
    None,
    /// Over the means, in the same rows.
    InPlace,
    /// Into another column-major buffer with columns of the sampled rows' count.
    Into(&'a mut [f32]),
}

/// A piece of the first pass of [`means_and_sample`].
enum MeansPiece<'a, R: ?Sized> {
    /// Draw `len` uniform numbers into the buffer.
    Noise(&'a mut Vec<f32>, &'a mut R, usize),
    /// The logistic function of rows `first..first + count` of these whole columns, which
    /// start at this offset in the buffer.
    Logistic(usize, &'a mut [f32]),
}

/// The logistic function of rows `first..first + count` of every column of `buffer`
/// (column-major, columns of `height`), in place, and their Bernoulli sample where `sample`
/// says, with noise drawn from `rng` in row-major order (that of the tensor path). The same
/// rows of each buffer of `partials` (buffers of `buffer`'s shape, one after the other) are
/// first added to the inputs, in order.
///
/// On the team: the noise is drawn (by one thread: it is one stream) while the others compute
/// the logistic function, then each thread samples a block of columns (with `Sample::None`,
/// only the logistic function, on every thread).
fn means_and_sample<R: Rng + Send + ?Sized>(
    buffer: &mut [f32],
    partials: &[f32],
    [first, count, height]: [usize; 3],
    sample: Sample<'_>,
    noise: &mut Vec<f32>,
    rng: &mut R,
) {
    let len = buffer.len();
    let columns = len / height;
    let team = team();
    let sampling = !matches!(sample, Sample::None);
    let logistic_parts = team.size() - usize::from(sampling && team.size() > 1);
    let per_part = columns.div_ceil(logistic_parts.max(1)).max(1);
    let mut pieces: Vec<MeansPiece<'_, R>> = Vec::with_capacity(logistic_parts + 1);
    if sampling {
        pieces.push(MeansPiece::Noise(noise, rng, count * columns));
    }
    pieces.extend(
        buffer
            .chunks_mut(per_part * height)
            .enumerate()
            .map(|(index, block)| MeansPiece::Logistic(index * per_part * height, block)),
    );
    team.for_each(pieces, |_, piece| match piece {
        MeansPiece::Noise(noise, rng, len) => draw(noise, len, rng),
        MeansPiece::Logistic(offset, block) => {
            for (j, column) in block.chunks_exact_mut(height).enumerate() {
                let inputs = &mut column[first..first + count];
                let at = offset + j * height + first;
                for partial in partials.chunks_exact(len) {
                    add_into(inputs, &partial[at..at + count]);
                }
                logistic_in_place(inputs);
            }
        }
    });
    // Element `[i, j]` (row `first + i` of column `j`) against `noise[i·columns + j]`, in
    // blocks of 16 columns so that both the noise (by rows) and the buffers (by columns) are
    // read a cache line at a time.
    const BLOCK: usize = 16;
    let bit = |p: f32, u: f32| if p > u { 1.0 } else { 0.0 };
    let noise = &noise[..];
    let per_part = columns_per_part(columns);
    match sample {
        Sample::None => {}
        Sample::InPlace => {
            let pieces: Vec<_> = buffer.chunks_mut(per_part * height).collect();
            team.for_each(pieces, |part, piece| {
                for (index, block) in piece.chunks_mut(BLOCK * height).enumerate() {
                    let width = block.len() / height;
                    let offset = part * per_part + index * BLOCK;
                    for i in 0..count {
                        let noise = &noise[i * columns + offset..][..width];
                        for (j, &u) in noise.iter().enumerate() {
                            let p = &mut block[j * height + first + i];
                            *p = bit(*p, u);
                        }
                    }
                }
            });
        }
        Sample::Into(out) => {
            let pieces: Vec<_> = buffer
                .chunks(per_part * height)
                .zip(out.chunks_mut(per_part * count))
                .collect();
            team.for_each(pieces, |part, (piece, out)| {
                let blocks = piece
                    .chunks(BLOCK * height)
                    .zip(out.chunks_mut(BLOCK * count));
                for (index, (block, out)) in blocks.enumerate() {
                    let width = block.len() / height;
                    let offset = part * per_part + index * BLOCK;
                    for i in 0..count {
                        let noise = &noise[i * columns + offset..][..width];
                        for (j, &u) in noise.iter().enumerate() {
                            out[j * count + i] = bit(block[j * height + first + i], u);
                        }
                    }
                }
            });
        }
    }
}

/// A Bernoulli sample of the logistic function of `x` (the means of binary units from their
/// inputs) in one pass on the team, the noise drawn by one member while the others compute
/// the logistic function ([`means_and_sample`]): the samples of `bernoulli(sigmoid(x))`, from
/// the same noise. `Err(x)` unless `B` is `NdArray<f32>` and `x` is a column-major `f32`
/// matrix (the layout of this module's products; others take the two-pass path).
///
/// # Shapes
/// - `x`: `[rows, columns]`, output: the same, values in `{0, 1}`
pub(crate) fn logistic_sample<B: Backend, R: Rng + Send + ?Sized>(
    x: Tensor<B, 2>,
    rng: &mut R,
) -> Result<Tensor<B, 2>, Tensor<B, 2>> {
    let [rows, columns] = x.dims();
    let mut array = host_array(x)?;
    if rows < 2 || columns < 2 || array.strides() != [1, rows as isize] {
        return Err(from_host_array(array));
    }
    let mut noise = Vec::new();
    means_and_sample(
        memory_order_slice(&mut array),
        &[],
        [0, rows, rows],
        Sample::InPlace,
        &mut noise,
        rng,
    );
    Ok(from_host_array(array))
}

/// `noise` as `len` uniform draws from `rng`.
fn draw<R: Rng + ?Sized>(noise: &mut Vec<f32>, len: usize, rng: &mut R) {
    noise.resize(len, 0.0);
    fill_uniform(rng, noise);
}

/// One CD-k or PCD-k update of a binary RBM in place. Returns the sum of the new parameters
/// (non-finite when one of them is).
///
/// # Shapes
/// - `batch`: row-major `[n, V]`; the parameters and state as [`HostState`] says
fn cd_update<R: Rng + Send + ?Sized>(
    state: HostState<'_>,
    batch: &[f32],
    settings: &UpdateSettings,
    workspace: &mut Workspace,
    rng: &mut R,
) -> f32 {
    let (visible, hidden) = (state.visible_bias.len(), state.hidden_bias.len());
    let n = batch.len() / visible;
    let chains_ready = settings.persistent && !state.chains.is_empty();
    let m = if chains_ready {
        state.chains.len() / hidden
    } else {
        n
    };
    let rows = n + m;
    // Where each member's share of `W` and its velocity fits its L2 cache, the visible units
    // in blocks, one per member: every pass that touches `W` or its velocity (the four
    // products and the momentum step) gives each member the same rows of `W`, so that they
    // stay in its cache from one pass to the next (see the module documentation).
    let parts = parts_for(n * visible * hidden);
    let share = 2 * visible * hidden * std::mem::size_of::<f32>() / parts;
    let by_visible = (parts > 1 && share <= l2_bytes()).then(|| visible.div_ceil(parts));
    let visible_blocks = by_visible.map_or(1, |block| visible.div_ceil(block));
    // Whether the hidden inputs of `count` rows are split over their inner dimension: with
    // the visible blocks, and only while the partials are small next to `W` (at most half as
    // many rows as `W` in all); larger batches read each row of `W` for enough rows that
    // sharing it costs less than the partials would.
    let inner = |count: usize| by_visible.is_some() && (visible_blocks - 1) * count <= visible / 2;
    let partial_count = if inner(n) || inner(m) {
        visible_blocks - 1
    } else {
        0
    };
    workspace.prepare(n, m, [visible, hidden, partial_count]);
    let Workspace {
        visible: x,
        hidden: p,
        hidden_sample,
        noise,
        sums,
        partials,
    } = workspace;
    let weights = Layout::row_major(visible, hidden);
    let weights_transposed = weights.transposed();
    let hidden_sample_layout = Layout::column_major(m, hidden, m);

    let team = team();

    // v₀ into the top rows of X, column-major: a transpose in blocks of 16 rows, each part of
    // the team writing its own columns.
    let per_part = by_visible.unwrap_or_else(|| columns_per_part(visible));
    let pieces: Vec<_> = x.chunks_mut(per_part * rows).collect();
    team.for_each(pieces, |part, piece| {
        let columns = part * per_part..;
        for (block_index, block) in batch.chunks(16 * visible).enumerate() {
            let first = block_index * 16;
            for (column, j) in piece.chunks_exact_mut(rows).zip(columns.clone()) {
                for (r, row) in block.chunks_exact(visible).enumerate() {
                    column[first + r] = row[j];
                }
            }
        }
    });

    let HostState {
        weights: w,
        visible_bias: a,
        hidden_bias: b,
        weights_velocity,
        visible_bias_velocity,
        hidden_bias_velocity,
        chains,
        hidden_activity,
    } = state;

    // The visible sample of the chains in `hidden_sample` into rows `n..` of X.
    let sample_visible = |x: &mut [f32],
                          hidden_sample: &[f32],
                          noise: &mut Vec<f32>,
                          rng: &mut R,
                          w: &[f32],
                          a: &[f32]| {
        gemm(
            (&mut x[n..], Layout::column_major(m, visible, rows)),
            Start::Row(a),
            1.0,
            (hidden_sample, hidden_sample_layout),
            (w, weights_transposed),
            by_visible.map_or(Split::Auto, Split::Columns),
        );
        means_and_sample(x, &[], [n, m, rows], Sample::InPlace, noise, rng);
    };
    // Hidden inputs of rows `first..first + count` of X into the same rows of P, and of the
    // partials when the product is split over its inner dimension. Returns whether the
    // logistic pass must add the partials.
    let hidden_inputs = |p: &mut [f32],
                         partials: &mut [f32],
                         x: &[f32],
                         [first, count]: [usize; 2],
                         w: &[f32],
                         b: &[f32]| {
        let split = match by_visible {
            Some(block) if inner(count) => {
                let partials = partials
                    .chunks_exact_mut(rows * hidden)
                    .map(|partial| &mut partial[first..])
                    .collect();
                Split::Inner(block, partials)
            }
            _ => Split::Auto,
        };
        gemm(
            (&mut p[first..], Layout::column_major(count, hidden, rows)),
            Start::Row(b),
            1.0,
            (&x[first..], Layout::column_major(count, visible, rows)),
            (w, weights),
            split,
        );
        inner(count)
    };
    fn added(partials: &[f32], inner: bool) -> &[f32] {
        if inner {
            partials
        } else {
            &[]
        }
    }

    // The positive phase, and the first negative state.
    if chains_ready {
        // The chains' hidden states, column-major.
        for (j, column) in hidden_sample.chunks_exact_mut(m).enumerate() {
            for (i, h) in column.iter_mut().enumerate() {
                *h = chains[i * hidden + j];
            }
        }
        sample_visible(x, hidden_sample, noise, rng, w, a);
        if inner(n) {
            // The hidden inputs of data and of chains as two products of CD's shapes. One
            // product of both (2n rows, split over the inner dimension) ran 2× slower: `gemm`
            // allocates its packing buffers on every call, and for that shape glibc handed
            // them out as fresh pages, faulted in on every update (1.4 M page faults in four
            // epochs at batch 100).
            let inner = hidden_inputs(p, partials, x, [0, n], w, b);
            let data = added(partials, inner);
            means_and_sample(p, data, [0, n, rows], Sample::None, noise, rng);
            let inner = hidden_inputs(p, partials, x, [n, m], w, b);
            let sample = Sample::Into(hidden_sample);
            means_and_sample(p, added(partials, inner), [n, m, rows], sample, noise, rng);
        } else {
            // The hidden inputs of data and chains in one product.
            let inner = hidden_inputs(p, partials, x, [0, rows], w, b);
            let both = added(partials, inner);
            means_and_sample(p, both, [0, n, rows], Sample::None, noise, rng);
            let sample = Sample::Into(hidden_sample);
            means_and_sample(p, both, [n, m, rows], sample, noise, rng);
        }
    } else {
        let inner = hidden_inputs(p, partials, x, [0, n], w, b);
        let sample = Sample::Into(hidden_sample);
        means_and_sample(p, added(partials, inner), [0, n, rows], sample, noise, rng);
    }
    let first_step = usize::from(chains_ready);
    for step in first_step..settings.k {
        sample_visible(x, hidden_sample, noise, rng, w, a);
        let inner = hidden_inputs(p, partials, x, [n, m], w, b);
        let sample = step + 1 < settings.k || settings.persistent;
        let sample = if sample {
            Sample::Into(hidden_sample)
        } else {
            Sample::None
        };
        means_and_sample(p, added(partials, inner), [n, m, rows], sample, noise, rng);
    }
    if settings.persistent {
        chains.resize(m * hidden, 0.0);
        for (j, column) in hidden_sample.chunks_exact(m).enumerate() {
            for (i, &h) in column.iter().enumerate() {
                chains[i * hidden + j] = h;
            }
        }
    }

    // Column sums of both phases, and P's model rows scaled to −(n/m) p_k, each part of the
    // team taking blocks of columns of X or P.
    let model_scale = -(n as f32) / m as f32;
    let (data_sums, model_sums) = sums.split_at_mut(visible + hidden);
    {
        let (per_visible, per_hidden) = (columns_per_part(visible), columns_per_part(hidden));
        let (data_visible, data_hidden) = data_sums.split_at_mut(visible);
        let (model_visible, model_hidden) = model_sums.split_at_mut(visible);
        let visible_pieces = x
            .chunks(per_visible * rows)
            .zip(data_visible.chunks_mut(per_visible))
            .zip(model_visible.chunks_mut(per_visible))
            .map(|((columns, data), model)| (ColumnsOf::X(columns), data, model));
        let hidden_pieces = p
            .chunks_mut(per_hidden * rows)
            .zip(data_hidden.chunks_mut(per_hidden))
            .zip(model_hidden.chunks_mut(per_hidden))
            .map(|((columns, data), model)| (ColumnsOf::P(columns), data, model));
        let pieces: Vec<_> = visible_pieces.chain(hidden_pieces).collect();
        team.for_each(pieces, |_, (columns, data, model)| match columns {
            ColumnsOf::X(columns) => {
                for ((column, data), model) in columns.chunks_exact(rows).zip(data).zip(model) {
                    *data = column_sum(&column[..n]);
                    *model = column_sum(&column[n..]);
                }
            }
            ColumnsOf::P(columns) => {
                for ((column, data), model) in columns.chunks_exact_mut(rows).zip(data).zip(model) {
                    *data = column_sum(&column[..n]);
                    *model = column_sum(&column[n..]);
                    column[n..].iter_mut().for_each(|q| *q *= model_scale);
                }
            }
        });
    }

    // velocity ← μ velocity + (ε/n) Xᵀ P, one product.
    let (epsilon, momentum) = (settings.learning_rate, settings.momentum as f32);
    let data_coefficient = epsilon / n as f64;
    let model_coefficient = -epsilon / m as f64;
    gemm(
        (weights_velocity, weights),
        Start::Keep(momentum),
        data_coefficient as f32,
        (x, Layout::column_major(rows, visible, rows).transposed()),
        (p, Layout::column_major(rows, hidden, rows)),
        by_visible.map_or(Split::Auto, Split::Rows),
    );

    // Bias steps, and the sparsity penalty.
    let bias_step = |j: usize| {
        (data_sums[j] * data_coefficient as f32) + (model_sums[j] * model_coefficient as f32)
    };
    for (j, v) in visible_bias_velocity.iter_mut().enumerate() {
        *v = *v * momentum + bias_step(j);
    }
    let mut hidden_steps: Vec<f32> = (0..hidden).map(|j| bias_step(visible + j)).collect();
    if let Some((target, decay, cost)) = settings.sparsity {
        let current = data_sums[visible..].iter().map(|s| s / n as f32);
        if hidden_activity.is_empty() {
            hidden_activity.extend(current);
        } else {
            for (q, c) in hidden_activity.iter_mut().zip(current) {
                *q = *q * decay as f32 + c * (1.0 - decay) as f32;
            }
        }
        let excess: Vec<f32> = hidden_activity
            .iter()
            .map(|q| (q - target as f32) * (cost * epsilon) as f32)
            .collect();
        let rows_per_part = by_visible.unwrap_or_else(|| visible.div_ceil(team.size()));
        let pieces: Vec<_> = weights_velocity
            .chunks_mut(rows_per_part * hidden)
            .zip(data_sums[..visible].chunks(rows_per_part))
            .collect();
        team.for_each(pieces, |_, (velocity, data)| {
            for (row, &s) in velocity.chunks_exact_mut(hidden).zip(data) {
                let mean = s / n as f32;
                for (v, e) in row.iter_mut().zip(&excess) {
                    *v -= mean * e;
                }
            }
        });
        hidden_steps
            .iter_mut()
            .zip(&excess)
            .for_each(|(s, e)| *s -= e);
    }
    for (v, s) in hidden_bias_velocity.iter_mut().zip(hidden_steps) {
        *v = *v * momentum + s;
    }

    // The parameters take their step; the sum of all of them is the divergence check.
    let decay = settings.decay as f32;
    let mut sum = match by_visible {
        Some(block) => momentum_pass_in_blocks(w, weights_velocity, decay, block * hidden),
        None => momentum_pass(w, weights_velocity, decay),
    };
    for (a, v) in a.iter_mut().zip(visible_bias_velocity.iter()) {
        *a += v;
        sum += *a;
    }
    for (b, v) in b.iter_mut().zip(hidden_bias_velocity.iter()) {
        *b += v;
        sum += *b;
    }
    sum
}

/// A block of whole columns of `X` (read) or of `P` (read and scaled).
enum ColumnsOf<'a> {
    X(&'a [f32]),
    P(&'a mut [f32]),
}

/// The backend of the fused update.
type Host = NdArray<f32>;

/// An unshared row-major array of a tensor of the host backend that [`fuses`] accepted.
fn array<const D: usize>(x: Tensor<Host, D>) -> burn_ndarray::SharedArray<f32> {
    match row_major_array(x) {
        Ok(array) => array,
        Err(_) => unreachable!("fuses checked the element type"),
    }
}

/// The biases of a binary layer; `fuses` checked that both layers are binary.
fn binary_visible(layer: VisibleLayer<Host>) -> Bernoulli<Host> {
    match layer {
        VisibleLayer::Bernoulli(units) => units,
        _ => unreachable!("fuses checked the unit types"),
    }
}

fn binary_hidden(layer: HiddenLayer<Host>) -> Bernoulli<Host> {
    match layer {
        HiddenLayer::Bernoulli(units) => units,
        _ => unreachable!("fuses checked the unit types"),
    }
}

/// Whether the fused update applies: binary visible and hidden units, every tensor `f32`.
fn fuses(
    rbm: &Rbm<Host>,
    batch: &Tensor<Host, 2>,
    state: Option<&TrainingState<Host, Rbm<Host>>>,
) -> bool {
    let binary = |rbm: &Rbm<Host>| {
        matches!(rbm.visible, VisibleLayer::Bernoulli(_))
            && matches!(rbm.hidden, HiddenLayer::Bernoulli(_))
    };
    let f32s = |rbm: &Rbm<Host>| {
        [
            rbm.weights.val().dtype(),
            rbm.visible_bias().dtype(),
            rbm.hidden_bias().dtype(),
        ]
        .iter()
        .all(|&d| d == DType::F32)
    };
    let learner = state.is_none_or(|state| {
        binary(&state.velocity)
            && f32s(&state.velocity)
            && state
                .chains
                .as_ref()
                .is_none_or(|c| c.dtype() == DType::F32)
            && state
                .hidden_activity
                .as_ref()
                .is_none_or(|q| q.dtype() == DType::F32)
    });
    binary(rbm) && f32s(rbm) && batch.dtype() == DType::F32 && learner
}

/// The fused update ([`cd_update`]) as the learner's update step for binary RBMs on
/// `NdArray<f32>`, with the buffers it keeps between updates.
#[derive(Debug, Default)]
struct FusedStep {
    workspace: Workspace,
}

/// The fused update step, for [`crate::cd`] to choose.
pub(crate) fn fused_step() -> Box<dyn UpdateStep<Host, Rbm<Host>>> {
    Box::new(FusedStep::default())
}

impl UpdateStep<Host, Rbm<Host>> for FusedStep {
    fn path(&self) -> UpdatePath {
        UpdatePath::NdArrayFused
    }

    fn update(
        &mut self,
        rbm: Rbm<Host>,
        state: &mut Option<TrainingState<Host, Rbm<Host>>>,
        batch: Tensor<Host, 2>,
        settings: &UpdateSettings,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Result<(Rbm<Host>, Tensor<Host, 1>), Declined<Host, Rbm<Host>>> {
        if !settings.plain || !fuses(&rbm, &batch, state.as_ref()) {
            return Err(Box::new((rbm, batch)));
        }
        let device = rbm.device();
        let n_hidden = rbm.n_hidden();
        let current = state.take().unwrap_or_else(|| TrainingState::new(&rbm));
        let Rbm {
            weights,
            visible,
            hidden,
        } = rbm;
        let (weights_id, weights, weights_mapper) = weights.consume();
        let (visible_id, visible_bias, visible_mapper) = binary_visible(visible).bias.consume();
        let (hidden_id, hidden_bias, hidden_mapper) = binary_hidden(hidden).bias.consume();
        let velocity = current.velocity;
        let mut w = array(weights);
        let mut a = array(visible_bias);
        let mut b = array(hidden_bias);
        // Consumed, not read with `val()`: the arrays must own their buffers, or taking them
        // as host arrays would copy them.
        let mut w_velocity = array(velocity.weights.consume().1);
        let mut a_velocity = array(binary_visible(velocity.visible).bias.consume().1);
        let mut b_velocity = array(binary_hidden(velocity.hidden).bias.consume().1);
        let mut chains = current
            .chains
            .map_or(vec![], |c| row_major_slice(&mut array(c)).to_vec());
        let mut activity = current
            .hidden_activity
            .map_or(vec![], |q| row_major_slice(&mut array(q)).to_vec());
        let workspace = &mut self.workspace;
        let update = |batch: &[f32]| {
            cd_update(
                HostState {
                    weights: row_major_slice(&mut w),
                    visible_bias: row_major_slice(&mut a),
                    hidden_bias: row_major_slice(&mut b),
                    weights_velocity: row_major_slice(&mut w_velocity),
                    visible_bias_velocity: row_major_slice(&mut a_velocity),
                    hidden_bias_velocity: row_major_slice(&mut b_velocity),
                    chains: &mut chains,
                    hidden_activity: &mut activity,
                },
                batch,
                settings,
                workspace,
                rng,
            )
        };
        let sum = match read_row_major(batch, update) {
            Ok(sum) => sum,
            Err(_) => unreachable!("fuses checked the element type"),
        };
        let vector = |values: Vec<f32>, shape: [usize; 2]| {
            Tensor::<Host, 2>::from_data(TensorData::new(values, shape), &device)
        };
        let chains = settings.persistent.then(|| {
            let m = chains.len() / n_hidden;
            vector(chains, [m, n_hidden])
        });
        let hidden_activity =
            (!activity.is_empty()).then(|| vector(activity, [1, n_hidden]).squeeze_dim::<1>(0));
        *state = Some(TrainingState {
            velocity: Rbm {
                weights: value_param(from_host_array(w_velocity)),
                visible: VisibleLayer::Bernoulli(Bernoulli {
                    bias: value_param(from_host_array(a_velocity)),
                }),
                hidden: HiddenLayer::Bernoulli(Bernoulli {
                    bias: value_param(from_host_array(b_velocity)),
                }),
            },
            chains,
            hidden_activity,
            offsets: None,
            swaps: None,
            swap_attempts: 0,
        });
        let updated = Rbm {
            weights: Param::from_mapped_value(weights_id, from_host_array(w), weights_mapper),
            visible: VisibleLayer::Bernoulli(Bernoulli {
                bias: Param::from_mapped_value(visible_id, from_host_array(a), visible_mapper),
            }),
            hidden: HiddenLayer::Bernoulli(Bernoulli {
                bias: Param::from_mapped_value(hidden_id, from_host_array(b), hidden_mapper),
            }),
        };
        let health = Tensor::<Host, 1>::from_data(TensorData::new(vec![sum], [1]), &device);
        Ok((updated, health))
    }
}
