"""The Wav2Lip generator: face encoder, audio encoder, face decoder with skip connections.

Layer shapes follow the released checkpoint (see ``wav2lip_manifest.json``); the module and
attribute names match its state-dict keys so that it loads without renaming. Input conventions:
``mel`` is ``[B,1,80,16]`` (one 0.2 s window of Wav2Lip's mel spectrogram) and ``faces`` is
``[B,6,96,96]`` in 0..1 (channels 0-2 the lower-half-masked BGR face, 3-5 the unmasked one).
The output is ``[B,3,96,96]`` BGR in 0..1.

For a still avatar the face half never changes, so :meth:`Wav2Lip.encode_faces` runs it once and
:meth:`Wav2Lip.decode` reuses the feature maps for every audio window.
"""

from __future__ import annotations

import torch
from torch import nn

Stride = int | tuple[int, int]


class ConvBN(nn.Module):
    """Conv2d → BatchNorm → (+ input if ``residual``) → ReLU; keys ``conv_block.{0,1}``."""

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: int,
        stride: Stride,
        padding: int,
        residual: bool = False,
    ) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.Conv2d(cin, cout, kernel, stride, padding), nn.BatchNorm2d(cout)
        )
        self.residual = residual
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_block(x)
        if self.residual:
            out = out + x
        return self.act(out)


class ConvTransposeBN(nn.Module):
    """ConvTranspose2d → BatchNorm → ReLU; keys ``conv_block.{0,1}``."""

    def __init__(
        self, cin: int, cout: int, kernel: int, stride: int, padding: int, output_padding: int = 0
    ) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ConvTranspose2d(cin, cout, kernel, stride, padding, output_padding),
            nn.BatchNorm2d(cout),
        )
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv_block(x))


def _down(
    cin: int, cout: int, n_residual: int, kernel: int = 3, stride: Stride = 2, padding: int = 1
) -> list[nn.Module]:
    """One strided convolution followed by ``n_residual`` same-width residual convolutions."""
    layers: list[nn.Module] = [ConvBN(cin, cout, kernel, stride, padding)]
    layers += [ConvBN(cout, cout, 3, 1, 1, residual=True) for _ in range(n_residual)]
    return layers


def _up(
    cin: int,
    cout: int,
    n_residual: int,
    kernel: int = 3,
    stride: int = 2,
    padding: int = 1,
    output_padding: int = 1,
) -> nn.Sequential:
    """One transposed (upsampling) convolution followed by residual convolutions."""
    layers: list[nn.Module] = [ConvTransposeBN(cin, cout, kernel, stride, padding, output_padding)]
    layers += [ConvBN(cout, cout, 3, 1, 1, residual=True) for _ in range(n_residual)]
    return nn.Sequential(*layers)


class Wav2Lip(nn.Module):
    """Wav2Lip generator (96×96 faces, 80×16 mel windows)."""

    def __init__(self) -> None:
        super().__init__()
        # 96 → 96 → 48 → 24 → 12 → 6 → 3 → 1
        self.face_encoder_blocks = nn.ModuleList(
            [
                nn.Sequential(ConvBN(6, 16, 7, 1, 3)),
                nn.Sequential(*_down(16, 32, 2)),
                nn.Sequential(*_down(32, 64, 3)),
                nn.Sequential(*_down(64, 128, 2)),
                nn.Sequential(*_down(128, 256, 2)),
                nn.Sequential(*_down(256, 512, 1)),
                nn.Sequential(ConvBN(512, 512, 3, 1, 0), ConvBN(512, 512, 1, 1, 0)),
            ]
        )
        # 80×16 → 80×16 → 27×16 → 9×6 → 3×3 → 1×1
        self.audio_encoder = nn.Sequential(
            *_down(1, 32, 2, stride=1),
            *_down(32, 64, 2, stride=(3, 1)),
            *_down(64, 128, 2, stride=3),
            *_down(128, 256, 1, stride=(3, 2)),
            ConvBN(256, 512, 3, 1, 0),
            ConvBN(512, 512, 1, 1, 0),
        )
        # each block's output is concatenated with the matching encoder feature map
        self.face_decoder_blocks = nn.ModuleList(
            [
                nn.Sequential(ConvBN(512, 512, 1, 1, 0)),  # 1×1, +512
                _up(1024, 512, 1, stride=1, padding=0, output_padding=0),  # 3×3, +512
                _up(1024, 512, 2),  # 6×6, +256
                _up(768, 384, 2),  # 12×12, +128
                _up(512, 256, 2),  # 24×24, +64
                _up(320, 128, 2),  # 48×48, +32
                _up(160, 64, 2),  # 96×96, +16
            ]
        )
        self.output_block = nn.Sequential(
            ConvBN(80, 32, 3, 1, 1), nn.Conv2d(32, 3, 1, 1, 0), nn.Sigmoid()
        )

    def encode_faces(self, faces: torch.Tensor) -> list[torch.Tensor]:
        """Face-encoder feature maps (shallow first) for ``faces`` ``[B,6,96,96]``."""
        feats = []
        x = faces
        for block in self.face_encoder_blocks:
            x = block(x)
            feats.append(x)
        return feats

    def decode(self, mel: torch.Tensor, feats: list[torch.Tensor]) -> torch.Tensor:
        """Decode ``mel`` ``[B,1,80,16]`` against face features of batch B (or 1: broadcast)."""
        b = mel.shape[0]
        x = self.audio_encoder(mel)
        for block, feat in zip(self.face_decoder_blocks, reversed(feats), strict=True):
            x = block(x)
            if feat.shape[0] != b:
                feat = feat.expand(b, -1, -1, -1)
            x = torch.cat((x, feat), dim=1)
        return self.output_block(x)

    def forward(self, mel: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
        return self.decode(mel, self.encode_faces(faces))
