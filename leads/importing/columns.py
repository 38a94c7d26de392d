"""Importable columns: each a small class that finds, cleans and assigns one lead field.

Shared by the list import and web-to-lead, so a cell and a form field are cleaned alike.
"""

from __future__ import annotations

import datetime as dt
import re

import pycountry
from django.utils import timezone

from leads.models import Lead, normalize_email


class RowError(ValueError):
    """A cell that cannot be imported; the message is shown with its row and column."""


EMAIL_RE = re.compile(
    # The WHATWG rule browsers use for <input type=email>, plus a dot in the domain;
    # letters may be any script's (internationalised addresses, RFC 6531).
    r"^[\w.!#$%&'*+/=?^`{|}~-]+@[^\W_](?:[\w-]{0,61}[^\W_])?"
    r"(?:\.[^\W_](?:[\w-]{0,61}[^\W_])?)+$"
)
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SPACE_RE = re.compile(r"\s+")


def single_line(value: str) -> str:
    """Cell text as one line: control characters dropped, runs of whitespace collapsed."""
    if value.isprintable() and "  " not in value:
        # Printable text holds no control character and no whitespace but " ".
        return value.strip()
    return SPACE_RE.sub(" ", CONTROL_RE.sub("", value)).strip()


class Column:
    """One importable column: how to find it, clean it and put it on the lead."""

    identifier = ""
    label = ""
    lead_field: str | None = None
    max_length: int | None = None
    aliases: tuple[str, ...] = ()
    # An identity field (the email) rejects a cell too long for it; any other is cut to fit.
    cut_to_fit = True

    def fit(self, value: str) -> tuple[str, str]:
        """The cleaned value and a warning ("" when none): a cell too long for its field
        is cut to fit, so the lead is kept with what fits. Raises RowError as clean does."""
        warning = ""
        if self.cut_to_fit and self.max_length and len(value) > self.max_length:
            value = single_line(value)
            if len(value) > self.max_length:
                warning = (
                    f"{self.label} was cut to its first {self.max_length} characters "
                    f"(it had {len(value)})."
                )
                value = value[: self.max_length].rstrip()
        return self.clean(value), warning

    def clean(self, value: str) -> str:
        """The cleaned value ("" when empty); raise RowError when it cannot be used."""
        value = single_line(value)
        if self.max_length and len(value) > self.max_length:
            raise RowError(
                f"{self.label} is too long ({len(value)} characters; at most {self.max_length})."
            )
        return value

    def assign(self, value: str, values: dict[str, str]) -> None:
        if value and self.lead_field:
            values[self.lead_field] = value


def _field_length(name: str) -> int:
    return Lead._meta.get_field(name).max_length


class TextColumn(Column):
    def __init__(self, identifier: str, label: str, *aliases: str) -> None:
        self.identifier = identifier
        self.label = label
        self.lead_field = identifier
        self.max_length = _field_length(identifier)
        self.aliases = aliases


class EmailColumn(Column):
    identifier = "email"
    label = "Email"
    lead_field = "email"
    max_length = 254
    cut_to_fit = False
    aliases = (
        "email", "e-mail", "email address", "e-mail address", "work email", "business email",
        # German, French, Spanish
        "e-mail-adresse", "email-adresse", "mail", "courriel", "adresse e-mail",
        "adresse email", "adresse électronique", "correo", "correo electrónico",
        "correo electronico", "email de trabajo",
    )  # fmt: skip

    def clean(self, value: str) -> str:
        value = single_line(value)
        if value.lower().startswith("mailto:"):
            value = value[7:]
        value = normalize_email(value.strip("<>\"' "))
        if not value:
            return ""
        if len(value) > self.max_length:
            raise RowError(f"Email is too long ({len(value)} characters; at most 254).")
        if not EMAIL_RE.match(value) or ".." in value:
            raise RowError(f"Email “{value[:80]}” is not a valid address.")
        return value


EMAIL_COLUMN = EmailColumn()


def is_email_address(value: str) -> bool:
    """Whether a cell holds an email address, by the Email column's own rule."""
    try:
        return bool(EMAIL_COLUMN.clean(value))
    except RowError:
        return False


class FullNameColumn(Column):
    """A single name cell ("Ada Lovelace"), split when first and last name are missing."""

    identifier = "full_name"
    label = "Full name (split into first and last)"
    max_length = 201
    aliases = (
        "name", "full name", "contact name", "contact full name", "lead name",
        "vollständiger name", "nom complet", "nombre completo",
    )  # fmt: skip

    def assign(self, value: str, values: dict[str, str]) -> None:
        if not value or values.get("first_name") or values.get("last_name"):
            return
        value = re.sub(r"\s*\(.*\)\s*$", "", value) or value  # Zoom: "Ada (Ada L.)"
        first, _, last = value.partition(" ")
        values["first_name"] = first[: _field_length("first_name")]
        if last.strip():
            values["last_name"] = last.strip()[: _field_length("last_name")]


class CountryColumn(Column):
    """Country names or codes → ISO 3166 alpha-2; names it does not know are left empty."""

    identifier = "country"
    label = "Country"
    lead_field = "country"
    max_length = 100
    aliases = ("country", "country code", "country/region", "land", "pays", "país", "pais")

    def fit(self, value: str) -> tuple[str, str]:
        """The ISO code, and a warning when the cell names no country we know: the lead is
        kept with its country left empty."""
        text = single_line(value)
        code = country_code(text)
        if text and not code:
            return "", f"Country “{text[:80]}” is not one we know; left empty."
        return code, ""

    def clean(self, value: str) -> str:
        value = super().clean(value)
        return country_code(value)


class PhoneColumn(Column):
    identifier = "phone"
    label = "Phone"
    lead_field = "phone"
    max_length = 50
    aliases = (
        "phone", "phone number", "telephone", "mobile", "mobile phone", "direct phone",
        "telefon", "telefonnummer", "handy", "mobil", "mobiltelefon", "téléphone",
        "numéro de téléphone", "portable", "teléfono", "telefono", "móvil", "movil", "celular",
    )  # fmt: skip

    def clean(self, value: str) -> str:
        value = super().clean(value)
        if value.endswith(".0") and value[:-2].isdigit():
            value = value[:-2]  # a number that went through a spreadsheet as a float
        return value


class WebsiteColumn(Column):
    identifier = "website"
    label = "Website"
    lead_field = "website"
    max_length = 200
    aliases = (
        "website", "company website", "web site", "url", "domain", "company domain",
        "webseite", "internetseite", "site web", "site internet", "sitio web", "página web",
    )  # fmt: skip


# Date formats the tools write, tried in this order after ISO 8601 (US month-first
# before day-first for slashed dates, as Zoom, HubSpot and Salesforce write them).
DATE_FORMATS = (
    "%b %d, %Y %H:%M:%S", "%b %d, %Y %I:%M:%S %p", "%b %d, %Y %H:%M", "%b %d, %Y %I:%M %p",
    "%b %d, %Y", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M", "%m/%d/%Y", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y",
    "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M",
    "%d-%m-%Y", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d",
)  # fmt: skip


def parse_when(value: str) -> dt.datetime | None:
    """A cell's date and time (aware; a time without zone is in the site's time zone),
    or None when it is not one we can read."""
    text = value.strip().removesuffix(" UTC").replace(" GMT", "")
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        when = None
        for pattern in DATE_FORMATS:
            try:
                when = dt.datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
    if when is None:
        return None
    if timezone.is_naive(when):
        when = timezone.make_aware(when, timezone.get_current_timezone())
    return when


class ActivityTimeColumn(Column):
    """When the touch happened (registration, attendance, form date): the time of the
    lead's "appeared in list" activity and touch point; the import's time without it."""

    identifier = "activity_time"
    label = "Time of the touch (registration, attendance, form date)"
    max_length = 100
    aliases = (
        "registration time", "registration date", "registered at", "registered on",
        "join time", "attended at", "attendance date", "attendance time", "form date",
        "form submitted at", "submitted at", "submission date", "submitted on", "touch date",
        "activity date", "anmeldezeit", "anmeldedatum", "registrierungsdatum",
        "date d'inscription", "date d'enregistrement", "fecha de registro",
        "fecha de inscripción",
    )  # fmt: skip

    def fit(self, value: str) -> tuple[str, str]:
        """The time as ISO 8601 ("" without one), and a warning when it cannot be used:
        the row is kept, dated at the import's time."""
        try:
            return self.clean(value), ""
        except RowError as exc:
            return "", f"{exc} The import's time is used."

    def clean(self, value: str) -> str:
        text = single_line(value)[:100]
        if not text:
            return ""
        when = parse_when(text)
        if when is None:
            raise RowError(f"“{text[:40]}” is not a date we can read.")
        if when > timezone.now():
            raise RowError(f"{text[:40]} is in the future.")
        return when.isoformat()

    def assign(self, value: str, values: dict[str, str]) -> None:
        if value:
            values["activity_time"] = value


COLUMNS: dict[str, Column] = {
    c.identifier: c
    for c in (
        EMAIL_COLUMN,
        TextColumn(
            "first_name",
            "First name",
            "first name",
            "firstname",
            "given name",
            "vorname",
            "prénom",
            "prenom",
            "nombre",
        ),
        TextColumn(
            "last_name",
            "Last name",
            "last name",
            "lastname",
            "surname",
            "family name",
            "nachname",
            "familienname",
            "nom",
            "nom de famille",
            "apellido",
            "apellidos",
        ),
        FullNameColumn(),
        TextColumn(
            "title",
            "Job title",
            "title",
            "job title",
            "position",
            "role",
            "titel",
            "jobtitel",
            "berufsbezeichnung",
            "funktion",
            "poste",
            "fonction",
            "titre",
            "intitulé du poste",
            "cargo",
            "puesto",
            "título",
            "titulo",
        ),
        TextColumn(
            "company",
            "Company",
            "company",
            "company name",
            "organization",
            "organisation",
            "firma",
            "firmenname",
            "unternehmen",
            "société",
            "societe",
            "entreprise",
            "nom de l'entreprise",
            "empresa",
            "compañía",
            "compania",
            "organización",
        ),
        PhoneColumn(),
        CountryColumn(),
        TextColumn(
            "industry",
            "Industry",
            "industry",
            "sector",
            "branche",
            "industrie",
            "secteur",
            "secteur d'activité",
            "industria",
        ),
        WebsiteColumn(),
        ActivityTimeColumn(),
    )
}

# Lead fields an import may fill (only when empty on an existing lead).
FILL_FIELDS = (
    "first_name",
    "last_name",
    "title",
    "company",
    "phone",
    "country",
    "industry",
    "website",
)


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


def company_domain(email: str, website: str) -> str:
    """The company's domain: the website's host, else the email's domain unless free-mail."""
    host = SCHEME_RE.sub("", (website or "").strip().lower()).split("/")[0].split(":")[0]
    host = host.removeprefix("www.")
    if host and "." in host and " " not in host and host not in FREE_MAIL:
        return host[:200]
    domain = email.rpartition("@")[2]
    return "" if domain in FREE_MAIL else domain[:200]


# --- Countries -------------------------------------------------------------------

# What people write that ISO 3166 does not: short forms, parts of a country, own-language names.
COUNTRY_ALIASES = {
    "uk": "GB", "u.k.": "GB", "great britain": "GB", "britain": "GB", "england": "GB",
    "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "usa": "US", "u.s.": "US", "u.s.a.": "US", "america": "US",
    "united states of america": "US",
    "uae": "AE", "holland": "NL", "the netherlands": "NL", "korea": "KR",
    "republic of korea": "KR", "russia": "RU", "turkey": "TR", "vietnam": "VN",
    "czech republic": "CZ", "people's republic of china": "CN",
    "deutschland": "DE", "españa": "ES", "italia": "IT", "nederland": "NL", "belgië": "BE",
    "belgique": "BE", "schweiz": "CH", "suisse": "CH", "österreich": "AT", "sverige": "SE",
    "norge": "NO", "danmark": "DK", "suomi": "FI", "polska": "PL", "méxico": "MX",
    "brasil": "BR",
}  # fmt: skip


def _country_names() -> dict[str, str]:
    """Every spelling we accept (lower-case) → ISO 3166-1 alpha-2."""
    names: dict[str, str] = {}
    for country in pycountry.countries:
        for attribute in ("alpha_2", "alpha_3", "name", "common_name", "official_name"):
            value = getattr(country, attribute, None)
            if value:
                names.setdefault(value.lower(), country.alpha_2)
    names.update(COUNTRY_ALIASES)
    return names


COUNTRY_NAMES = _country_names()


def country_code(value: str) -> str:
    """ISO 3166-1 alpha-2 code for a country name or code; "" when unknown."""
    text = value.strip().lower()
    if not text:
        return ""
    return COUNTRY_NAMES.get(text, COUNTRY_NAMES.get(text.removeprefix("the "), ""))
