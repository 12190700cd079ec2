"""CLEANUP_ACCOUNTS and CLEANUP_ASSUME_ROLE, as SPEC section 3 names them."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, Settings


def test_accounts_ids_role_arns_and_organization() -> None:
    settings = Settings.from_env(
        {
            "CLEANUP_ACCOUNTS": " 111111111111, arn:aws:iam::222222222222:role/ops/Cleanup ,Organization,111111111111",
            "CLEANUP_ASSUME_ROLE": "WorkshopCleanup",
        }
    )
    assert settings.accounts == ("111111111111", "arn:aws:iam::222222222222:role/ops/Cleanup", "organization")
    assert settings.assume_role == "WorkshopCleanup"


def test_defaults_are_the_own_account_and_dogcat_cleanup_role() -> None:
    settings = Settings.from_env({})
    assert settings.accounts == () and settings.assume_role == "DogcatCleanupRole"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CLEANUP_ACCOUNTS": "12345"}, "CLEANUP_ACCOUNTS: '12345' is not a 12-digit account ID"),
        ({"CLEANUP_ACCOUNTS": "arn:aws:iam::111111111111:user/bob"}, "is not a 12-digit account ID, a role ARN"),
        ({"CLEANUP_ASSUME_ROLE": "role/with/slash"}, "CLEANUP_ASSUME_ROLE: 'role/with/slash' is not an IAM role"),
    ],
)
def test_bad_accounts_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(env)
    assert message in str(refused.value)
