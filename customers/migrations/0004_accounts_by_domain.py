"""Leads without a company join one by their company domain (the website's host, else the
email's domain unless it is free-mail), as every take-in does since; a missing company is
created. The rule and the free-mail list are copied here as they are today (frozen)."""

import re

from django.db import migrations

FREE_MAIL = frozenset(
    [
     "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "ymail.com", "hotmail.com",
     "hotmail.co.uk", "outlook.com", "live.com", "msn.com", "aol.com", "icloud.com", "me.com",
     "mac.com", "gmx.de", "gmx.net", "gmx.com", "web.de", "t-online.de", "proton.me",
     "protonmail.com", "mail.com", "yandex.ru", "mail.ru", "qq.com", "163.com", "orange.fr",
     "free.fr", "laposte.net", "libero.it",
    ]
)  # fmt: skip
SCHEME_RE = re.compile(r"^[a-z]+://")
CHUNK = 1000


def company_domain(email, website):
    host = SCHEME_RE.sub("", (website or "").strip().lower()).split("/")[0].split(":")[0]
    host = host.removeprefix("www.")
    if host and "." in host and " " not in host and host not in FREE_MAIL:
        return host[:200]
    domain = email.rpartition("@")[2]
    return "" if domain in FREE_MAIL else domain[:200]


def fill_accounts(apps, schema_editor):
    Lead = apps.get_model("leads", "Lead")
    Account = apps.get_model("leads", "Account")
    leads_of = {}
    first_row = {}
    rows = (
        Lead._base_manager.filter(account__isnull=True)
        .order_by("pk")
        .values_list("pk", "email", "website", "company", "industry", "country")
    )
    for pk, email, website, company, industry, country in rows.iterator(chunk_size=5000):
        domain = company_domain(email, website)
        if domain:
            leads_of.setdefault(domain, []).append(pk)
            first_row.setdefault(domain, (company, industry, country))
    domains = list(leads_of)
    for start in range(0, len(domains), CHUNK):
        part = domains[start : start + CHUNK]
        found = dict(Account.objects.filter(domain__in=part).values_list("domain", "pk"))
        missing = [d for d in part if d not in found]
        Account.objects.bulk_create(
            [
                Account(
                    name=(first_row[d][0] or d)[:200],
                    domain=d,
                    industry=first_row[d][1][:100],
                    country=first_row[d][2],
                )
                for d in missing
            ],
            ignore_conflicts=True,
        )
        if missing:
            found.update(Account.objects.filter(domain__in=missing).values_list("domain", "pk"))
        for domain in part:
            Lead._base_manager.filter(pk__in=leads_of[domain], account__isnull=True).update(
                account_id=found[domain]
            )


class Migration(migrations.Migration):
    dependencies = [("customers", "0003_duplicates"), ("leads", "0020_leadevent_tenure")]

    operations = [migrations.RunPython(fill_accounts, migrations.RunPython.noop, elidable=True)]
