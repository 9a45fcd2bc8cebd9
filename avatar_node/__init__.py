"""avatar-node: an MQTT node that gives any chatbot a talking face (VITS + Wav2Lip)."""

__version__ = "0.1.0"
