"""A network made faster for inference on the CPU, with the same weights and the same answers
(to float rounding): batch norm folded into the convolution before it, and channels-last
memory, which oneDNN's convolutions run faster. Measured with one thread on the connect four
AlphaZero network (2 blocks, 32 filters): see ``python benchmarks/alphazero_selfplay.py
speed`` and docs/learners.md.

Why these and not others: both are exact rewrites that torch ships (``torch.fx``). A frozen
TorchScript trace was faster still at small batches, but ``torch.jit`` is deprecated (and
breaks on Python 3.14); ``torch.compile`` needs a C++ toolchain and tens of seconds per new
set of weights; ONNX Runtime is one more large dependency for the same kernels; quantisation
would change the answers. Training keeps the eager network: a fast copy is made from it after
each change of weights, and only for evaluation mode on the CPU.
"""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn


def fast_copy(network: nn.Module, example: torch.Tensor) -> nn.Module:
    """A faster copy of ``network`` (in evaluation mode, on the CPU), checked on ``example``;
    the network itself where it cannot be rewritten (a layer torch.fx cannot trace), so a
    caller never has to care."""
    if any(parameter.device.type != "cpu" for parameter in network.parameters()):
        return network
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # the module imports torch.utils.mkldnn, whose import warns that torch.jit is
            # deprecated; fuse itself uses torch.fx only
            warnings.simplefilter("ignore")
            from torch.fx.experimental.optimization import fuse

            folded = fuse(copy.deepcopy(network).eval()).to(memory_format=torch.channels_last)
            folded(example)
        return folded
    except Exception:  # noqa: BLE001 - any failure leaves the eager network, which is correct
        return network
