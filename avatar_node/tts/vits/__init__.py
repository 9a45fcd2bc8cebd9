"""The VITS generator in PyTorch (inference only) and its loaders (checkpoint, Piper ONNX)."""

from .hparams import VitsHParams
from .model import VitsOutputs, VitsSynthesizer

__all__ = ["VitsHParams", "VitsOutputs", "VitsSynthesizer"]
