"""A local, Twilio-compatible API server for tests, demos and benchmarks.

Not shipped in the agent archive. Stdlib only. Usage::

    from ue_twilio.sandbox import Sandbox
    with Sandbox() as sb:              # http://127.0.0.1:<ephemeral port>
        ...  # point the client at sb.url with sb.account_sid / sb.auth_token
        assert len(sb.creates("Messages.json")) == 3

Endpoints (form-encoded, HTTP Basic auth with the sandbox's own SID/token, or
with its API key: user ``api_key_sid``, password ``api_key_secret``, the account
taken from the path): ``POST/GET /2010-04-01/Accounts/{sid}/Messages.json``,
``GET …/Messages/{Sid}.json``, ``POST/GET …/Calls.json``,
``GET/POST …/Calls/{Sid}.json`` (POST: call update),
``GET /2010-04-01/Accounts/{sid}.json``, ``GET …/IncomingPhoneNumbers.json``
(three numbers with SMS/MMS/voice capabilities; ``PageSize``/``Page`` paging with
``next_page_uri``) and Messaging v1 ``GET /v1/Services`` (two services, Twilio's
v1 envelope ``{"services": [...], "meta": {...}}`` with absolute page URLs).
``Sandbox.catalog.add_phone_number`` / ``add_service`` add more (see catalog.py).
The pre-flight's and the dry run's questions (compliance.py; configured through
``Sandbox.catalog.compliance`` or ``ue-twilio sandbox --catalog FILE``):
``IncomingPhoneNumbers.json?PhoneNumber=``, ``OutgoingCallerIds.json``,
Messaging v1 ``GET /v1/Services/{MG}``, ``…/Compliance/Usa2p`` (A2P 10DLC
campaign: the first default service's is VERIFIED), ``/v1/Tollfree/Verifications``,
Pricing v1 ``/v1/Messaging/Countries/{ISO}`` and Pricing v2
``/v2/Voice/Numbers/{E.164}`` (fake prices for US, CA, GB, DE, GR).
Studio v2 ``/v2/Flows`` and ``…/Executions`` (see studio.py): each execution
places a call and waits for a keypress (``Sandbox.script_press``).

Replies (Wait For Acknowledgement): ``Sandbox.script_reply(number, text,
after)`` answers the next message to ``number`` from that number ``after``
seconds after it was created (``text`` None: the code on the message's last
line; ``{code}`` in a text stands for it); ``Sandbox.receive`` logs any
inbound message. Inbound messages are ``direction`` ``inbound``, status
``received``, ``date_sent`` = their arrival, and show in the lists and
fetches only from their arrival on.

Lists (``GET …/Messages.json``, ``…/Calls.json``; see ``listing.py``): newest
first, filters Messages ``To``, ``From``, ``DateSent``, ``DateSent<``,
``DateSent>`` (on ``date_sent``, null until sent: a queued message is not
found by a DateSent filter) and Calls ``To``, ``From``, ``Status``,
``ParentCallSid``, ``StartTime…``, ``EndTime…``; dates ``YYYY-MM-DD`` or ISO
date-time, ``<``/``>`` inclusive; ``PageSize`` 1..1000 (default 50), ``Page``,
opaque ``PageToken``; ``next_page_uri``/``previous_page_uri`` are followed
verbatim. Bad dates, PageSize, Page or PageToken: 400/20001.

Call update (``POST …/Calls/{Sid}.json``): ``Status=canceled`` ends a queued or
ringing call as ``canceled`` and leaves a call in progress or final unchanged
(200 with the call, as Twilio documents: canceling "will not affect calls
already in progress"); ``Status=completed`` also hangs up a call in progress
(``completed``), and ends a queued/ringing one as ``canceled``; another Status
is 400/20001 (the sandbox's choice of code); 404/20404 for an unknown call.
``Url``/``Twiml`` alone are accepted and change nothing.

Answers, in order of precedence: 429/20429 beyond ``faults.concurrency_cap``
(``Retry-After`` = ``faults.retry_after`` unless None); 401/20003 for a missing or
wrong SID/token; 404/20404 for an unknown path or a path Account SID other than
the sandbox's (what Twilio answers for an account you cannot see); 403/20403
when ``faults.forbidden``; 405/20004 for other methods; then the endpoint.

Validation of creates (400), checked in this order:
Messages: 21604 no To; 21603 neither From nor MessagingServiceSid; 21701 bad
MessagingServiceSid (not MG+32 hex); 21619 no Body, ContentSid or MediaUrl;
21617 Body over 1600 characters; 21655 bad ContentSid (not HX+32 hex); 21654
ContentVariables without ContentSid; 21656 ContentVariables not a JSON object;
21623 more than 10 MediaUrl; 21620 MediaUrl not http(s); 21211 To not E.164
(optionally ``whatsapp:``-prefixed); 21212 From likewise; 21910 only one of To and
From has the ``whatsapp:`` prefix; 21266 To equals From; 21609 StatusCallback not
http(s); 21624 ValidityPeriod not an integer in 1..36000; 20001 SmartEncoded not
true/false (code guessed: Twilio documents none); then the magic numbers.
Calls: 21201 no To; 21213 no From; 21211 / 21212 To / From not E.164; 21205 not
exactly one of Twiml, Url, ApplicationSid (stricter than Twilio, which ignores
Twiml when Url is also sent) or Url not http(s); 21218 bad ApplicationSid; 32018
Twiml over 4000 characters; 12100 Twiml not well-formed XML or root not
<Response>; 21208 Timeout not an integer in 1..600; 20001 TimeLimit not a positive
integer; 21609 StatusCallback not http(s); 21234 MachineDetection not ``Enable`` /
``DetectMessageEnd`` or MachineDetectionTimeout outside 3..59 (other AMD
parameters such as AsyncAmd are ignored); then the magic numbers.
Unknown parameters are ignored, as Twilio does.

Magic numbers of Twilio's documented test credentials, applied with any credentials:
Messages From +15005550001 → 21212, +15005550007 → 21606, +15005550008 → 21611;
Messages To +15005550001 → 21211, …02 → 21612, …03 → 21408, …04 → 21610,
…09 → 21614 (also behind ``whatsapp:``). Calls From +15005550001 → 21212; Calls To
+15005550001 → 21217, …02 → 21214, …03 → 21215, …04 → 21216.
Coded errors (ours, any five-digit Twilio code CCCCC): To +15005551CCCCC → the
create is refused with CCCCC (400, Messages and Calls); Messages To
+15005552CCCCC → created, then ends ``undelivered`` (``failed`` for 30450 and
63016) with error_code CCCCC.
Deviation: real test credentials refuse every Calls From other than
+15005550006 with 21210; the sandbox accepts any valid E.164 From so that people
can try it with their own numbers. Likewise any valid Messages From is accepted.

Asynchronous outcomes (the create answers 201, the final status comes later):
To +15005550011 → message ``undelivered`` (30003) / call ``no-answer``;
To +15005550012 → message ``failed`` (30008) / call ``busy``;
Calls To +15005550013 → answered by a machine, +15005550014 → by a person,
+15005550015 → detection unsure; all three (and any other number) end
``completed`` after ``in-progress``. ``answered_by`` is null without
MachineDetection, else (from ``in-progress`` on) ``machine_start`` (Enable) or
``machine_end_beep`` (DetectMessageEnd) for a machine, ``human`` for a person
or any other number, ``unknown`` for +15005550015;
anything else → message ``delivered`` / call ``completed``, unless
``Sandbox.set_outcome(number, outcome)`` forces one for resources created later
(message: delivered, undelivered, failed, read; call: completed, busy,
no-answer, failed).

Statuses advance one step per ``status_interval`` seconds, computed when read:
messages queued (``accepted`` with a MessagingServiceSid) → sent → delivered;
failing ones … → sending → failed or … → sent → undelivered; calls queued →
ringing → in-progress → completed, or queued → ringing → no-answer / busy.
``status_interval=0`` makes every resource final at once. ``date_sent`` is set
once a message is ``sent``; a call's ``start_time`` once it is dialled
(``ringing``), ``end_time`` and ``duration`` only when it ``completed``.

``num_segments`` follows the SMS rules (160/153 GSM-7 septets, extension characters
two; 70/67 UCS-2 code units; an escape or surrogate pair never straddles two
segments). ``price`` is null until the status is final, then a fake
-0.00790 USD per segment (0 for a message never sent) or -0.01300 USD per started
minute of an answered call (0 otherwise); ``price_unit`` is USD.

Resources follow the OpenAPI schemas ``api.v2010.account.message`` / ``.call`` /
``api.v2010.account`` (every property present). Deviation: the Account's
``auth_token`` is null, so the token cannot leak through a logged response.

Fault injection: ``Sandbox.faults`` (see ``Faults``) and ``Sandbox.script(kind,
count)`` with the kinds of ``FAULT_KINDS`` (True: the resource is created;
described in ``faults.py``), consumed by create requests only. Among them:
``reset_before`` (dropped before processing: closed with no reply, nothing
created), ``reset_after`` (created, closed with no reply), ``lost_body``
(created; 201 and half the body, then closed), ``stall_body`` (created; 201 and
half the body, then a stall of ``stall_seconds`` before closing).
``Sandbox.script_next_pages(kind, count)`` gives the next later pages of a
Messages or Calls list (requests with a ``PageToken``) one of
``PAGE_FAULT_KINDS`` (the kinds that create nothing): a list failing mid-way.
``Sandbox.status_interval`` may be changed while it runs. Every fault is
also reachable from ``ue-twilio sandbox`` (``--help``).
The journal (``Sandbox.journal``, ``creates``, ``dump_journal``) records every
request, Authorization headers removed.
"""

from .defaults import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_API_KEY_SECRET,
    DEFAULT_API_KEY_SID,
    DEFAULT_AUTH_TOKEN,
)
from .faults import FAULT_KINDS, PAGE_FAULT_KINDS, Faults
from .journal import JournalEntry
from .resources import ASYNC_MAGIC, CALL_OUTCOMES, MESSAGE_OUTCOMES
from .server import Sandbox

__all__ = [
    "ASYNC_MAGIC",
    "CALL_OUTCOMES",
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_API_KEY_SECRET",
    "DEFAULT_API_KEY_SID",
    "DEFAULT_AUTH_TOKEN",
    "FAULT_KINDS",
    "Faults",
    "JournalEntry",
    "MESSAGE_OUTCOMES",
    "PAGE_FAULT_KINDS",
    "Sandbox",
]
