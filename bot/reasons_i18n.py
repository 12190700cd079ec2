"""The core's reasons in the reader's language, translated where they are shown.

The core and AWS layers write their reasons ("kept because ...", "tagged cleanup:protect=true since the scan") as
English facts, and plans, results and the audit store them so. Slack and the CLI show them through
`translate_reason(text, lang)`: the text is cut where the core joins reasons ("; "), each part is matched against
the English templates below (every reason the core and AWS modules write, with {named} placeholders), and the
matching template is rendered in the reader's language with the captured values. Values that are themselves
reasons (a guard, a problem, what an account refused) are translated the same way; names, regions, error codes and
AWS's own messages stay as they are. A part no template matches stays English: nothing is ever lost.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.i18n import DEFAULT_LANGUAGE, LABELS, N_, NP_, Translator, translator

# Every reason the core (bot/core) and AWS (bot/aws) layers write, in their English words. A new reason there needs
# its template here (tests/i18n/test_reasons.py runs the producers and fails on an unmatched part).
TEMPLATES: tuple[str, ...] = (
    # bot/profiles and bot/core/scanner.py: why a resource is in the plan
    N_("name matches the profile"),
    N_("name starts with {prefix}"),
    N_("config of {label} {name}"),
    N_("model of {label} {name}"),
    N_("role of {label} {name}"),
    N_("bucket of {label} {name}"),
    N_("log group of {label} {name}"),
    N_("approved prefix of the shared bucket {bucket}"),
    # bot/core/scanner.py: why a resource is kept
    N_("tagged cleanup:protect=true"),
    N_("the app never switches AWS's guards off"),
    N_("could not check whether it is still used: {problem}"),
    N_("used by {label} {name} in {region}, which is kept"),
    N_("used by {label} {name}, which is kept"),
    N_("still used by {label} {name} in {region}, which is not in the plan"),
    N_("still used by {label} {name}, which is not in the plan"),
    N_("kept because its readers there are unknown"),
    N_("shared: {holdings}"),
    N_("it also holds {prefixes}, which the plan does not account for"),
    N_("it also holds {prefixes} and {more} more prefixes, which the plan does not account for"),
    N_(
        "it also holds {prefixes} (the listing was cut short: it holds more than was read), which the plan does not "
        "account for"
    ),
    N_(
        "it also holds {prefixes} and {more} more prefixes (the listing was cut short: it holds more than was "
        "read), which the plan does not account for"
    ),
    N_("it holds more, which the plan does not account for"),
    N_("it holds more (the listing was cut short: it holds more than was read), which the plan does not account for"),
    N_("only the approved objects under {prefixes} are deleted"),
    N_("could not re-check its use by {labels} in {region}: {code}"),
    N_("now used by {label} {name} in {region}, not in the plan"),
    # bot/core/plan.py: a part of the account the scan could not check (ScanProblem)
    N_("{label} in {region}: {code}: {message}"),
    N_("{label} in {region} of account {account}: {code}: {message}"),
    # bot/core/usage.py: roles and buckets proven unused
    N_("cannot prove it is unused: trusted by {principals}, which the app cannot list"),
    N_("a trust policy the app did not read"),
    N_("the service {service}"),
    N_("kept because its users there are unknown"),
    N_("could not check {listers} in {region}: {code}"),
    N_("could not check {listers} in {region}: {code} (and {n} more listings)"),
    N_("could not list the account's enabled regions: {code}"),
    N_("still used by {label} {name} in {region}, not in the plan"),
    N_("still used by {label} {name} in {region}, which changed since the scan"),
    # bot/core/keeps.py
    N_("tagged cleanup:keep-until={value}, which is not a date (YYYY-MM-DD): kept"),
    N_("tagged cleanup:keep-until={date}"),
    N_("kept until {date} by {user}"),
    # bot/core/executor.py: why a resource was skipped, failed, or waits
    N_("not deleted: this run was handed to another runner, which carries on"),
    N_("could not confirm the AWS account ({code}: {message})"),
    N_("credentials now point at account {account}, the plan is for {plan_account}"),
    N_("nothing deleted"),
    N_("dependency cycle in the plan"),
    N_("kept because {label} {name} was not deleted ({status})"),
    N_("waiting for its turn: AWS allows one such deletion per {seconds} s per account"),
    N_("kept after waiting {seconds} s"),
    N_("still exists after {seconds} s of waiting (status {status})"),
    N_("timed out waiting for AWS"),
    N_("deletion started, waiting until AWS has finished"),
    N_("AWS asked to wait: {message}"),
    N_("could not read the owners' keep-until answers ({error}); kept"),
    N_("{reason} since the scan"),
    N_("re-created or changed since the scan (identity differs)"),
    N_("not the resource that was approved"),
    N_("it is gone"),
    # bot/aws: guards and refusals
    N_("deletion protection is on"),
    N_("Object Lock is enabled"),
    N_("MFA Delete is enabled"),
    N_("its bucket policy denies {action}"),
    N_("an action (the policy cannot be read)"),
    N_("every action but a few (NotAction)"),
    N_(
        "{left} object versions or uploads were written after the scan or lie outside what was approved; they were "
        "not deleted, so the bucket stays"
    ),
    N_("stopped emptying: {reason}"),
    N_("could not check the custom domains in {region}: {error}"),
    N_("cannot prove none maps it"),
    N_("deleting it would break custom domain {domains}, which maps it"),
    N_("deleting it would break custom domains {domains}, which map it"),
    N_("{guard} (seen right before deleting)"),
    N_("endpoint is Creating; AWS refuses to delete it until it is InService or Failed"),
    N_("endpoint is Updating; AWS refuses to delete it until the update ends (InService or Failed)"),
    N_("endpoint is SystemUpdating (AWS maintenance); AWS refuses to delete it until maintenance ends"),
    N_("endpoint is RollingBack a scaling change; AWS refuses to delete it until it is InService again"),
    N_("AWS refuses to delete the endpoint for now ({message})"),
    N_("inference component {names} on this endpoint appeared after the scan and was not approved"),
    N_("inference components {names} on this endpoint appeared after the scan and were not approved"),
    N_("the endpoint is kept"),
    N_("AWS refuses to delete the endpoint while inference components live on it; deleting them first: {names}"),
    N_("SageMaker endpoint {name} could not be deleted: status Failed: {message}"),
    # bot/core/accounts.py: accounts of a fleet
    N_("account {account}: {reason}"),
    N_("nothing deleted in it"),
    N_("no AWS credentials to assume its role with"),
    N_("could not assume {role}: {code}: {message}"),
    N_("could not assume {role}: {error}"),
    N_("its credentials point at account {account}; not scanned"),
    # bot/core/scanner.py, accounts.py: why a scan could not start
    N_("no AWS credentials found (set them the way boto3 reads them)"),
    N_("cannot reach AWS to identify the account: {code}: {message}"),
)

# Who uses a role or bucket (bot/aws/usage.py's kinds) beyond the resource types of bot/i18n.py's LABELS.
USE_KINDS: dict[str, tuple[str, str]] = {
    "EC2 instance": NP_("EC2 instance", "EC2 instances"),
    "Step Functions state machine": NP_("Step Functions state machine", "Step Functions state machines"),
    "EventBridge schedule": NP_("EventBridge schedule", "EventBridge schedules"),
    "SageMaker notebook instance": NP_("SageMaker notebook instance", "SageMaker notebook instances"),
    "SageMaker Studio domain": NP_("SageMaker Studio domain", "SageMaker Studio domains"),
    "SageMaker Studio user profile": NP_("SageMaker Studio user profile", "SageMaker Studio user profiles"),
    "SageMaker pipeline": NP_("SageMaker pipeline", "SageMaker pipelines"),
    "SageMaker feature group": NP_("SageMaker feature group", "SageMaker feature groups"),
    "SageMaker model package": NP_("SageMaker model package", "SageMaker model packages"),
    "SageMaker training job in progress": NP_(
        "SageMaker training job in progress", "SageMaker training jobs in progress"
    ),
    "SageMaker processing job in progress": NP_(
        "SageMaker processing job in progress", "SageMaker processing jobs in progress"
    ),
    "SageMaker transform job in progress": NP_(
        "SageMaker transform job in progress", "SageMaker transform jobs in progress"
    ),
    "SageMaker tuning job in progress": NP_("SageMaker tuning job in progress", "SageMaker tuning jobs in progress"),
    "SageMaker AutoML job in progress": NP_("SageMaker AutoML job in progress", "SageMaker AutoML jobs in progress"),
}
# Listings named whole by bot/aws/usage.py (the others are a kind's label with an "s").
LISTINGS: dict[str, str] = {
    "Lambda functions and versions": N_("Lambda functions and versions"),
    "EC2 instances (instance profiles)": N_("EC2 instances (instance profiles)"),
    "Step Functions state machines": N_("Step Functions state machines"),
    "EventBridge Scheduler schedules": N_("EventBridge Scheduler schedules"),
}
# A blocker's result status, as kept in "kept because ... was not deleted (skipped)".
STATUS_WORDS: dict[str, str] = {
    "deleted": N_("deleted"),
    "already_gone": N_("already gone"),
    "skipped": N_("skipped"),
    "failed": N_("failed"),
}

JOIN = "; "  # how the core joins the parts of one reason
_NESTED = frozenset({"reason", "guard", "problem", "holdings"})  # placeholders that hold a reason
# Placeholders whose values never hold a space: matching them narrowly keeps "{label} {name}" unambiguous.
_NARROW = {
    "region": r"[A-Za-z0-9-]+",
    "code": r"[A-Za-z0-9_.:-]+",
    **{digits: r"\d+" for digits in ("n", "more", "seconds", "left")},
}
# Any other plain value stops at the core's joint, so that "...: {error}; nothing deleted" leaves the last part to
# its own template (an AWS message holding "; " then shows its tail in English, as it is anyway).
_PLAIN = r"(?:(?!; ).)+?"


@dataclass(frozen=True)
class _Template:
    english: str
    pattern: re.Pattern[str]
    specificity: int  # literal characters: the most specific template is tried first


def _label_pattern() -> str:
    known = sorted({*LABELS, *USE_KINDS}, key=len, reverse=True)
    return "(?:" + "|".join(re.escape(k) for k in known) + "|" + _PLAIN + ")"


def _compile(english: str) -> _Template:
    parts = re.split(r"{(\w+)}", english)
    regex, literal = "", 0
    for i, part in enumerate(parts):
        if i % 2 == 0:
            regex += re.escape(part)
            literal += len(part)
        elif part == "label":
            regex += f"(?P<label>{_label_pattern()})"
        elif part in _NESTED:
            regex += f"(?P<{part}>.+?)"
        else:
            regex += f"(?P<{part}>{_NARROW.get(part, _PLAIN)})"
    return _Template(english, re.compile(regex, re.DOTALL), literal)


@functools.cache
def _templates() -> tuple[_Template, ...]:
    unique = dict.fromkeys(TEMPLATES)
    return tuple(sorted((_compile(e) for e in unique), key=lambda t: -t.specificity))


@dataclass
class _Rendering:
    text: str
    unmatched: list[str]


def translate_reason(text: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """`text` (a reason the core wrote) in `lang`; English unchanged, and unknown parts kept in English."""
    if not text or translator(lang).lang == DEFAULT_LANGUAGE:
        return text
    return _render(text, translator(lang)).text


def unmatched_parts(text: str) -> list[str]:
    """The parts of `text` no template matches (they would show in English): for tests and for finding gaps."""
    return _render(text, translator("vi")).unmatched


def _render(text: str, t: Translator) -> _Rendering:
    parts = text.split(JOIN)
    out: list[str] = []
    unmatched: list[str] = []
    i = 0
    while i < len(parts):
        for end in range(len(parts), i, -1):  # the longest run of parts one template matches
            done = _render_one(JOIN.join(parts[i:end]), t)
            if done is not None:
                out.append(done.text)
                unmatched += done.unmatched
                i = end
                break
        else:
            out.append(parts[i])
            unmatched.append(parts[i])
            i += 1
    return _Rendering(JOIN.join(out), unmatched)


def _render_one(text: str, t: Translator) -> _Rendering | None:
    for template in _templates():
        match = template.pattern.fullmatch(text)
        if match is None:
            continue
        values: dict[str, str] = {}
        unmatched: list[str] = []
        for name, value in match.groupdict().items():
            if name in _NESTED:
                nested = _render(value, t)
                values[name], unmatched = nested.text, unmatched + nested.unmatched
            else:
                values[name] = _VALUE_RENDERERS.get(name, _as_is)(value, t)
        return _Rendering(t._(template.english).format(**values), unmatched)
    return None


def _as_is(value: str, _t: Translator) -> str:
    return value


def _label(value: str, t: Translator, n: int = 1) -> str:
    pair = USE_KINDS.get(value)
    if pair is not None:
        return t.n_(pair[0], pair[1], n)  # a plural entry: gettext() of the singular alone would not find it
    return t.label(value, n) if value in LABELS else value


def _labels(value: str, t: Translator) -> str:
    """A plural made by the core with an "s" ("SageMaker models"), in the reader's plural."""
    singular = value[:-1] if value.endswith("s") else value
    return _label(singular, t, 2) if singular in LABELS or singular in USE_KINDS else value


def _listers(value: str, t: Translator) -> str:
    return t._(LISTINGS[value]) if value in LISTINGS else _labels(value, t)


def _status(value: str, t: Translator) -> str:
    return t._(STATUS_WORDS[value]) if value in STATUS_WORDS else value


def _action(value: str, t: Translator) -> str:
    """An IAM action ("s3:DeleteObject") as it is, or the core's words for a policy it could not pin down."""
    worded = _render_one(value, t)
    return worded.text if worded is not None else value


def _principals(value: str, t: Translator) -> str:
    # A list of principals, some of them reasons of their own ("the service x", "a trust policy ..."): none of
    # them holds ", ".
    return ", ".join(_render(p, t).text for p in value.split(", "))


_VERSIONS = re.compile(r"\((\d+) versions, ([^()]*)\)")
_AND_MORE = re.compile(r" and (\d+) more$")


def _prefixes(value: str, t: Translator) -> str:
    """ "data/ (3 versions, 1.2 MB), logs/ (1 versions, 5 KB)": the counts in the reader's words."""
    return _VERSIONS.sub(lambda m: t._("({n} versions, {size})", n=m.group(1), size=m.group(2)), value)


def _domains(value: str, t: Translator) -> str:
    """ "a.example.com (base path /), b.example.com (base paths /v1 and /v2) and 2 more": the joining words."""
    value = _AND_MORE.sub(lambda m: t._(" and {n} more", n=m.group(1)), value)
    return value.replace(" and ", t._(" and "))


_VALUE_RENDERERS: dict[str, Callable[[str, Translator], str]] = {
    "label": _label,
    "labels": _labels,
    "listers": _listers,
    "status": _status,
    "action": _action,
    "principals": _principals,
    "prefixes": _prefixes,
    "domains": _domains,
}
