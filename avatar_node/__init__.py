"""avatar-node: an MQTT node that gives any chatbot a talking face (VITS + Wav2Lip)."""

from .memory import limit_kernel_cache

__version__ = "0.1.0"
limit_kernel_cache()
