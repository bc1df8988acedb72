"""A network made faster for inference on the CPU, with the same weights and the same answers
(to float rounding): batch norm folded into the convolution before it (``torch.fx``), then the
folded graph run by ONNX Runtime. Measured with one thread on the connect four AlphaZero network
(2 blocks, 32 filters): see ``python benchmarks/alphazero_selfplay.py speed`` and
docs/learners.md.

Why these: folding is an exact rewrite that torch ships. ONNX Runtime ran the folded network
1.6-2.0x faster than torch at 16-256 positions a call (self-play's batches) and 4.8x at one
(an agent's move), answers within 2e-7 of the eager network (``python
benchmarks/alphazero_selfplay.py network``, 2026-12-07, the 2-core machine); exporting costs
a fraction of a second per new set of weights. A
frozen TorchScript trace was also faster at small batches, but ``torch.jit`` is deprecated;
``torch.compile`` needs a C++ toolchain and tens of seconds per new set of weights; quantisation
would change the answers. Only a graph that ``torch.fx`` could trace symbolically is exported
(so no data-dependent branch is frozen into it), and the copy is checked against the folded
network on a batch it was not traced with; any failure (no onnxruntime, an operator it lacks)
leaves the folded torch network, and where folding fails too, the eager one. Training keeps the
eager network: a fast copy is made from it after each change of weights, and only for
evaluation mode on the CPU.
"""

from __future__ import annotations

import copy
import io
import warnings
from typing import Any

import torch
from torch import nn


def fast_copy(network: nn.Module, example: torch.Tensor) -> Any:
    """A faster copy of ``network`` (in evaluation mode, on the CPU), checked on ``example``
    and another batch: an ``OnnxRunner`` where ONNX Runtime can run it, else the folded torch
    network, else the network itself (a layer torch.fx cannot trace), so a caller never has
    to care. Whatever it returns is called like the network on a float batch."""
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
    except Exception:  # noqa: BLE001 - any failure leaves the eager network, which is correct
        return network
    return OnnxRunner.of(folded, example) or folded


class OnnxRunner:
    """A traced network run by ONNX Runtime on CPU tensors: called with a float batch, it
    answers what the network would (tensors; a tuple where the network returns several)."""

    def __init__(self, session: Any, outputs: int) -> None:
        self.session = session
        self.outputs = outputs

    @classmethod
    def of(cls, folded: nn.Module, example: torch.Tensor) -> OnnxRunner | None:
        """``folded`` (a ``torch.fx`` graph: no data-dependent branches) exported and loaded,
        with as many threads as torch uses, if its answers match the network's on a batch of
        3 random inputs; None otherwise."""
        try:
            import onnxruntime

            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the exporter's TorchScript deprecation notes
                reference = folded(example)
                outputs = len(reference) if isinstance(reference, tuple) else 1
                names = [f"output{index}" for index in range(outputs)]
                buffer = io.BytesIO()
                torch.onnx.export(folded, (example,), buffer, input_names=["input"],
                                  output_names=names, dynamo=False,
                                  dynamic_axes={name: {0: "batch"}
                                                for name in ["input", *names]})
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = torch.get_num_threads()
            options.inter_op_num_threads = 1
            runner = cls(onnxruntime.InferenceSession(buffer.getvalue(), options,
                                                      providers=["CPUExecutionProvider"]),
                         outputs)
            probe = torch.randn((3, *example.shape[1:]),
                                generator=torch.Generator().manual_seed(0))
            with torch.no_grad():
                expected = folded(probe)
            got = runner(probe)
            pairs = zip(expected, got, strict=True) if outputs > 1 else [(expected, got)]
            if all(torch.allclose(mine, theirs, atol=1e-4, rtol=1e-4) for mine, theirs in pairs):
                return runner
        except Exception:  # noqa: BLE001, S110 - no onnxruntime or an unsupported graph
            pass
        return None

    def __call__(self, batch: torch.Tensor) -> Any:
        answers = self.session.run(None, {"input": batch.detach().cpu().float().numpy()})
        tensors = tuple(torch.from_numpy(answer) for answer in answers)
        return tensors if self.outputs > 1 else tensors[0]
