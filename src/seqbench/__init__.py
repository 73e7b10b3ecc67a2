"""seqbench: temporal convolutional networks vs recurrent networks, on the paper's benchmark suite."""

__version__ = "0.1.0"
