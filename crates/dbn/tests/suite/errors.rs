//! Bad input gives errors, never panics.

use burn::nn::LinearConfig;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use dbn::{ClassDataset, Dbn, DbnConfig, DbnError, MlpConfig};
use rbm_burn::{ContrastiveDivergenceConfig, HiddenUnits, RbmConfig, RbmError, VisibleUnits};

use rbm_burn::rand::rngs::StdRng;
use rbm_burn::rand::SeedableRng;

use crate::common::{noisy_classes, WIDTH};

pub fn bad_stacks_are_rejected<B: Backend>(device: &B::Device) {
    let init = |layers: Vec<usize>| DbnConfig::new(layers).init::<B>(device).map(|_| ());
    assert_eq!(init(vec![]), Err(DbnError::NoLayers { got: 0 }));
    assert_eq!(init(vec![784]), Err(DbnError::NoLayers { got: 1 }));
    assert_eq!(
        init(vec![784, 0, 10]),
        Err(DbnError::ZeroLayerSize { layer: 1 })
    );
    let cd = vec![ContrastiveDivergenceConfig::new(); 2];
    let three = DbnConfig::new(vec![8, 6, 4, 2]).with_cd(cd);
    assert!(matches!(
        three.init::<B>(device),
        Err(DbnError::LayerCount {
            what: "cd",
            expected: 3,
            actual: 2
        })
    ));
    let bad_cd = DbnConfig::new(vec![8, 4])
        .with_cd(vec![ContrastiveDivergenceConfig::new().with_batch_size(0)]);
    assert!(matches!(
        bad_cd.init::<B>(device),
        Err(DbnError::Layer {
            layer: 0,
            source: RbmError::InvalidHyperparameter { .. }
        })
    ));
    assert!(matches!(
        Dbn::<B>::from_layers(vec![]),
        Err(DbnError::NoLayers { got: 0 })
    ));
    // Adjacent RBMs that do not fit together.
    let a = RbmConfig::new(8, 6).init::<B>(device).unwrap();
    let b = RbmConfig::new(5, 4).init::<B>(device).unwrap();
    assert!(matches!(
        Dbn::from_layers(vec![a.clone(), b]),
        Err(DbnError::LayerMismatch { layer: 1, .. })
    ));
    // Only binary hidden units, and non-binary visible units only at the bottom.
    let relu = RbmConfig::new(8, 6)
        .with_hidden_units(HiddenUnits::Relu)
        .init::<B>(device)
        .unwrap();
    assert!(matches!(
        Dbn::from_layers(vec![relu]),
        Err(DbnError::UnsupportedUnits { layer: 0, .. })
    ));
    let gaussian = RbmConfig::new(6, 4)
        .with_visible_units(VisibleUnits::Gaussian { learn_sigma: false })
        .init::<B>(device)
        .unwrap();
    assert!(matches!(
        Dbn::from_layers(vec![a, gaussian]),
        Err(DbnError::UnsupportedUnits { layer: 1, .. })
    ));
    // Pre-training a stack of one's own with a config for another stack.
    let dbn = DbnConfig::new(vec![WIDTH, 6]).init::<B>(device).unwrap();
    let data = noisy_classes(20, 1).features_tensor::<B>(device);
    assert!(matches!(
        DbnConfig::new(vec![WIDTH, 7]).pretrain_stack(dbn.clone(), &data, &mut ()),
        Err(DbnError::LayerMismatch { .. })
    ));
    // With its own config, the same stack trains as `pretrain` would train a fresh one.
    let config = DbnConfig::new(vec![WIDTH, 6])
        .with_cd(vec![ContrastiveDivergenceConfig::new().with_epochs(1)]);
    let (own, _) = config.pretrain_stack(dbn, &data, &mut ()).unwrap();
    let (fresh, _) = config.pretrain::<B, _>(&data, device).unwrap();
    assert_eq!(
        own.layers[0].weights.val().into_data(),
        fresh.layers[0].weights.val().into_data()
    );
    let zero_samples = DbnConfig::new(vec![WIDTH, 6]).init::<B>(device).unwrap();
    assert!(matches!(
        zero_samples.sample(4, 0, &mut StdRng::seed_from_u64(0)),
        Err(DbnError::InvalidHyperparameter {
            name: "gibbs_steps",
            ..
        })
    ));
}

pub fn bad_data_is_rejected<B: Backend>(device: &B::Device) {
    let config = DbnConfig::new(vec![WIDTH, 6]);
    // The first layer's width is not the data's.
    let narrow = Tensor::<B, 2>::ones([10, WIDTH - 1], device);
    assert_eq!(
        config.pretrain::<B, _>(&narrow, device).map(|_| ()),
        Err(DbnError::InputWidth {
            expected: WIDTH,
            actual: WIDTH - 1
        })
    );
    let empty = Tensor::<B, 2>::ones([0, WIDTH], device);
    assert_eq!(
        config.pretrain::<B, _>(&empty, device).map(|_| ()),
        Err(DbnError::EmptyData)
    );
    // Values binary units cannot take, and NaN, name the layer.
    let twos = Tensor::<B, 2>::ones([10, WIDTH], device) * 2.0;
    assert!(matches!(
        config.pretrain::<B, _>(&twos, device),
        Err(DbnError::Layer {
            layer: 0,
            source: RbmError::ValueOutOfRange { .. }
        })
    ));
    let nan = Tensor::<B, 2>::ones([10, WIDTH], device) * f32::NAN;
    assert!(matches!(
        config.pretrain::<B, _>(&nan, device),
        Err(DbnError::Layer {
            layer: 0,
            source: RbmError::NonFiniteData { .. }
        })
    ));
    // Labelled data sets.
    assert!(matches!(
        ClassDataset::new(vec![], 0, vec![1]),
        Err(DbnError::InvalidHyperparameter { name: "width", .. })
    ));
    assert_eq!(
        ClassDataset::new(vec![], 3, vec![]),
        Err(DbnError::EmptyData)
    );
    assert_eq!(
        ClassDataset::new(vec![0.0; 6], 3, vec![0]),
        Err(DbnError::LabelCountMismatch {
            values: 6,
            width: 3,
            labels: 1
        })
    );
    assert_eq!(
        ClassDataset::new(vec![0.0, f32::INFINITY, 0.0, 0.0], 2, vec![0, 1]),
        Err(DbnError::NonFiniteFeature { row: 0 })
    );
    let mlp = MlpConfig::new(vec![WIDTH], 3).init::<B>(device).unwrap();
    let four_classes = noisy_classes(8, 1);
    assert!(matches!(
        dbn::accuracy(&mlp, &four_classes, 4),
        Err(DbnError::LabelOutOfRange {
            label: 3,
            n_classes: 3,
            ..
        })
    ));
    let mlp = MlpConfig::new(vec![WIDTH + 1], 4)
        .init::<B>(device)
        .unwrap();
    assert!(matches!(
        dbn::accuracy(&mlp, &four_classes, 4),
        Err(DbnError::FeatureWidth {
            row: 0,
            expected: 25,
            actual: 24
        })
    ));
    assert!(matches!(
        dbn::accuracy(&mlp, &four_classes, 0),
        Err(DbnError::InvalidHyperparameter {
            name: "batch_size",
            ..
        })
    ));
}

pub fn bad_hand_over_is_rejected<B: Backend>(device: &B::Device) {
    let dbn = DbnConfig::new(vec![WIDTH, 6, 4]).init::<B>(device).unwrap();
    let wrong = LinearConfig::new(WIDTH, 7).init::<B>(device);
    assert!(matches!(
        dbn.load_linear(0, wrong),
        Err(DbnError::LayerMismatch { layer: 0, .. })
    ));
    let transposed = LinearConfig::new(4, 6).init::<B>(device);
    assert!(matches!(
        dbn.load_linear(1, transposed),
        Err(DbnError::LayerMismatch { layer: 1, .. })
    ));
    let no_bias = LinearConfig::new(6, 4).with_bias(false).init::<B>(device);
    assert_eq!(
        dbn.load_linear(1, no_bias).map(|_| ()),
        Err(DbnError::MissingBias { layer: 1 })
    );
    let extra = LinearConfig::new(4, 2).init::<B>(device);
    assert_eq!(
        dbn.load_linear(2, extra).map(|_| ()),
        Err(DbnError::NoSuchLayer {
            layer: 2,
            n_layers: 2
        })
    );
    assert!(matches!(
        dbn.to_mlp(0, 0),
        Err(DbnError::ZeroLayerSize { .. })
    ));
    assert!(matches!(
        MlpConfig::new(vec![], 3).init::<B>(device),
        Err(DbnError::NoLayers { got: 0 })
    ));
}
