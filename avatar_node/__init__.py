"""avatar-node: an MQTT node that gives any chatbot a talking face (VITS speech + Wav2Lip lip sync)."""

__version__ = "0.1.0"
