"""The sandbox's own credentials: fixed, public, and useless anywhere else."""

DEFAULT_ACCOUNT_SID = "AC5a4db0c5a4db0c5a4db0c5a4db0c5a4d"
DEFAULT_AUTH_TOKEN = "5a4db0c7e57c0ffee5a4db0c7e57c0ff"  # noqa: S105 - sandbox only
# An API key of the sandbox account: Basic user = key SID, password = secret.
DEFAULT_API_KEY_SID = "SK5a4db0c5a4db0c5a4db0c5a4db0c5a4d"
DEFAULT_API_KEY_SECRET = "5a4db0c5ec4e75a4db0c5ec4e75a4db0"  # noqa: S105 - sandbox only
