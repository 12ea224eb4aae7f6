"""One module per `cnnlab` subcommand (see `cnnlab.cli`)."""


def comma_separated(text: str) -> tuple[str, ...]:
    """`--models cnn2, cnn3` -> ("cnn2", "cnn3"): a comma-separated option as a tuple of names."""
    return tuple(name.strip() for name in text.split(",") if name.strip())
