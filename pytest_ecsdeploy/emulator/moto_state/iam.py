"""IAM and STS: the account an access key acts in."""

from __future__ import annotations

# -- accounts --------------------------------------------------------------------------------------------


def account_of_access_key(access_key: str) -> str:
    """The account an access key acts in: an STS AssumeRole key's role account, else moto's default account."""
    from moto.iam.models import get_account_id_from

    return str(get_account_id_from(access_key))
