"""django-anymail's webhook URLs, each view wrapped so that a body its parser cannot read is a 400.

Some of anymail's parsers index the JSON they receive without checking its shape (a JSON array posted
to the Mailgun URL raises TypeError), which Django turns into a 500 and the sender retries forever.
The wrapper answers 400 when the view fails before any of our receivers ran (nothing was stored);
a failure after a receiver ran stays a 500, so the ESP retries and the replay is stored once. The
URL of an ESP this deployment has not configured answers 404 instead of anymail's configuration error.
A JSON body nested too deep for the parse (``campaigns.jsonsafe.too_deep``) is a 400 before anymail reads it.
"""

from __future__ import annotations

import functools
import logging

from anymail.exceptions import AnymailConfigurationError
from anymail.urls import urlpatterns as anymail_patterns
from django.http import HttpResponseBadRequest, HttpResponseNotFound
from django.urls import URLPattern

from campaigns.jsonsafe import too_deep

from .events import receivers_ran, reset_receivers

app_name = "anymail"
logger = logging.getLogger(__name__)


def guard(view):
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        reset_receivers()
        if request.method == "POST" and (reason := too_deep(request.body)):
            logger.warning("anymail webhook %s: %s", request.path, reason)
            return HttpResponseBadRequest(f"body: {reason}")
        try:
            return view(request, *args, **kwargs)
        except AnymailConfigurationError as exc:  # before any receiver: nothing was read or stored
            logger.error("anymail webhook %s: not configured here (%s)", request.path, exc)
            return HttpResponseNotFound(f"webhook: {request.path.split('/')[2]} is not configured on this server")
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as exc:
            if receivers_ran():
                raise
            logger.warning("anymail webhook %s: unreadable body (%s: %s)", request.path, type(exc).__name__, exc)
            return HttpResponseBadRequest(f"body: not a {request.path.split('/')[2]} webhook payload")

    return wrapped


urlpatterns = [URLPattern(p.pattern, guard(p.callback), p.default_args, p.name) for p in anymail_patterns]
