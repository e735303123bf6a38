//! Saving and loading with Burn's recorders, and agreement between backends.

use burn::module::Module;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder};
use burn::tensor::backend::Backend;
use rbm_burn::synthetic::bars_and_stripes;
use rbm_burn::{rows_to_tensor, ContrastiveDivergenceConfig, EnumeratedLayer, Rbm, RbmConfig};

use crate::common::*;

/// Save → load through a Burn recorder restores the parameters bit for bit, so every output is
/// identical too.
pub fn save_and_load_round_trip<B: Backend>(device: &B::Device) {
    let data = rows_to_tensor::<B, _>(&bars_and_stripes(3), device).unwrap();
    let rbm = RbmConfig::new(9, 5).init::<B>(device).unwrap();
    let (rbm, _) = ContrastiveDivergenceConfig::new()
        .with_batch_size(4)
        .with_epochs(2)
        .init::<B>()
        .unwrap()
        .fit(rbm, &data)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rbm");
    let recorder = NamedMpkFileRecorder::<FullPrecisionSettings>::new();
    rbm.clone().save_file(path.clone(), &recorder).unwrap();
    let loaded: Rbm<B> = RbmConfig::new(9, 5)
        .init::<B>(device)
        .unwrap()
        .load_file(path, &recorder, device)
        .unwrap();
    let (a, b) = (HostRbm::from_device(&rbm), HostRbm::from_device(&loaded));
    assert_eq!(
        (a.weights, a.visible_bias, a.hidden_bias),
        (b.weights, b.visible_bias, b.hidden_bias)
    );
    assert_eq!(
        to_f64(rbm.free_energy(data.clone())),
        to_f64(loaded.free_energy(data.clone()))
    );
    assert_eq!(
        to_f64(rbm.transform(data.clone())),
        to_f64(loaded.transform(data))
    );
}

#[cfg_attr(not(feature = "test-wgpu"), allow(dead_code))]
/// Deterministic quantities — probabilities, mean-field reconstructions, free energies, log Z
/// and the exact gradient — agree with the NdArray reference to float tolerance. (Sampled ones
/// are not compared: both backends get the same uniforms, but a probability that differs by
/// 1e-7 across backends can still fall on the other side of one, flipping a sample.)
pub fn agrees_with_ndarray<B: Backend>(device: &B::Device) {
    type Reference = burn::backend::NdArray;
    let reference_device = Default::default();
    let host = HostRbm::random(9, 7, 1.0, 31);
    let (rbm, reference) = (
        host.to_device::<B>(device),
        host.to_device::<Reference>(&reference_device),
    );
    let rows: Vec<Vec<f64>> = bars_and_stripes(3)
        .into_iter()
        .map(|r| r.into_iter().map(f64::from).collect())
        .collect();
    let (data, reference_data) = (
        rows_tensor::<B>(&rows, device),
        rows_tensor::<Reference>(&rows, &reference_device),
    );
    let close = |a: Vec<f64>, b: Vec<f64>, what: &str| {
        let diff = max_abs_diff(&a, &b);
        assert!(diff < 1e-4, "{what}: {diff}");
    };
    close(
        to_f64(rbm.hidden_probs(data.clone())),
        to_f64(reference.hidden_probs(reference_data.clone())),
        "hidden_probs",
    );
    close(
        to_f64(rbm.reconstruct(data.clone())),
        to_f64(reference.reconstruct(reference_data.clone())),
        "reconstruct",
    );
    close(
        to_f64(rbm.free_energy(data.clone())),
        to_f64(reference.free_energy(reference_data.clone())),
        "free_energy",
    );
    for layer in [EnumeratedLayer::Visible, EnumeratedLayer::Hidden] {
        let (a, b) = (
            rbm.log_partition_enumerating(layer).unwrap(),
            reference.log_partition_enumerating(layer).unwrap(),
        );
        assert!((a - b).abs() < 1e-4, "log Z {layer:?}: {a} vs {b}");
    }
    let gradient = rbm_burn::exact_log_likelihood_gradient(&rbm, data).unwrap();
    let reference_gradient =
        rbm_burn::exact_log_likelihood_gradient(&reference, reference_data).unwrap();
    for (what, a, b) in [
        (
            "exact gradient (weights)",
            to_f64(gradient.weights),
            to_f64(reference_gradient.weights),
        ),
        (
            "exact gradient (visible bias)",
            to_f64(gradient.visible_bias),
            to_f64(reference_gradient.visible_bias),
        ),
        (
            "exact gradient (hidden bias)",
            to_f64(gradient.hidden_bias),
            to_f64(reference_gradient.hidden_bias),
        ),
    ] {
        close(a, b, what);
    }
}
