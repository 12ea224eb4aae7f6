"""cnnlab: convolutional networks from scratch in NumPy, beside the same networks in PyTorch."""

__version__ = "0.1.0"
