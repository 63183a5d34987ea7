"""A small convolutional feature network and a hook-based extractor of its conv activations."""
from torch import nn


def feature_net():
    return nn.Sequential(
        nn.Conv1d(1, 3, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv1d(3, 3, 3, padding=1),
        nn.ReLU(inplace=True),
    )


class ConvActivations:
    """Collects the output of every Conv1d layer of ``net`` on each forward call."""

    def __init__(self, net):
        self.outputs = []
        for layer in net:
            if isinstance(layer, nn.Conv1d):
                layer.register_forward_hook(self._keep)

    def _keep(self, module, inputs, output):
        self.outputs.append(output)

    def take(self):
        outputs, self.outputs = self.outputs, []
        return outputs
