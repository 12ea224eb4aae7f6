"""Errors meant for the person at the keyboard.

A `UserError` carries one sentence that says what is wrong and what to do. The CLI prints it
without a traceback and exits with code 2. Anything else is a bug and may raise.
"""


class UserError(Exception):
    """Bad input from the user or the environment (missing data, corrupt file, bad checkpoint)."""

    exit_code = 2
