//! The convolutional DBN: greedy stacking on pooled maps, checkpoints, hand-over to `Conv2d`.

use burn::module::Module;
use burn::nn::conv::Conv2dConfig;
use burn::nn::PaddingConfig2d;
use burn::tensor::activation::sigmoid;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use dbn::{ConvDbn, ConvDbnConfig, ConvLayerConfig, DbnError, PassUp};
use rbm_burn::rand::rngs::StdRng;
use rbm_burn::rand::{RngExt, SeedableRng};
use rbm_burn::{ContrastiveDivergenceConfig, ConvRbm, FileProblem, RbmError};

use crate::persistence::CopyCheckpoints;

/// Side of the test images.
const SIDE: usize = 8;

/// `n` binary 8×8 images, each with one horizontal or vertical bar of length 4 at a random
/// place, as rows `[n, 64]`.
fn bars<B: Backend>(n: usize, seed: u64, device: &B::Device) -> Tensor<B, 2> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut pixels = vec![0.0f32; n * SIDE * SIDE];
    for image in pixels.chunks_mut(SIDE * SIDE) {
        let vertical = rng.random::<bool>();
        let (i, j) = (rng.random_range(0..SIDE - 3), rng.random_range(0..SIDE));
        for t in 0..4 {
            let (row, column) = if vertical { (i + t, j) } else { (j, i + t) };
            image[row * SIDE + column] = 1.0;
        }
    }
    Tensor::from_data(TensorData::new(pixels, [n, SIDE * SIDE]), device)
}

/// Two layers: 3 filters of 3×3 pooled 2×2 (8×8 → 6×6 → 3×3), then 2 filters of 2×2 without
/// pooling (3×3 → 2×2).
fn config(pass_up: PassUp) -> ConvDbnConfig {
    let cd = |epochs: usize, persistent: bool| {
        ContrastiveDivergenceConfig::new()
            .with_epochs(epochs)
            .with_batch_size(10)
            .with_learning_rate(0.05)
            .with_persistent(persistent)
            .with_momentum_switch_epoch(1)
            .with_seed(5)
    };
    ConvDbnConfig::new(
        1,
        SIDE,
        SIDE,
        vec![
            ConvLayerConfig::new(3, 3).with_pool(2),
            ConvLayerConfig::new(2, 2),
        ],
    )
    .with_cd(vec![cd(2, false), cd(3, true)])
    .with_pass_up(pass_up)
    .with_weight_std(0.1)
    .with_seed(7)
}

/// Every parameter of every layer.
fn parameters<B: Backend>(dbn: &ConvDbn<B>) -> Vec<f32> {
    dbn.layers
        .iter()
        .flat_map(|m: &ConvRbm<B>| {
            [
                m.filters.val().flatten::<1>(0, 3),
                m.visible_bias.val(),
                m.hidden_bias.val(),
            ]
        })
        .flat_map(|t| t.into_data().to_vec::<f32>().unwrap())
        .collect()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Greedy pre-training is exactly: layer 0 trained on the images by its learner, then layer 1
/// trained by its own learner on layer 0's pooling probabilities of the same images. The
/// layers' shapes follow the pooled maps, and the features are the top layer's pooled maps.
pub fn conv_dbn_trains_each_layer_on_the_pooled_maps_below<B: Backend>(device: &B::Device) {
    let config = config(PassUp::Probabilities);
    let images = bars::<B>(40, 1, device);
    let (dbn, history) = config.pretrain_with(&images, &mut (), device).unwrap();
    assert_eq!(dbn.n_layers(), 2);
    assert_eq!(dbn.layers[0].pooled_shape(), [3, 3, 3]);
    assert_eq!(dbn.layers[1].image_shape(), [3, 3, 3]);
    assert_eq!(dbn.layers[1].pooled_shape(), [2, 2, 2]);
    let epochs: Vec<usize> = history.layers.iter().map(|h| h.epochs.len()).collect();
    assert_eq!(epochs, vec![2, 3]);

    // By hand, with the same learners.
    let fresh = config.init::<B>(device).unwrap();
    let (bottom, _) = config
        .layer_cd(0)
        .init()
        .unwrap()
        .fit(fresh.layers[0].clone(), &images)
        .unwrap();
    let pooled = bottom.pooled_rows(images.clone()).unwrap();
    let (top, _) = config
        .layer_cd(1)
        .init()
        .unwrap()
        .fit(fresh.layers[1].clone(), &pooled)
        .unwrap();
    let by_hand = ConvDbn::from_layers(vec![bottom, top]).unwrap();
    // Pooling a batch or all rows at once may round differently in the last place.
    let difference = max_abs_diff(&parameters(&dbn), &parameters(&by_hand));
    assert!(difference < 1e-4, "{difference}");

    let features = dbn
        .features(images.clone().reshape([40, 1, SIDE, SIDE]))
        .unwrap();
    assert_eq!(features.dims(), [40, 2, 2, 2]);
    let expected = dbn.layers[1]
        .pooled_rows(dbn.layers[0].pooled_rows(images).unwrap())
        .unwrap();
    let difference = max_abs_diff(
        &features
            .reshape([40, 8])
            .into_data()
            .to_vec::<f32>()
            .unwrap(),
        &expected.into_data().to_vec::<f32>().unwrap(),
    );
    assert!(difference < 1e-6, "{difference}");
}

/// Pre-training with sampled pooling units, resumed from a checkpoint in the middle of the
/// second layer, ends bit for bit where the uninterrupted run does; the stack saves and loads.
pub fn conv_dbn_resumes_exactly_and_saves<B: Backend>(device: &B::Device) {
    let config = config(PassUp::Samples);
    let images = bars::<B>(30, 2, device);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conv.ckpt");
    let middle = dir.path().join("middle.ckpt");
    let mut copies = CopyCheckpoints {
        at: vec![(1, 1, middle.clone())],
        seen: Vec::new(),
    };
    let (full, _) = config
        .pretrain_with_checkpoints::<B, _, _>(&images, &mut copies, &path, 1, device)
        .unwrap();
    assert_eq!(copies.seen, vec![(0, 1), (0, 2), (1, 1), (1, 2), (1, 3)]);
    let (resumed, history) = config
        .resume_pretraining::<B, _, _>(&middle, &images, &mut (), 2, device)
        .unwrap();
    assert_eq!(parameters(&resumed), parameters(&full));
    assert_eq!(history.layers[1].epochs.len(), 3);

    let file = dir.path().join("stack.cdbn");
    full.save(&file).unwrap();
    let loaded = ConvDbn::<B>::load(&file, device).unwrap();
    assert_eq!(parameters(&loaded), parameters(&full));
    // Other settings than the checkpoint's, and a checkpoint read as a stack.
    let other = config.clone().with_seed(8);
    match other.resume_pretraining::<B, _, _>(&middle, &images, &mut (), 1, device) {
        Err(DbnError::Rbm(RbmError::File {
            problem: FileProblem::Mismatch { what, .. },
            ..
        })) => assert_eq!(what, "the pre-training settings"),
        other => panic!("expected a settings mismatch, got {:?}", other.map(|_| ())),
    }
    match ConvDbn::<B>::load(&path, device) {
        Err(DbnError::Rbm(RbmError::File {
            problem: FileProblem::WrongContent { expected, found },
            ..
        })) => assert_eq!(
            (expected.as_str(), found.as_str()),
            ("conv-dbn", "conv-dbn-pretrain-checkpoint")
        ),
        other => panic!(
            "expected a wrong-content error, got {:?}",
            other.map(|_| ())
        ),
    }
}

/// The hand-over: each layer as a `Conv2d` gives the detection units' input, so its sigmoid is
/// the detection probabilities of a layer without pooling; loading into a user's `Conv2d`
/// keeps its parameter ids and gives the same outputs; wrong layers are refused.
pub fn conv_dbn_hands_over_to_conv2d<B: Backend>(device: &B::Device) {
    let dbn = config(PassUp::Probabilities).init::<B>(device).unwrap();
    let images = bars::<B>(6, 3, device).reshape([6, 1, SIDE, SIDE]);
    let pooled = dbn.layers[0].pool(images.clone()).unwrap();
    let convs = dbn.to_conv2d();
    assert_eq!(convs.len(), 2);
    // Layer 1 has no pooling: sigmoid(conv) is p(h = 1 | v).
    let probs = dbn.layers[1].detection_probs(pooled.clone()).unwrap();
    let handed = sigmoid(convs[1].forward(pooled.clone()));
    let difference = max_abs_diff(
        &probs.into_data().to_vec::<f32>().unwrap(),
        &handed.clone().into_data().to_vec::<f32>().unwrap(),
    );
    assert!(difference < 1e-5, "{difference}");

    let mine = Conv2dConfig::new([3, 2], [2, 2]).init::<B>(device);
    let id = mine.weight.id;
    let loaded = dbn.load_conv2d(1, mine).unwrap();
    assert_eq!(loaded.weight.id, id);
    let difference = max_abs_diff(
        &sigmoid(loaded.forward(pooled))
            .into_data()
            .to_vec::<f32>()
            .unwrap(),
        &handed.into_data().to_vec::<f32>().unwrap(),
    );
    assert_eq!(difference, 0.0);
    assert_eq!(loaded.num_params(), 3 * 2 * 2 * 2 + 2);

    let refused = |conv, layer| dbn.load_conv2d(layer, conv).map(|_| ()).unwrap_err();
    assert!(matches!(
        refused(Conv2dConfig::new([3, 2], [3, 3]).init(device), 1),
        DbnError::LayerMismatch { layer: 1, .. }
    ));
    assert!(matches!(
        refused(
            Conv2dConfig::new([3, 2], [2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device),
            1
        ),
        DbnError::LayerMismatch { layer: 1, .. }
    ));
    assert_eq!(
        refused(
            Conv2dConfig::new([3, 2], [2, 2])
                .with_bias(false)
                .init(device),
            1
        ),
        DbnError::MissingBias { layer: 1 }
    );
    assert_eq!(
        refused(Conv2dConfig::new([3, 2], [2, 2]).init(device), 2),
        DbnError::NoSuchLayer {
            layer: 2,
            n_layers: 2
        }
    );
}

/// Stacks that cannot be built and data that does not fit are named.
pub fn bad_conv_stacks_are_rejected<B: Backend>(device: &B::Device) {
    let layers = |second: ConvLayerConfig| {
        ConvDbnConfig::new(
            1,
            SIDE,
            SIDE,
            vec![ConvLayerConfig::new(3, 3).with_pool(2), second],
        )
    };
    assert_eq!(
        ConvDbnConfig::new(1, SIDE, SIDE, vec![])
            .init::<B>(device)
            .map(|_| ())
            .unwrap_err(),
        DbnError::NoLayers { got: 1 }
    );
    // A filter larger than the 3×3 pooled maps below, and pooling that does not divide the
    // 2×2 detection maps of 2×2 filters on them.
    for second in [
        ConvLayerConfig::new(2, 4),
        ConvLayerConfig::new(2, 2).with_pool(3),
    ] {
        assert!(matches!(
            layers(second).init::<B>(device).map(|_| ()).unwrap_err(),
            DbnError::Layer {
                layer: 1,
                source: RbmError::InvalidHyperparameter { .. }
            }
        ));
    }
    let config = layers(ConvLayerConfig::new(2, 2));
    let wrong_width = Tensor::<B, 2>::zeros([4, SIDE * SIDE - 1], device);
    assert_eq!(
        config
            .pretrain_with(&wrong_width, &mut (), device)
            .map(|_| ())
            .unwrap_err(),
        DbnError::InputWidth {
            expected: SIDE * SIDE,
            actual: SIDE * SIDE - 1
        }
    );
    let out_of_range = Tensor::<B, 2>::full([4, SIDE * SIDE], 2.0, device);
    assert!(matches!(
        config
            .pretrain_with(&out_of_range, &mut (), device)
            .map(|_| ())
            .unwrap_err(),
        DbnError::Layer { layer: 0, .. }
    ));
    // Layers that do not stack: the second takes 3 channels of 3×3, not the first's maps.
    let stack = config.init::<B>(device).unwrap();
    let swapped = vec![stack.layers[1].clone(), stack.layers[0].clone()];
    assert!(matches!(
        ConvDbn::from_layers(swapped).map(|_| ()).unwrap_err(),
        DbnError::LayerMismatch { layer: 1, .. }
    ));
}
