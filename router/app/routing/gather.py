"""Burst debounce: the job holding a contact's first message waits until the burst is complete
(app/routing/turns.py says when), then writes it to the store as one turn."""

from datetime import timedelta

import structlog

from app.core import clock
from app.core.clock import utcnow
from app.jobs.leases import LeaseRepository
from app.messages.store import Claim
from app.routing.repository import TurnRepository
from app.routing.turns import burst, joined, seconds_to_wait

log = structlog.get_logger()


class Gatherer:
    def __init__(
        self, turns: TurnRepository, leases: LeaseRepository, lease_seconds: float
    ) -> None:
        self._turns = turns
        self._leases = leases
        self._lease_seconds = lease_seconds

    async def gather(self, claim: Claim, debounce_ms: int) -> tuple[Claim, str] | None:
        """Wait until the contact's burst is complete (app/routing/turns.py), then write it to
        the store as one turn. Returns the turn's last message, which this job holds now, and the
        turn's text; None when another job wrote the turn."""
        head = claim.message
        window = timedelta(milliseconds=debounce_ms)
        while True:
            turn = burst(await self._turns.waiting(head), window)
            wait = seconds_to_wait(turn, window, utcnow())
            if wait <= 0:
                break
            # Keep the message ours while we wait, so no other worker takes it over.
            await self._leases.extend_lease(head.id, wait + self._lease_seconds)
            await clock.sleep(wait)
        last = await self._turns.form_turn(head, [m.id for m in turn], self._lease_seconds)
        if last is None:
            log.warning("message.turn_taken")
            return None
        log.info("message.turn", messages=len(turn), last_message_id=last.message.id)
        return last, joined([m.text for m in turn])
