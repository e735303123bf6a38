//! A real `dbn_mnist` process is killed with SIGKILL in the middle of pre-training, resumed
//! with `--resume`, and must end with exactly the pre-trained stack of an uninterrupted run,
//! having lost at most one epoch. Runs when `MNIST_DIR` is set; CI sets it and fails without
//! it ([`crate::mnist_dir`]).
//!
//! The example binary is the one `cargo test` builds beside the test binaries
//! (`target/<profile>/examples/dbn_mnist`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// `target/<profile>/examples/dbn_mnist`, found from this test's own binary in
/// `target/<profile>/deps/`.
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let binary = profile_dir
        .join("examples")
        .join(format!("dbn_mnist{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} is missing: `cargo test` builds the examples (`cargo test --test dbn_resume` alone \
         does not; run `cargo build --example dbn_mnist` first)",
        binary.display()
    );
    binary
}

fn command(binary: &Path, data: &std::ffi::OsStr, extra: &[&std::ffi::OsStr]) -> Command {
    let mut command = Command::new(binary);
    command.arg("--data-dir").arg(data);
    for arg in [
        "--train-limit",
        "5000",
        "--test-limit",
        "100",
        "--layers",
        "64,48",
        "--pretrain-epochs",
        &EPOCHS.to_string(),
        "--finetune-epochs",
        "1",
        "--sample-steps",
        "2",
        "--persistent",
    ] {
        command.arg(arg);
    }
    command.args(extra);
    command
}

/// The (layer, epoch) of every epoch line (`layer L epoch E: …`) of `output`, 1-based.
fn epochs(output: &str) -> Vec<(usize, usize)> {
    output
        .lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("layer ")?;
            let (layer, rest) = rest.split_once(" epoch ")?;
            let (epoch, _) = rest.split_once(':')?;
            Some((layer.parse().ok()?, epoch.trim().parse().ok()?))
        })
        .collect()
}

/// Layers and pre-training epochs per layer of the runs.
const LAYERS: usize = 2;
const EPOCHS: usize = 6;

#[test]
fn a_killed_run_resumes_to_the_uninterrupted_result() {
    let Some(data) = crate::mnist_dir("the kill-and-resume test") else {
        return;
    };
    let binary = example_binary();
    let dir = tempfile::tempdir().unwrap();
    let (whole, killed) = (dir.path().join("whole"), dir.path().join("killed"));

    let status = command(&binary, &data, &["--out".as_ref(), whole.as_os_str()])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the uninterrupted run failed");

    // Kill the second run in the middle of layer 1's third epoch (or of writing a checkpoint,
    // which must not matter either).
    let mut child = command(&binary, &data, &["--out".as_ref(), killed.as_os_str()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut output = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        output += &line;
        output.push('\n');
        if line.contains("checkpoint: layer 1 after epoch 2 ") {
            std::thread::sleep(Duration::from_millis(100));
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    // What it printed before it died is still in the pipe.
    for line in lines {
        output += &line.unwrap();
        output.push('\n');
    }
    assert!(
        !killed.join("pretrained.dbn").exists(),
        "the process ran to the end before it was killed:\n{output}"
    );

    let resumed = command(&binary, &data, &["--resume".as_ref(), killed.as_os_str()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&resumed.stdout);
    assert!(
        resumed.status.success(),
        "the resumed run failed: {}{}",
        stdout,
        String::from_utf8_lossy(&resumed.stderr)
    );
    // The resumed run trains exactly the epochs after its checkpoint, in order.
    let all: Vec<(usize, usize)> = (1..=LAYERS)
        .flat_map(|layer| (1..=EPOCHS).map(move |epoch| (layer, epoch)))
        .collect();
    let after = epochs(&stdout);
    let done = all.len() - after.len();
    assert_eq!(after, all[done..], "epochs of the resumed run:\n{stdout}");
    // Checkpoints follow every epoch, so the checkpoint covers every epoch the killed run
    // finished but at most one (whose checkpoint the kill may have cut short).
    let finished = epochs(&output);
    assert_eq!(finished, all[..finished.len()], "{output}");
    assert!(
        done <= finished.len() && finished.len() <= done + 1,
        "{} epochs finished before the kill, {done} in the checkpoint",
        finished.len()
    );
    let read = |run: &Path| std::fs::read(run.join("pretrained.dbn")).unwrap();
    assert!(
        read(&killed) == read(&whole),
        "the resumed stack differs from the uninterrupted one"
    );
}
