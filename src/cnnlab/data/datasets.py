"""The named data sets in the MNIST file format: MNIST, Fashion-MNIST and Kuzushiji-MNIST.

All three ship the same four IDX files under the same names (60,000 training and 10,000 test
images of 28x28 grey levels, 10 classes), so one reader serves them all; a set differs only in
where it is downloaded from, the digests its files must match and the names of its classes.

A file is accepted when the SHA-256 of its decompressed bytes matches the set's raw digest, or
when it is a .gz whose own SHA-256 matches the published digest of the original download. Both
are needed: copies recompressed by a packager (the project's Fashion-MNIST, one MNIST file) keep
the data but change the .gz bytes, and for KMNIST no digest of the raw bytes is published.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnlab.data.idx import SHA256 as MNIST_RAW_SHA256
from cnnlab.errors import UserError


@dataclass(frozen=True)
class IdxSet:
    """One named data set in the MNIST file format."""

    name: str  # what --dataset takes, e.g. "fashion-mnist"; also its cache folder's name
    title: str  # how messages and the report name it, e.g. "Fashion-MNIST"
    mirrors: tuple[str, ...]  # base URLs serving `<raw name>.gz`, tried in order
    raw_sha256: dict[str, str | None]  # raw file name -> SHA-256 of its decompressed bytes
    gz_sha256: dict[str, str]  # raw file name -> published SHA-256 of the original .gz
    class_names: tuple[str, ...]
    # Published training-set mean and std after dividing by 255, or None: computed from the
    # training split of each run (MNIST keeps its constants, so its runs stay bit-identical).
    stats: tuple[float, float] | None = None

    @property
    def data_env(self) -> str:
        """The environment variable naming an offline directory: CNNLAB_DATA for MNIST."""
        return "CNNLAB_DATA" if self.name == "mnist" else f"CNNLAB_{self._env_word}_DATA"

    @property
    def mirror_env(self) -> str:
        """The environment variable naming a mirror that replaces the public ones."""
        return f"CNNLAB_{self._env_word}_MIRROR"

    @property
    def _env_word(self) -> str:
        return self.name.upper().replace("-", "_")


# SHA-256 of the original .gz files as torchvision's Ruby port publishes them (three match
# the project's copies byte for byte; its train-images.gz was recompressed).
_MNIST_GZ: dict[str, str] = {
    "train-images-idx3-ubyte": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

# The raw digests were computed from the Debian package's files, whose compressed streams
# are the original ones (only the gzip header differs); Zalando publishes MD5s of the .gz.
_FASHION_RAW: dict[str, str] = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

# SHA-256 of the original .gz downloads as published (what a download must match).
_FASHION_GZ: dict[str, str] = {
    "train-images-idx3-ubyte": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}

# SHA-256 of the original .gz files as torchvision's Ruby port publishes them; not
# confirmed against the files. torchvision publishes their MD5s (bdb82020…, e144d726…,
# 5c965bf0…, 7320c461…), which cannot be checked against these without the files.
_KMNIST_GZ: dict[str, str] = {
    "train-images-idx3-ubyte": "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4",
    "train-labels-idx1-ubyte": "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17",
    "t10k-images-idx3-ubyte": "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5",
    "t10k-labels-idx1-ubyte": "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c",
}

MNIST = IdxSet(
    name="mnist",
    title="MNIST",
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
    raw_sha256=MNIST_RAW_SHA256,
    gz_sha256=_MNIST_GZ,
    class_names=tuple(str(digit) for digit in range(10)),
    stats=(0.1307, 0.3081),
)

FASHION_MNIST = IdxSet(
    name="fashion-mnist",
    title="Fashion-MNIST",
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    raw_sha256=_FASHION_RAW,
    gz_sha256=_FASHION_GZ,
    class_names=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
)

KMNIST = IdxSet(
    name="kmnist",
    title="Kuzushiji-MNIST",
    mirrors=("https://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
    # No digest of KMNIST's decompressed bytes is published, and none could be confirmed here
    # (the files were not at hand): only the original .gz files are accepted.
    raw_sha256=dict.fromkeys(MNIST_RAW_SHA256),
    gz_sha256=_KMNIST_GZ,
    # The romanised names of the ten hiragana, in label order (the set's own classmap).
    class_names=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
)

IDX_SETS: dict[str, IdxSet] = {s.name: s for s in (MNIST, FASHION_MNIST, KMNIST)}


def idx_set(name: str) -> IdxSet:
    """The named set, or a UserError listing the names there are."""
    try:
        return IDX_SETS[name]
    except KeyError:
        raise UserError(
            f"there is no data set named {name!r}; use one of {', '.join(IDX_SETS)} or the "
            "path of a folder of pictures"
        ) from None
