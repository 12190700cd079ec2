"""Profiles are data: the built-in dogcat, user files that add or override, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.aws.registry import RESOURCE_TYPES
from bot.profiles import ProfileError, load_profiles

KNOWN = frozenset(RESOURCE_TYPES)


def test_builtin_dogcat_is_the_chapter() -> None:
    dogcat = load_profiles(None, KNOWN)["dogcat"]
    assert dogcat.find["lambda.function"].names == ("InvokeModelLambda", "SaveHistoryLambda")
    assert dogcat.find["dynamodb.table"].names == ("PredictionHistory",)
    assert dogcat.find["sagemaker.endpoint"].prefixes == ("dogcat-endpoint-",)
    assert dogcat.find["s3.bucket"].expand("eu-west-1", "111122223333").names == ("sagemaker-eu-west-1-111122223333",)
    table = dogcat.find["dynamodb.table"]
    assert table.matches("PredictionHistory") and not table.matches("PredictionHistoryArchive")
    function = dogcat.find["lambda.function"]
    assert not function.matches("InvokeModelLambdaV2")
    assert not dogcat.find["apigateway.rest-api"].matches("MLInferenceAPI-prod")
    assert dogcat.follows("sagemaker.model", "bucket") and not dogcat.follows("lambda.function", "bucket")


def test_user_file_adds_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "profiles.toml"
    path.write_text(
        '[lab]\ndescription = "a lab"\n[lab.find."dynamodb.table"]\nnames = ["LabTable"]\n'
        '[dogcat.find."dynamodb.table"]\nnames = ["OnlyThis"]\n'
    )
    profiles = load_profiles(path, KNOWN)
    assert profiles["lab"].find["dynamodb.table"].names == ("LabTable",)
    assert list(profiles["dogcat"].find) == ["dynamodb.table"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[lab\n", r"profiles\.toml: not valid TOML: .*line 1"),
        (
            '[lab]\n[lab.find."ec2.instance"]\nnames = ["x"]\n',
            r"profiles\.toml, line 2: profile 'lab': unknown resource type",
        ),
        ('[lab]\n[lab.find."lambda.function"]\nnames = "x"\n', r"line 2: .*must be a list of non-empty strings"),
        ('[lab]\ndescription = "x"\n', r"needs a non-empty find table"),
        (
            '[lab]\n[lab.find."lambda.function"]\nnames = ["x"]\n[lab.follow]\n"lambda.function" = ["friends"]\n',
            r"unknown relation 'friends'",
        ),
        ("[lab]\nfind = 3\nshape = 1\n", r"line 3: .*unknown key 'shape'"),
    ],
)
def test_malformed_file_names_file_line_and_problem(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "profiles.toml"
    path.write_text(text)
    with pytest.raises(ProfileError, match=expected):
        load_profiles(path, KNOWN)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read the profiles file"):
        load_profiles(tmp_path / "nope.toml", KNOWN)
