//! The matrix product of the host kernels: the `gemm` crate on one thread per part of the
//! output, the parts run by the [`team`](super::team).
//!
//! `gemm`'s own multithreading runs on rayon's pool, whose threads fall asleep between the
//! products of a CD update and must be woken for each one; on the 2-core machine of the README
//! splitting the output in the team's parts and running `gemm` single-threaded on each made
//! the four products of a CD-1 update at batch 100 (500 hidden units) about 25 % faster in a
//! loop (0.91 s → 0.70 s an epoch) and 30 % faster with element-wise work between them
//! (0.98 s → 0.70 s).
//!
//! By default ([`Split::Auto`]) the output is split along its longer side in blocks of a
//! multiple of 16 rows or columns, one block per member of the team, and products under
//! [`PARALLEL_WORK`] run on the calling thread alone. A caller that wants each member to touch
//! given rows or columns of an operand (the fused CD update, which keeps each member on the
//! same rows of `W` in every pass) names the blocks instead: of the output's rows or columns
//! ([`Split::Rows`], [`Split::Columns`]), or of the inner dimension ([`Split::Inner`]), each
//! block after the first then written into a partial product of its own for the caller to
//! add. Those blocks need not be multiples of 16.

use super::team::team;

/// Below this many multiply–adds (`m·n·k`) a product runs on one thread: splitting it would
/// cost more than it saves. The constant `gemm` itself uses for its threading threshold.
const PARALLEL_WORK: usize = 48 * 48 * 256;

/// Blocks of the split side are multiples of this many rows or columns (a multiple of the
/// vector width of `gemm`'s kernels).
const BLOCK: usize = 16;

/// A matrix in a slice: element `[i, j]` at `i·row_stride + j·column_stride`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout {
    pub(crate) rows: usize,
    pub(crate) columns: usize,
    pub(crate) row_stride: usize,
    pub(crate) column_stride: usize,
}

impl Layout {
    /// A row-major `[rows, columns]` matrix.
    pub(crate) fn row_major(rows: usize, columns: usize) -> Self {
        Self {
            rows,
            columns,
            row_stride: columns,
            column_stride: 1,
        }
    }

    /// `rows` rows of a column-major matrix with `height` rows in all.
    pub(crate) fn column_major(rows: usize, columns: usize, height: usize) -> Self {
        Self {
            rows,
            columns,
            row_stride: 1,
            column_stride: height,
        }
    }

    /// The transpose, as a view of the same elements.
    pub(crate) fn transposed(self) -> Self {
        Self {
            rows: self.columns,
            columns: self.rows,
            row_stride: self.column_stride,
            column_stride: self.row_stride,
        }
    }

    /// Panics unless every element lies inside a slice of `len` elements.
    fn check(&self, len: usize) {
        assert!(self.rows > 0 && self.columns > 0, "empty matrix");
        let last = (self.rows - 1)
            .checked_mul(self.row_stride)
            .zip((self.columns - 1).checked_mul(self.column_stride))
            .and_then(|(a, b)| a.checked_add(b));
        assert!(
            last.is_some_and(|last| last < len),
            "matrix outside its buffer"
        );
    }

    /// Panics unless distinct elements have distinct addresses (a destination written by
    /// several threads must not alias itself): one stride spans the whole extent of the other.
    fn check_distinct(&self) {
        let spans = |outer: usize, inner: usize, count: usize| {
            inner >= 1
                && count
                    .checked_mul(inner)
                    .is_some_and(|extent| outer >= extent)
        };
        assert!(
            spans(self.column_stride, self.row_stride, self.rows)
                || spans(self.row_stride, self.column_stride, self.columns),
            "destination elements overlap"
        );
    }
}

/// What a product does with its destination `dst`: `dst ← alpha·dst + beta·a·b`, where `dst`
/// first holds what it held (`Keep`), zeros (`Overwrite`, with `alpha` unused) or copies of a
/// row (`Row`).
#[derive(Clone, Copy)]
pub(crate) enum Start<'a> {
    /// `dst ← alpha·dst + beta·a·b`.
    Keep(f32),
    /// `dst ← beta·a·b`.
    Overwrite,
    /// `dst ← row + beta·a·b`, the row (one value per column of `dst`) added to every row.
    Row(&'a [f32]),
}

/// The length of the blocks in which `side` rows, columns or elements are split for `wanted`
/// parts: a multiple of 16 (a cache line of `f32`, and a multiple of the vector width of
/// `gemm`'s kernels), at most `side`; `side.div_ceil(block)` parts in all.
pub(crate) fn blocks(side: usize, wanted: usize) -> usize {
    side.div_ceil(wanted.max(1))
        .next_multiple_of(BLOCK)
        .min(side)
        .max(1)
}

/// How [`gemm`] divides a product among the members of the team.
pub(crate) enum Split<'a> {
    /// Blocks of the output's longer side, a multiple of 16 long, one per member that the
    /// product's size warrants ([`parts_for`]).
    Auto,
    /// Blocks of this many rows of the output.
    Rows(usize),
    /// Blocks of this many columns of the output.
    Columns(usize),
    /// Blocks of this many of the inner dimension `k` (columns of `a`, rows of `b`): the first
    /// block's product goes into `dst` (after its `Start`), block `p > 0`'s into
    /// `partials[p − 1]` (overwritten, in `dst`'s layout), for the caller to add up. One
    /// partial per block after the first.
    Inner(usize, Vec<&'a mut [f32]>),
}

/// How many members of the team a product of `work` multiply–adds (`m·n·k`) is worth:
/// `work / PARALLEL_WORK`, at least one and at most the team.
pub(crate) fn parts_for(work: usize) -> usize {
    (work / PARALLEL_WORK).clamp(1, team().size())
}

/// `dst ← (start) + beta·a·b` on the team, divided as `split` says, with the operands (and
/// any partials) checked against their slices.
///
/// # Shapes
/// - `a`: `[m, k]`, `b`: `[k, n]`, `dst` and each partial: `[m, n]`, a `Start::Row`: `[n]`
///
/// # Panics
/// If the shapes do not match, a matrix does not fit its slice, the destination's elements
/// overlap, a block is empty or `Split::Inner` has not one partial per block after the first.
pub(crate) fn gemm(
    (dst, dst_layout): (&mut [f32], Layout),
    start: Start<'_>,
    beta: f32,
    (a, a_layout): (&[f32], Layout),
    (b, b_layout): (&[f32], Layout),
    split: Split<'_>,
) {
    let (m, k, n) = (a_layout.rows, a_layout.columns, b_layout.columns);
    assert!(b_layout.rows == k && dst_layout.rows == m && dst_layout.columns == n);
    if let Start::Row(row) = start {
        assert_eq!(row.len(), n, "one row value per column");
    }
    dst_layout.check(dst.len());
    dst_layout.check_distinct();
    a_layout.check(a.len());
    b_layout.check(b.len());
    let strided = |ptr: *const f32, layout: Layout| Strided {
        ptr,
        row_stride: layout.row_stride as isize,
        column_stride: layout.column_stride as isize,
    };
    // From unique borrows, so the pointers may be written through.
    let dst = strided(dst.as_mut_ptr().cast_const(), dst_layout);
    let mut partials = Vec::new();
    let plan = match split {
        Split::Auto => auto_plan([m, k, n]),
        Split::Rows(block) => Plan::Rows(block),
        Split::Columns(block) => Plan::Columns(block),
        Split::Inner(block, buffers) => {
            assert!(block > 0, "empty blocks");
            assert_eq!(
                buffers.len(),
                k.div_ceil(block) - 1,
                "one partial per block"
            );
            for buffer in buffers {
                dst_layout.check(buffer.len());
                partials.push(strided(buffer.as_mut_ptr().cast_const(), dst_layout));
            }
            Plan::Inner(block, &partials)
        }
    };
    // SAFETY: the layouts fit their slices and distinct elements of `dst` (and of each
    // partial, which has its layout) have distinct addresses (checked above); `dst` and the
    // partials are unique borrows, so they overlap neither each other nor an operand; the
    // shapes agree.
    unsafe {
        let product = Product {
            shape: [m, k, n],
            dst,
            start,
            beta,
            a: strided(a.as_ptr(), a_layout),
            b: strided(b.as_ptr(), b_layout),
        };
        run_plan(product, plan);
    }
}

/// A matrix at a pointer: element `[i, j]` at `ptr + i·row_stride + j·column_stride`. A
/// destination's pointer is taken from a unique (`&mut`) borrow of its buffer, so writing
/// through it is allowed although the field is `*const`.
#[derive(Clone, Copy)]
pub(crate) struct Strided {
    pub(crate) ptr: *const f32,
    pub(crate) row_stride: isize,
    pub(crate) column_stride: isize,
}

// SAFETY: a `Strided` is only an address; the functions that read or write through it state
// the conditions (in their `# Safety`), and the parts of one product touch disjoint outputs.
unsafe impl Send for Strided {}
unsafe impl Sync for Strided {}

impl Strided {
    /// The matrix from element `[row, column]` on.
    fn offset(self, row: usize, column: usize) -> Self {
        let shift = row as isize * self.row_stride + column as isize * self.column_stride;
        Self {
            // `wrapping_offset`: the address is only formed here; it is inside the matrix
            // whenever it is used (see `run_plan`).
            ptr: self.ptr.wrapping_offset(shift),
            ..self
        }
    }
}

/// One product `dst ← (start) + beta·a·b` of `[m, k, n]` matrices at pointers.
#[derive(Clone, Copy)]
pub(crate) struct Product<'a> {
    pub(crate) shape: [usize; 3],
    pub(crate) dst: Strided,
    pub(crate) start: Start<'a>,
    pub(crate) beta: f32,
    pub(crate) a: Strided,
    pub(crate) b: Strided,
}

/// A `product` split over the team ([`Split::Auto`]).
///
/// # Safety
/// `a` (`[m, k]`) and `b` (`[k, n]`) are valid for reads, `dst` (`[m, n]`) for reads and
/// writes (its pointer derived from a unique borrow), at their strides; distinct elements of
/// `dst` have distinct addresses, and `dst` overlaps neither operand nor a `Start::Row`.
/// `m, n, k > 0`; a `Start::Row` has `n` values.
pub(crate) unsafe fn gemm_strided(product: Product<'_>) {
    // SAFETY: the caller vouches for the matrices; the plan's blocks are inside them.
    unsafe { run_plan(product, auto_plan(product.shape)) }
}

/// The blocks of a product, one team part each.
#[derive(Clone, Copy)]
enum Plan<'a> {
    /// Blocks of this many rows of the output.
    Rows(usize),
    /// Blocks of this many columns of the output.
    Columns(usize),
    /// Blocks of this many of `k`, block `p > 0` into partial `p − 1`.
    Inner(usize, &'a [Strided]),
}

/// [`Split::Auto`]'s plan: the output's longer side in blocks of a multiple of 16, one per
/// member that the product's size warrants.
fn auto_plan([m, k, n]: [usize; 3]) -> Plan<'static> {
    let wanted = parts_for(m.saturating_mul(n).saturating_mul(k));
    if n >= m {
        Plan::Columns(blocks(n, wanted))
    } else {
        Plan::Rows(blocks(m, wanted))
    }
}

/// Runs the blocks of `plan`, on the team when there are several.
///
/// # Safety
/// As for [`gemm_strided`]; with `Plan::Inner(block, partials)`, there are
/// `k.div_ceil(block) − 1` partials, each valid for writes of `[m, n]` elements at `dst`'s
/// strides, with distinct addresses, overlapping nothing else.
unsafe fn run_plan(product: Product<'_>, plan: Plan<'_>) {
    let Product {
        shape: [m, k, n],
        dst,
        start,
        a,
        b,
        ..
    } = product;
    let (side, block) = match plan {
        Plan::Rows(block) => (m, block),
        Plan::Columns(block) => (n, block),
        Plan::Inner(block, _) => (k, block),
    };
    assert!(block > 0, "empty blocks");
    let parts = side.div_ceil(block);
    let part = |index: usize| {
        let first = index * block;
        let count = block.min(side - first);
        // The part's block `first..first + count` of the output's rows or columns, or of `k`.
        let block = match plan {
            Plan::Columns(_) => Product {
                shape: [m, k, count],
                dst: dst.offset(0, first),
                start: match start {
                    Start::Row(row) => Start::Row(&row[first..first + count]),
                    other => other,
                },
                b: b.offset(0, first),
                ..product
            },
            Plan::Rows(_) => Product {
                shape: [count, k, n],
                dst: dst.offset(first, 0),
                a: a.offset(first, 0),
                ..product
            },
            Plan::Inner(_, partials) => Product {
                shape: [m, count, n],
                dst: if index == 0 { dst } else { partials[index - 1] },
                start: if index == 0 { start } else { Start::Overwrite },
                a: a.offset(0, first),
                b: b.offset(first, 0),
                ..product
            },
        };
        // SAFETY: the block is inside the product, and the blocks of different parts are
        // disjoint (or, for `k`, go to different outputs: `dst` and the partials, which
        // overlap nothing); the caller vouches for the rest.
        unsafe { gemm_serial(block) }
    };
    if parts == 1 {
        part(0);
    } else {
        team().run(parts, &part);
    }
}

/// [`gemm_strided`] on the calling thread.
///
/// # Safety
/// As for [`gemm_strided`].
unsafe fn gemm_serial(product: Product<'_>) {
    let Product {
        shape: [m, k, n],
        dst,
        start,
        beta,
        a,
        b,
    } = product;
    let out = dst.ptr.cast_mut();
    let (read, alpha) = match start {
        Start::Keep(alpha) => (true, alpha),
        Start::Overwrite => (false, 0.0),
        Start::Row(row) => {
            let at =
                |i: usize, j: usize| i as isize * dst.row_stride + j as isize * dst.column_stride;
            // In memory order: down the columns of a column-major output, along the rows of
            // a row-major one.
            if dst.row_stride.unsigned_abs() <= dst.column_stride.unsigned_abs() {
                for (j, &value) in row.iter().enumerate() {
                    for i in 0..m {
                        // SAFETY: `[i, j]` is inside `dst` (`i < m`, `j < n = row.len()`).
                        unsafe { *out.offset(at(i, j)) = value };
                    }
                }
            } else {
                for i in 0..m {
                    for (j, &value) in row.iter().enumerate() {
                        // SAFETY: as above.
                        unsafe { *out.offset(at(i, j)) = value };
                    }
                }
            }
            (true, 1.0)
        }
    };
    // SAFETY: the caller vouches for the matrices; `gemm` takes the column stride first.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out,
            dst.column_stride,
            dst.row_stride,
            read,
            a.ptr,
            a.column_stride,
            a.row_stride,
            b.ptr,
            b.column_stride,
            b.row_stride,
            alpha,
            beta,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::Xoshiro256PlusPlus;
    use rand::{RngExt, SeedableRng};

    /// Every explicit split gives the product within the worst-case rounding of its sums: for
    /// each element, `|got − exact| ≤ γ_{k+2} (|start| + Σ_l |a_il b_lj|)` with
    /// `γ_j = j u / (1 − j u)`, `u = 2⁻²⁴` (one more rounding for the start, one for the
    /// partials' sum), where `got` is `dst` plus, for `Split::Inner`, every partial (added in
    /// `f64`). Blocks that make one, two and three parts, and blocks longer than their side;
    /// every start; column-major and row-major outputs.
    #[test]
    fn every_split_computes_the_product() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let (m, k, n) = (37, 53, 29);
        let mut random =
            |len: usize| -> Vec<f32> { (0..len).map(|_| rng.random_range(-1.0..1.0)).collect() };
        let (a, b, row, old) = (random(m * k), random(k * n), random(n), random(m * n));
        let u = 2f64.powi(-24);
        let gamma = (k + 2) as f64 * u / (1.0 - (k + 2) as f64 * u);
        let layouts = [Layout::column_major(m, n, m), Layout::row_major(m, n)];
        for dst_layout in layouts {
            let at = |i: usize, j: usize| i * dst_layout.row_stride + j * dst_layout.column_stride;
            for parts in [1, 2, 3] {
                // (Blocks longer than their side are one block.)
                let splits = [
                    ("rows", Start::Keep(0.5), m.div_ceil(parts)),
                    ("rows", Start::Overwrite, m + parts),
                    ("columns", Start::Overwrite, n.div_ceil(parts)),
                    ("columns", Start::Row(&row), n.div_ceil(parts)),
                    ("inner", Start::Row(&row), k.div_ceil(parts)),
                    ("inner", Start::Keep(0.5), k + parts),
                ];
                for (name, start, block) in splits {
                    let mut dst = vec![0.0_f32; m * n];
                    for i in 0..m {
                        for j in 0..n {
                            dst[at(i, j)] = old[i * n + j];
                        }
                    }
                    let count = if name == "inner" {
                        k.div_ceil(block) - 1
                    } else {
                        0
                    };
                    let mut partials = vec![f32::NAN; count * m * n];
                    let split = match name {
                        "rows" => Split::Rows(block),
                        "columns" => Split::Columns(block),
                        _ => Split::Inner(block, partials.chunks_exact_mut(m * n).collect()),
                    };
                    gemm(
                        (&mut dst, dst_layout),
                        start,
                        0.75,
                        (&a, Layout::row_major(m, k)),
                        (&b, Layout::row_major(k, n)),
                        split,
                    );
                    for i in 0..m {
                        for j in 0..n {
                            let terms =
                                (0..k).map(|l| 0.75 * f64::from(a[i * k + l] * b[l * n + j]));
                            let (product, magnitude) =
                                terms.fold((0.0, 0.0), |(sum, size), t| (sum + t, size + t.abs()));
                            let first = match start {
                                Start::Keep(alpha) => f64::from(alpha * old[i * n + j]),
                                Start::Overwrite => 0.0,
                                Start::Row(row) => f64::from(row[j]),
                            };
                            let got = f64::from(dst[at(i, j)])
                                + partials
                                    .chunks_exact(m * n)
                                    .map(|p| f64::from(p[at(i, j)]))
                                    .sum::<f64>();
                            let bound = gamma * (first.abs() + magnitude);
                            assert!(
                                (got - (first + product)).abs() <= bound,
                                "{name}, {parts} parts, [{i}, {j}]: {got} against {}",
                                first + product
                            );
                        }
                    }
                }
            }
        }
    }

    /// `Split::Inner` needs one partial per block after the first.
    #[test]
    #[should_panic(expected = "one partial per block")]
    fn an_inner_split_without_its_partials_panics() {
        let (a, b) = (vec![1.0; 4 * 6], vec![1.0; 6 * 3]);
        let mut dst = vec![0.0; 4 * 3];
        gemm(
            (&mut dst, Layout::row_major(4, 3)),
            Start::Overwrite,
            1.0,
            (&a, Layout::row_major(4, 6)),
            (&b, Layout::row_major(6, 3)),
            Split::Inner(3, vec![]),
        );
    }
}
