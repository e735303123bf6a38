//! The matrix product of the host kernels: the `gemm` crate on one thread per part of the
//! output, the parts run by the [`team`](crate::team).
//!
//! `gemm`'s own multithreading runs on rayon's pool, whose threads fall asleep between the
//! products of a CD update and must be woken for each one; on the 2-core machine of the README
//! splitting the output in the team's parts and running `gemm` single-threaded on each made
//! the four products of a CD-1 update at batch 100 (500 hidden units) about 25 % faster in a
//! loop (0.91 s → 0.70 s an epoch) and 30 % faster with element-wise work between them
//! (0.98 s → 0.70 s).
//!
//! The output is split along its longer side in blocks of a multiple of 16 rows or columns,
//! one block per member of the team; products under [`PARALLEL_WORK`] run on the calling
//! thread alone.

use crate::team::team;

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

/// `dst ← (start) + beta·a·b` on the team, with the operands checked against their slices.
///
/// # Shapes
/// - `a`: `[m, k]`, `b`: `[k, n]`, `dst`: `[m, n]`, a `Start::Row`: `[n]`
///
/// # Panics
/// If the shapes do not match, a matrix does not fit its slice or the destination's elements
/// overlap.
pub(crate) fn gemm(
    (dst, dst_layout): (&mut [f32], Layout),
    start: Start<'_>,
    beta: f32,
    (a, a_layout): (&[f32], Layout),
    (b, b_layout): (&[f32], Layout),
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
    // SAFETY: the three layouts fit their slices and distinct elements of `dst` have distinct
    // addresses (checked above), `dst` is a unique borrow so it overlaps neither operand, and
    // the shapes agree.
    unsafe {
        gemm_strided(
            [m, k, n],
            // From the unique borrow, so the pointer may be written through.
            strided(dst.as_mut_ptr().cast_const(), dst_layout),
            start,
            beta,
            strided(a.as_ptr(), a_layout),
            strided(b.as_ptr(), b_layout),
        );
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
            // whenever it is used (see `gemm_strided`).
            ptr: self.ptr.wrapping_offset(shift),
            ..self
        }
    }
}

/// `dst ← (start) + beta·a·b` for `[m, k, n]` matrices at pointers, split over the team.
///
/// # Safety
/// `a` (`[m, k]`) and `b` (`[k, n]`) are valid for reads, `dst` (`[m, n]`) for reads and
/// writes (its pointer derived from a unique borrow), at their strides; distinct elements of
/// `dst` have distinct addresses, and `dst` overlaps neither operand nor a `Start::Row`.
/// `m, n, k > 0`; a `Start::Row` has `n` values.
pub(crate) unsafe fn gemm_strided(
    [m, k, n]: [usize; 3],
    dst: Strided,
    start: Start<'_>,
    beta: f32,
    a: Strided,
    b: Strided,
) {
    let by_columns = n >= m;
    let side = if by_columns { n } else { m };
    let members = team().size();
    let wanted = (m.saturating_mul(n).saturating_mul(k) / PARALLEL_WORK).clamp(1, members);
    let block = blocks(side, wanted);
    let parts = side.div_ceil(block);
    let part = |index: usize| {
        let first = index * block;
        let count = block.min(side - first);
        // SAFETY: the part is the block of rows or columns `first..first + count` of the
        // output, inside it, and the blocks of different parts are disjoint; the caller
        // vouches for the rest.
        unsafe {
            if by_columns {
                let row = match start {
                    Start::Row(row) => Start::Row(&row[first..first + count]),
                    other => other,
                };
                gemm_serial(
                    [m, k, count],
                    dst.offset(0, first),
                    row,
                    beta,
                    a,
                    b.offset(0, first),
                );
            } else {
                gemm_serial(
                    [count, k, n],
                    dst.offset(first, 0),
                    start,
                    beta,
                    a.offset(first, 0),
                    b,
                );
            }
        }
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
unsafe fn gemm_serial(
    [m, k, n]: [usize; 3],
    dst: Strided,
    start: Start<'_>,
    beta: f32,
    a: Strided,
    b: Strided,
) {
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
