"""Vendor export formats: the real header names of the files people upload, and the mapping
of a file's headers to our columns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .columns import COLUMNS, SPACE_RE

# Order matters: when several headers of a file map to one column, the first
# non-empty one in this order wins (e.g. Apollo's "Company" before
# "Company Name for Emails", Pipedrive's work email before home email).


@dataclass(frozen=True)
class Preset:
    identifier: str
    label: str
    headers: tuple[tuple[str, str], ...]  # (header as exported, column identifier)
    # Headers only this vendor writes: a file is called its export only with one of them.
    distinctive: tuple[str, ...] = ()


PRESETS: tuple[Preset, ...] = (
    Preset(
        "apollo",
        "Apollo people export",
        (
            ("First Name", "first_name"),
            ("Last Name", "last_name"),
            ("Title", "title"),
            ("Company", "company"),
            ("Company Name for Emails", "company"),
            ("Email", "email"),
            ("Work Direct Phone", "phone"),
            ("Mobile Phone", "phone"),
            ("Corporate Phone", "phone"),
            ("Other Phone", "phone"),
            ("Home Phone", "phone"),
            ("Industry", "industry"),
            ("Website", "website"),
            ("Country", "country"),
            ("Company Country", "country"),
        ),
        distinctive=(
            "Apollo Contact Id",
            "Apollo Account Id",
            "Company Name for Emails",
            "Email Status",
            "Person Linkedin Url",
        ),
    ),
    Preset(
        "zoominfo",
        "ZoomInfo contacts export",
        (
            ("First Name", "first_name"),
            ("Last Name", "last_name"),
            ("Job Title", "title"),
            ("Email Address", "email"),
            ("Direct Phone Number", "phone"),
            ("Mobile phone", "phone"),
            ("Company HQ Phone", "phone"),
            ("Company Name", "company"),
            ("Website", "website"),
            ("Primary Industry", "industry"),
            ("Country", "country"),
            ("Company Country", "country"),
        ),
        distinctive=(
            "ZoomInfo Contact ID",
            "ZoomInfo Company ID",
            "ZoomInfo Contact Profile URL",
            "Company HQ Phone",
            "Direct Phone Number",
        ),
    ),
    Preset(
        "seamless",
        "Seamless.AI export",
        (
            ("First Name", "first_name"),
            ("Last Name", "last_name"),
            ("Contact Full Name", "full_name"),
            ("Title", "title"),
            ("Company Name - Cleaned", "company"),
            ("Company Name", "company"),
            ("Email 1", "email"),
            ("Primary Email", "email"),
            ("Email 2", "email"),
            ("Contact Phone 1", "phone"),
            ("Contact Mobile Phone", "phone"),
            ("Company Phone 1", "phone"),
            ("Company Industry", "industry"),
            ("Website", "website"),
            ("Company Domain", "website"),
            ("Contact Country", "country"),
            ("Company Country", "country"),
        ),
        distinctive=(
            "Company Name - Cleaned",
            "Contact Full Name",
            "Contact LI Profile URL",
            "Email 1 Total AI",
            "Research Date",
        ),
    ),
    Preset(
        "lusha",
        "Lusha contacts export",
        (
            ("First Name", "first_name"),
            ("Last Name", "last_name"),
            ("Full Name", "full_name"),
            ("Job Title", "title"),
            ("Company Name", "company"),
            ("Email 1", "email"),
            ("Work Email", "email"),
            ("Email 2", "email"),
            ("Phone 1", "phone"),
            ("Direct Phone", "phone"),
            ("Mobile Phone", "phone"),
            ("Phone 2", "phone"),
            ("Company Main Industry", "industry"),
            ("Company Industry", "industry"),
            ("Company Domain", "website"),
            ("Company Website", "website"),
            ("Country", "country"),
            ("Contact Country", "country"),
            ("Company Country", "country"),
        ),
        distinctive=("Email 1 Type", "Phone 1 Type", "Company Main Industry"),
    ),
    Preset(
        "hubspot",
        "HubSpot contacts export",
        (
            ("First Name", "first_name"),
            ("Last Name", "last_name"),
            ("Email", "email"),
            ("Phone Number", "phone"),
            ("Mobile Phone Number", "phone"),
            ("Company Name", "company"),
            ("Job Title", "title"),
            ("Country/Region", "country"),
            ("Industry", "industry"),
            ("Website URL", "website"),
        ),
        distinctive=("Record ID", "Lifecycle Stage", "Contact owner", "Website URL"),
    ),
    Preset(
        "salesforce_report",
        "Salesforce leads report",
        (
            ("First Name", "first_name"),
            ("Last Name", "last_name"),
            ("Title", "title"),
            ("Company / Account", "company"),
            ("Company", "company"),
            ("Email", "email"),
            ("Phone", "phone"),
            ("Mobile", "phone"),
            ("Country", "country"),
            ("Country Code", "country"),
            ("Industry", "industry"),
            ("Website", "website"),
        ),
        distinctive=("Company / Account", "Lead Owner", "Lead ID"),
    ),
    Preset(
        "salesforce_export",
        "Salesforce lead export (Data Loader)",
        (
            ("FirstName", "first_name"),
            ("LastName", "last_name"),
            ("Title", "title"),
            ("Company", "company"),
            ("Email", "email"),
            ("Phone", "phone"),
            ("MobilePhone", "phone"),
            ("CountryCode", "country"),
            ("Country", "country"),
            ("Industry", "industry"),
            ("Website", "website"),
        ),
        distinctive=(
            "IsDeleted",
            "MasterRecordId",
            "OwnerId",
            "IsConverted",
            "LeadSource",
            "MobilePhone",
        ),
    ),
    Preset(
        "marketo",
        "Marketo leads export",
        (
            ("First Name", "first_name"),
            ("Last Name", "last_name"),
            ("Email Address", "email"),
            ("Job Title", "title"),
            ("Company Name", "company"),
            ("Phone Number", "phone"),
            ("Mobile Phone Number", "phone"),
            ("Country", "country"),
            ("Industry", "industry"),
            ("Website", "website"),
            ("firstName", "first_name"),
            ("lastName", "last_name"),
            ("email", "email"),
            ("title", "title"),
            ("company", "company"),
            ("phone", "phone"),
            ("country", "country"),
            ("industry", "industry"),
            ("website", "website"),
        ),
        distinctive=(
            "Marketo Unique Id",
            "Lead Score",
            "Unsubscribed",
            "Acquisition Program",
            "Acquisition Program Name",
        ),
    ),
    Preset(
        "pipedrive",
        "Pipedrive people export",
        (
            ("Person - First name", "first_name"),
            ("Person - Last name", "last_name"),
            ("Person - Name", "full_name"),
            ("Person - Email - Work", "email"),
            ("Person - Email - Home", "email"),
            ("Person - Email - Other", "email"),
            ("Person - Email", "email"),
            ("Person - Phone - Work", "phone"),
            ("Person - Phone - Mobile", "phone"),
            ("Person - Phone", "phone"),
            ("Person - Job title", "title"),
            ("Person - Title", "title"),
            ("Person - Organization", "company"),
            ("Organization - Name", "company"),
            ("Organization - Website", "website"),
            ("Organization - Industry", "industry"),
            ("First name", "first_name"),
            ("Last name", "last_name"),
            ("Email - Work", "email"),
            ("Email - Home", "email"),
            ("Email - Other", "email"),
            ("Phone - Work", "phone"),
            ("Phone - Mobile", "phone"),
            ("Organization", "company"),
            ("Job title", "title"),
        ),
        distinctive=(
            "Person - ID",
            "Person - Name",
            "Person - Owner",
            "Person - Label",
            "Person - Email - Work",
            "Person - Organization",
        ),
    ),
    Preset(
        "zoom_registrants",
        "Zoom webinar registration report",
        (
            ("First Name", "first_name"),
            ("Last Name", "last_name"),
            ("Email", "email"),
            ("Country/Region", "country"),
            ("Phone", "phone"),
            ("Organization", "company"),
            ("Job Title", "title"),
            ("Industry", "industry"),
            ("Registration Time", "activity_time"),
        ),
        distinctive=("Registration Time", "Approval Status"),
    ),
    Preset(
        "zoom_attendees",
        "Zoom webinar attendee report",
        (
            ("First Name", "first_name"),
            ("Last Name", "last_name"),
            ("User Name (Original Name)", "full_name"),
            ("Email", "email"),
            ("Organization", "company"),
            ("Job Title", "title"),
            ("Country/Region", "country"),
            ("Country/Region Name", "country"),
            ("Phone", "phone"),
            ("Industry", "industry"),
            ("Join Time", "activity_time"),  # when they attended, else registered
            ("Registration Time", "activity_time"),
        ),
        distinctive=(
            "Join Time",
            "Leave Time",
            "Time in Session (minutes)",
            "Attended",
            "User Name (Original Name)",
        ),
    ),
)
PRESETS_BY_ID = {p.identifier: p for p in PRESETS}


def norm_header(header: str) -> str:
    """Header as compared: BOM, quotes and surrounding spaces gone, lower-case, single
    spaces; an underscore is a space ("first_name" is "first name", as web-to-lead reads it)."""
    text = (header or "").replace("\ufeff", "").replace("_", " ")
    return SPACE_RE.sub(" ", text.strip().strip('"').strip()).lower()


# Every header any preset or column knows → column identifier.
ALIASES: dict[str, str] = {}
for _column in COLUMNS.values():
    for _alias in _column.aliases:
        ALIASES.setdefault(norm_header(_alias), _column.identifier)
for _preset in PRESETS:
    for _header, _identifier in _preset.headers:
        ALIASES.setdefault(norm_header(_header), _identifier)


def detect_preset(headers: Sequence[str]) -> Preset | None:
    """The preset whose headers the file shares most (at least three), among those whose
    distinctive headers it has one of (a generic CSV is no vendor's export), or None."""
    present = {norm_header(h) for h in headers}
    best, best_score = None, 2
    for preset in PRESETS:
        if not any(norm_header(h) in present for h in preset.distinctive):
            continue
        score = sum(1 for header, _ in preset.headers if norm_header(header) in present)
        if score > best_score:
            best, best_score = preset, score
    return best


def auto_mapping(headers: Sequence[str], saved: dict[str, str] | None = None) -> list[str]:
    """For each header, the column it fills ("" when unknown); a saved mapping wins."""
    saved = {norm_header(k): v for k, v in (saved or {}).items()}
    mapping = []
    for header in headers:
        key = norm_header(header)
        if key in saved:
            mapping.append(saved[key] if saved[key] in COLUMNS else "")
        else:
            mapping.append(ALIASES.get(key, ""))
    return mapping


def unrecognised_columns(
    headers: Sequence[str], rows: Sequence[tuple[int, Sequence[str]]], saved: dict[str, str] | None
) -> list[int]:
    """The columns neither we nor the saved mapping know: a header no column or vendor
    uses, or no header over cells that hold something (in the first rows)."""
    known = {norm_header(k) for k in saved or {}}
    unknown = []
    for index, header in enumerate(headers):
        key = norm_header(header)
        if key:
            if key not in ALIASES and key not in known:
                unknown.append(index)
        elif any(index < len(cells) and cells[index].strip() for _, cells in rows[:50]):
            unknown.append(index)
    return unknown
