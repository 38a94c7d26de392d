"""The playbook: the agreement as a page every signed-in user can read and print."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from leads.stages import Stage

from .models import Agreement, Channel


@login_required
def playbook(request: HttpRequest) -> HttpResponse:
    context = {
        "agreement": Agreement.current(),
        "stages": Stage.choices,
        "channels": Channel.objects.filter(is_active=True),
    }
    return render(request, "agreements/playbook.html", context)
