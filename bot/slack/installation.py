"""The installing workspace: the team (and, in Enterprise Grid, the organization) the bot token belongs to.

Only its members may approve a cleanup; a guest from another organization in a shared Slack Connect channel may not
(unless CLEANUP_APPROVERS names them). Slack says who the installation is in `auth.test`, asked once and cached: the
answer does not change while the token lives, and the check runs before a click's 3-second `views.open`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from bot.slack.web import SlackWeb

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Workspace:
    team_id: str
    enterprise_id: str = ""  # set in Enterprise Grid

    def has_team(self, team_id: str) -> bool:
        """Whether an interaction's `user.team_id` is this installation's: the workspace, or in Enterprise Grid the
        organization (Slack reports an E... ID there instead of the workspace's T...)."""
        return bool(team_id) and team_id in {self.team_id, self.enterprise_id} - {""}

    def has_command_from(self, team_id: str, enterprise_id: str) -> bool:
        """Whether a slash command's `team_id` / `enterprise_id` are this installation's."""
        if self.enterprise_id and enterprise_id:
            return enterprise_id == self.enterprise_id
        return bool(team_id) and team_id == self.team_id


class Installation:
    """auth.test for the bot token, once; `workspace()` is None while Slack has not answered (then asked again)."""

    def __init__(self, slack: SlackWeb) -> None:
        self._slack = slack
        self._lock = threading.Lock()
        self._workspace: Workspace | None = None

    def workspace(self) -> Workspace | None:
        with self._lock:
            if self._workspace is None:
                self._workspace = self._ask()
            return self._workspace

    def _ask(self) -> Workspace | None:
        answer, error = self._slack.auth_test()
        if error:
            return None
        team_id = str(answer.get("team_id") or "")
        enterprise_id = str(answer.get("enterprise_id") or "")
        if not team_id and not enterprise_id:
            log.warning("auth.test named no team: approvals are refused until it does")
            return None
        log.info("installed in team %s%s", team_id or "-", f" of enterprise {enterprise_id}" if enterprise_id else "")
        return Workspace(team_id, enterprise_id)
