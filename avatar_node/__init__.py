"""avatar-node: an MQTT node that gives any chatbot a talking face (VITS + Wav2Lip)."""

from .memory import keep_buffers_in_heap, limit_kernel_cache

__version__ = "0.1.0"
limit_kernel_cache()
keep_buffers_in_heap()
