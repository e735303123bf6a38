//! Energies, free energies, log Z and likelihoods against brute-force enumeration in f64.

use burn::tensor::backend::Backend;
use rbm_burn::{CentredRbm, EnumeratedLayer, Offsets, RbmError, MAX_ENUMERATED_UNITS};

use crate::common::*;

/// Per-state log-weights are computed in f32 from ≲ 20 terms of magnitude ≲ 10, so each carries
/// an absolute error of order 20 · 10 · 6e-8 ≈ 1e-5; a log-sum-exp of such values inherits at
/// most the largest of them. 1e-4 leaves a factor of ten.
const LOG_TOL: f64 = 1e-4;

pub fn energy_and_free_energy_match_brute_force<B: Backend>(device: &B::Device) {
    let host = HostRbm::random(5, 4, 1.0, 11);
    let rbm = host.to_device::<B>(device);
    let visible: Vec<Vec<f64>> = states(5).collect();
    let pairs: Vec<(Vec<f64>, Vec<f64>)> = states(5)
        .flat_map(|v| states(4).map(move |h| (v.clone(), h)))
        .collect();
    let v_rows: Vec<Vec<f64>> = pairs.iter().map(|(v, _)| v.clone()).collect();
    let h_rows: Vec<Vec<f64>> = pairs.iter().map(|(_, h)| h.clone()).collect();

    let energy = to_f64(rbm.energy(
        rows_tensor::<B>(&v_rows, device),
        rows_tensor::<B>(&h_rows, device),
    ));
    let expected: Vec<f64> = pairs.iter().map(|(v, h)| host.energy(v, h)).collect();
    assert!(
        max_abs_diff(&energy, &expected) < LOG_TOL,
        "energy off by {}",
        max_abs_diff(&energy, &expected)
    );

    let free_energy = to_f64(rbm.free_energy(rows_tensor::<B>(&visible, device)));
    let expected: Vec<f64> = visible.iter().map(|v| host.free_energy(v)).collect();
    assert!(max_abs_diff(&free_energy, &expected) < LOG_TOL);
}

pub fn log_partition_matches_brute_force_over_either_layer<B: Backend>(device: &B::Device) {
    for (n_visible, n_hidden, seed) in [(5, 4, 1), (3, 7, 2), (6, 6, 3)] {
        let host = HostRbm::random(n_visible, n_hidden, 1.0, seed);
        let rbm = host.to_device::<B>(device);
        let expected = host.log_partition();
        for layer in [EnumeratedLayer::Visible, EnumeratedLayer::Hidden] {
            let log_z = rbm.log_partition_enumerating(layer).unwrap();
            assert!(
                (log_z - expected).abs() < LOG_TOL,
                "{layer:?}: {log_z} vs {expected}"
            );
        }
        assert!((rbm.log_partition_exact().unwrap() - expected).abs() < LOG_TOL);
    }
}

/// Layers large enough that the enumeration is split into chunks (2^16 states each here), and
/// weights large enough that Z is far outside f32's range: both enumerations must agree.
pub fn chunked_enumerations_agree<B: Backend>(device: &B::Device) {
    let host = HostRbm::random(18, 20, 3.0, 4);
    let rbm = host.to_device::<B>(device);
    let over_visible = rbm
        .log_partition_enumerating(EnumeratedLayer::Visible)
        .unwrap();
    let over_hidden = rbm
        .log_partition_enumerating(EnumeratedLayer::Hidden)
        .unwrap();
    assert!(
        over_visible > 89.0,
        "log Z = {over_visible} should exceed f32's log(max) ≈ 88.7"
    );
    // 2^20 terms: relative f32 error of each log-weight (≈ 1e-7 · |log-weight| ≲ 1e-5) dominates.
    assert!(
        (over_visible - over_hidden).abs() < 1e-3,
        "{over_visible} vs {over_hidden}"
    );
}

pub fn likelihood_is_normalised<B: Backend>(device: &B::Device) {
    let host = HostRbm::random(7, 5, 1.0, 5);
    let rbm = host.to_device::<B>(device);
    let all: Vec<Vec<f64>> = states(7).collect();
    let log_p = to_f64(
        rbm.log_likelihood_exact(rows_tensor::<B>(&all, device))
            .unwrap(),
    );
    let total = log_sum_exp(log_p.iter().copied());
    assert!(total.abs() < LOG_TOL, "log Σ p(v) = {total}");
    for (v, lp) in all.iter().zip(&log_p) {
        let expected = -host.free_energy(v) - host.log_partition();
        assert!((lp - expected).abs() < LOG_TOL);
    }
}

pub fn enumeration_beyond_the_limit_is_an_error<B: Backend>(device: &B::Device) {
    let units = MAX_ENUMERATED_UNITS + 1;
    let rbm = rbm_burn::RbmConfig::new(units, units + 3)
        .init::<B>(device)
        .unwrap();
    let expected = RbmError::EnumerationTooLarge {
        units,
        limit: MAX_ENUMERATED_UNITS,
    };
    assert_eq!(rbm.log_partition_exact().unwrap_err(), expected);
    assert_eq!(
        rbm.log_partition_enumerating(EnumeratedLayer::Hidden)
            .unwrap_err(),
        RbmError::EnumerationTooLarge {
            units: units + 3,
            limit: MAX_ENUMERATED_UNITS
        }
    );
}

/// 24 enumerated units must take seconds, not minutes (timing is printed, not asserted), and
/// enumerating either 24-unit layer must give the same value.
pub fn twenty_four_units_are_enumerated<B: Backend>(device: &B::Device) {
    let host = HostRbm::random(24, 24, 0.3, 6);
    let rbm = host.to_device::<B>(device);
    let started = std::time::Instant::now();
    let over_visible = rbm
        .log_partition_enumerating(EnumeratedLayer::Visible)
        .unwrap();
    eprintln!(
        "log Z over 2^24 states: {over_visible:.4} in {:.2?}",
        started.elapsed()
    );
    let over_hidden = rbm
        .log_partition_enumerating(EnumeratedLayer::Hidden)
        .unwrap();
    // 2^24 terms, each with relative f32 error ≈ 1e-7 of a log-weight of magnitude ≲ 40.
    assert!(
        (over_visible - over_hidden).abs() < 1e-3,
        "{over_visible} vs {over_hidden}"
    );
}

/// A centred RBM (energy `−(v − μ)ᵀW(h − λ) − aᵀ(v − μ) − bᵀ(h − λ)`, evaluated in that form)
/// and the ordinary RBM it converts to define the same `p(v)`: the log-probability of every
/// visible state by enumerating all `(v, h)` pairs of the centred energy equals the ordinary
/// model's exact log-likelihood (f32 rounding, 10⁻⁴). Their energies differ by one constant,
/// and converting back gives the centred biases again.
pub fn centred_rbm_converts_to_an_rbm_with_the_same_distribution<B: Backend>(device: &B::Device) {
    let host = HostRbm::random(5, 4, 0.8, 31);
    let plain = host.to_device::<B>(device);
    let offsets = Offsets {
        visible: tensor1::<B>(&[0.1, 0.7, 0.35, 0.9, 0.5], device),
        hidden: tensor1::<B>(&[0.6, 0.2, 0.45, 0.8], device),
    };
    let centred = CentredRbm {
        weights: plain.weights.val(),
        visible_bias: plain.visible_bias(),
        hidden_bias: plain.hidden_bias(),
        offsets,
    };
    let rbm = centred.to_rbm().unwrap();
    let pairs: Vec<(Vec<f64>, Vec<f64>)> = states(5)
        .flat_map(|v| states(4).map(move |h| (v.clone(), h)))
        .collect();
    let (vs, hs): (Vec<_>, Vec<_>) = pairs.into_iter().unzip();
    let centred_energy =
        to_f64(centred.energy(rows_tensor::<B>(&vs, device), rows_tensor::<B>(&hs, device)));
    let plain_energy =
        to_f64(rbm.energy(rows_tensor::<B>(&vs, device), rows_tensor::<B>(&hs, device)));
    let shift = centred_energy[0] - plain_energy[0];
    assert!(
        shift.abs() > 0.1,
        "the offsets must change the energy's constant"
    );
    for (c, p) in centred_energy.iter().zip(&plain_energy) {
        assert!((c - p - shift).abs() < 1e-4, "{c} − {p} ≠ {shift}");
    }
    let log_z = log_sum_exp(centred_energy.iter().map(|e| -e));
    let exact = to_f64(
        rbm.log_likelihood_exact(rows_tensor::<B>(&states(5).collect::<Vec<_>>(), device))
            .unwrap(),
    );
    for (v, exact) in exact.iter().enumerate() {
        let marginal = log_sum_exp(centred_energy[v * 16..(v + 1) * 16].iter().map(|e| -e));
        assert!(
            (marginal - log_z - exact).abs() < 1e-4,
            "state {v}: {} vs {exact}",
            marginal - log_z
        );
    }
    // The conversion moved the biases, and converting back restores them.
    assert!(max_abs_diff(&to_f64(rbm.visible_bias()), &host.visible_bias) > 0.1);
    let back = CentredRbm::from_rbm(&rbm, centred.offsets.clone()).unwrap();
    assert!(max_abs_diff(&to_f64(back.visible_bias), &host.visible_bias) < 1e-5);
    assert!(max_abs_diff(&to_f64(back.hidden_bias), &host.hidden_bias) < 1e-5);
}

fn tensor1<B: Backend>(values: &[f32], device: &B::Device) -> burn::tensor::Tensor<B, 1> {
    burn::tensor::Tensor::from_data(
        burn::tensor::TensorData::new(values.to_vec(), [values.len()]),
        device,
    )
}
