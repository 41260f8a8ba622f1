"""Delivery of the outbox: channels that send one notification each (webhook, Expo push) and the
worker that claims due rows, sends them and reports back (badges.claim_notifications and
badges.finish_notifications do every state change, in SQL).

The award never waits for any of this: the outbox row is written in the award's transaction
and delivery happens later, by the job or by one short attempt after the response.
"""
