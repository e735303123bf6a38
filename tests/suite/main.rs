//! The integration tests of the examples' library and binaries, one test binary: the bad-input
//! table, the IDX reader's properties, and the MNIST pipelines end to end (smoke tests, and a
//! real `dbn_mnist` process killed and resumed).

mod bad_inputs;
mod class_rbm_mnist_smoke;
mod conv_rbm_mnist_smoke;
mod dbn_mnist_smoke;
mod dbn_resume;
mod idx_properties;
mod rbm_mnist_smoke;

/// The MNIST directory for the tests that need it: `MNIST_DIR`. Without it such a test says
/// so and passes, except in CI (`CI=true`), where missing data is a failure, not a silent
/// pass.
pub fn mnist_dir(test: &str) -> Option<std::ffi::OsString> {
    let dir = std::env::var_os("MNIST_DIR");
    if dir.is_none() {
        assert!(
            std::env::var("CI").map_or(true, |ci| ci != "true"),
            "{test} needs MNIST: CI=true, but MNIST_DIR is not set"
        );
        eprintln!("MNIST_DIR is not set: skipping {test}");
    }
    dir
}
