"""`python -m dealersync`: the same as the `dealersync` command."""

from dealersync.cli import app

app(prog_name="dealersync")
