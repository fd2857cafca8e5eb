"""The works a run's methods.md cites, and which of them a run used.

Each entry is the full reference a paper's bibliography needs. :func:`cited` picks those a
run's config.json shows were used (its dataset, architecture, brain masks, augmentations).
"""

from __future__ import annotations

#: Key -> full reference.
REFERENCES = {
    "ixi": "IXI dataset. Information eXtraction from Images (EPSRC GR/S21533/02), Imperial College London. "
    "https://brain-development.org/ixi-dataset/ (CC BY-SA 3.0).",
    "msd": "Simpson AL, Antonelli M, Bakas S, et al. A large annotated medical image dataset for the development "
    "and evaluation of segmentation algorithms. arXiv:1902.09063, 2019.",
    "adni": "Jack CR Jr, Bernstein MA, Fox NC, et al. The Alzheimer's Disease Neuroimaging Initiative (ADNI): MRI "
    "methods. J Magn Reson Imaging. 2008;27(4):685-691. doi:10.1002/jmri.21049.",
    "harp": "Boccardi M, Bocchetta M, Morency FC, et al. Training labels for hippocampal segmentation based on the "
    "EADC-ADNI harmonized hippocampal protocol. Alzheimers Dement. 2015;11(2):175-183. "
    "doi:10.1016/j.jalz.2014.12.002.",
    "hdbet": "Isensee F, Schell M, Pflueger I, et al. Automated brain extraction of multisequence MRI using "
    "artificial neural networks. Hum Brain Mapp. 2019;40(17):4952-4964. doi:10.1002/hbm.24750.",
    "deepbet": "Fisch L, Zumdick S, Barkhau C, et al. deepbet: Fast brain extraction of T1-weighted MRI using "
    "Convolutional Neural Networks. Comput Biol Med. 2024;179:108845. doi:10.1016/j.compbiomed.2024.108845.",
    "sfcn": "Peng H, Gong W, Beckmann CF, Vedaldi A, Smith SM. Accurate brain age prediction with lightweight deep "
    "neural networks. Med Image Anal. 2021;68:101871. doi:10.1016/j.media.2020.101871.",
    "resnet": "He K, Zhang X, Ren S, Sun J. Deep residual learning for image recognition. In: Proc IEEE CVPR. 2016:"
    "770-778. doi:10.1109/CVPR.2016.90.",
    "unet": "Ronneberger O, Fischer P, Brox T. U-Net: Convolutional networks for biomedical image segmentation. "
    "In: MICCAI 2015. LNCS 9351. Springer; 2015:234-241. doi:10.1007/978-3-319-24574-4_28.",
    "unet3d": "Çiçek Ö, Abdulkadir A, Lienkamp SS, Brox T, Ronneberger O. 3D U-Net: Learning dense volumetric "
    "segmentation from sparse annotation. In: MICCAI 2016. LNCS 9901. Springer; 2016:424-432. "
    "doi:10.1007/978-3-319-46723-8_49.",
    "torchio": "Pérez-García F, Sparks R, Ourselin S. TorchIO: a Python library for efficient loading, "
    "preprocessing, augmentation and patch-based sampling of medical images in deep learning. Comput Methods "
    "Programs Biomed. 2021;208:106236. doi:10.1016/j.cmpb.2021.106236.",
    "pytorch": "Paszke A, Gross S, Massa F, et al. PyTorch: An imperative style, high-performance deep learning "
    "library. In: Advances in Neural Information Processing Systems 32 (NeurIPS 2019). 2019:8024-8035.",
    "adamw": "Loshchilov I, Hutter F. Decoupled weight decay regularization. In: International Conference on "
    "Learning Representations (ICLR). 2019.",
    "bootstrap": "Efron B, Tibshirani RJ. An Introduction to the Bootstrap. Chapman & Hall/CRC; 1993.",
}

#: Architecture -> (description, reference keys).
ARCHITECTURES = {
    "vt1": (
        "a four-block 3D convolutional network (Conv3d, instance normalisation, ReLU and max pooling per "
        "block, global pooling and a linear head)",
        (),
    ),
    "resnet3d": ("a 3D ResNet with basic residual blocks", ("resnet",)),
    "sfcn": ("the Simple Fully Convolutional Network (SFCN)", ("sfcn",)),
    "vt1-unet": ("a 3D U-Net with unpadded convolutions", ("unet", "unet3d")),
    "unet": ("a 3D U-Net with a ResNet-style encoder (segmentation-models-pytorch-3d)", ("unet", "unet3d")),
}

#: Dataset layout -> (description, reference keys).
DATASETS = {
    "ixi": ("T1-weighted scans of the IXI dataset", ("ixi",)),
    "adni": ("ADNI T1-weighted scans with EADC-ADNI Harmonized Hippocampal Protocol (HarP) labels", ("adni", "harp")),
    "harp": ("ADNI T1-weighted scans with EADC-ADNI Harmonized Hippocampal Protocol (HarP) labels", ("adni", "harp")),
    "msd": ("Task04 (hippocampus) of the Medical Segmentation Decathlon", ("msd",)),
    "table": ("T1-weighted scans listed in a user-provided table", ()),
    "bids": ("T1-weighted scans of a BIDS dataset", ()),
}


def cited(keys) -> list[str]:
    """The references of ``keys`` in first-use order, each once."""
    return [REFERENCES[k] for k in dict.fromkeys(keys) if k in REFERENCES]
