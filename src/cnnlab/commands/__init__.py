"""One module per `cnnlab` subcommand (listed in order by `cnnlab.cli.COMMANDS`); the options
several of them share, and their checks, are in `cnnlab.commands.options`."""
