from django.core.management.base import BaseCommand, CommandError

from campaigns.controls import ACTIONS, control_set, flags_get
from campaigns.errors import InvalidTransition
from campaigns.models import Campaign


class Command(BaseCommand):
    help = "Flip a control flag: pause|resume|kill|unkill|proof|live, globally or for one campaign (audited)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=ACTIONS)
        parser.add_argument("--campaign-id", type=int, default=None)
        parser.add_argument("--note", default="")

    def handle(self, *args, action: str, campaign_id: int | None, note: str, **options) -> None:
        campaign = None
        if campaign_id is not None:
            campaign = Campaign.objects.filter(pk=campaign_id).first()
            if campaign is None:
                raise CommandError(f"--campaign-id: no campaign with id {campaign_id}")
        try:
            control_set(action=action, actor="cli:control", campaign=campaign, note=note)
        except InvalidTransition as exc:
            raise CommandError(str(exc)) from None
        flags = flags_get(campaign)
        scope = f"campaign {campaign_id}" if campaign else "global"
        mode = f", mode={campaign.mode}" if campaign else f", live={flags.live}"
        self.stdout.write(f"{scope}: paused={flags.paused}, killed={flags.killed}{mode}")
