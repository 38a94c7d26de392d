"""Realistic lead-list files, built in the exact shapes the vendors export.

Header rows are the ones each tool writes (including the many columns we do not
import); each builder returns bytes ready to upload.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

APOLLO_HEADERS = [
    "First Name", "Last Name", "Title", "Company", "Company Name for Emails", "Email",
    "Email Status", "Seniority", "Departments", "Contact Owner", "First Phone",
    "Work Direct Phone", "Home Phone", "Mobile Phone", "Corporate Phone", "Other Phone",
    "Stage", "Lists", "Last Contacted", "Account Owner", "# Employees", "Industry", "Keywords",
    "Person Linkedin Url", "Website", "Company Linkedin Url", "Facebook Url", "Twitter Url",
    "City", "State", "Country", "Company Address", "Company City", "Company State",
    "Company Country", "Company Phone", "SEO Description", "Technologies", "Annual Revenue",
    "Total Funding", "Latest Funding", "Latest Funding Amount", "Last Raised At", "Email Sent",
    "Email Open", "Email Bounced", "Replied", "Demoed", "Number of Retail Locations",
    "Apollo Contact Id", "Apollo Account Id",
]  # fmt: skip

ZOOMINFO_HEADERS = [
    "ZoomInfo Contact ID", "Last Name", "First Name", "Middle Name", "Salutation", "Suffix",
    "Job Title", "Job Title Hierarchy Level", "Management Level", "Job Start Date",
    "Job Function", "Department", "Company Division Name", "Direct Phone Number",
    "Email Address", "Email Domain", "Mobile phone", "Last Job Change Type",
    "Contact Accuracy Score", "Contact Accuracy Grade", "ZoomInfo Contact Profile URL",
    "LinkedIn Contact Profile URL", "Person Street", "Person City", "Person State",
    "Person Zip Code", "Country", "ZoomInfo Company ID", "Company Name", "Company Description",
    "Website", "Founded Year", "Company HQ Phone", "Revenue (in 000s USD)",
    "Revenue Range (in USD)", "Employees", "Employee Range", "Primary Industry",
    "Primary Sub-Industry", "All Industries", "Company Street Address", "Company City",
    "Company State", "Company Zip Code", "Company Country", "Full Address",
]  # fmt: skip

SEAMLESS_HEADERS = [
    "Research Date", "Contact Full Name", "First Name", "Middle Name", "Last Name", "Title",
    "Department", "Seniority", "Company Name", "Company Name - Cleaned", "Website", "List",
    "Primary Email", "Intel", "Contact LI Profile URL", "Email 1", "Email 1 Validation",
    "Email 1 Total AI", "Email 2", "Email 2 Validation", "Email 2 Total AI", "Personal Email",
    "Contact Phone 1", "Contact Phone 1 Total AI", "Contact Mobile Phone", "Company Phone 1",
    "Contact Location", "Contact City", "Contact State", "Contact Country", "Company Location",
    "Company Country", "Company Industry", "Company Staff Count", "Company Revenue Range",
]  # fmt: skip

LUSHA_HEADERS = [
    "First Name", "Last Name", "Full Name", "Job Title", "Seniority", "Department",
    "Company Name", "Company Domain", "Company Website", "Email 1", "Email 1 Type", "Email 2",
    "Phone 1", "Phone 1 Type", "Phone 2", "Country", "City", "LinkedIn URL",
    "Company Main Industry", "Company Size",
]  # fmt: skip

HUBSPOT_HEADERS = [
    "Record ID", "First Name", "Last Name", "Email", "Phone Number", "Mobile Phone Number",
    "Company Name", "Job Title", "Lifecycle Stage", "Lead Status", "Contact owner",
    "Country/Region", "State/Region", "City", "Industry", "Website URL", "Create Date",
    "Last Activity Date", "Associated Company",
]  # fmt: skip

SALESFORCE_REPORT_HEADERS = [
    "Lead ID", "Salutation", "First Name", "Last Name", "Title", "Company / Account", "Email",
    "Phone", "Mobile", "Lead Source", "Lead Status", "Lead Owner", "Street", "City",
    "State/Province", "Zip/Postal Code", "Country", "Industry", "Website", "Rating",
    "Create Date",
]  # fmt: skip

SALESFORCE_EXPORT_HEADERS = [
    "Id", "IsDeleted", "MasterRecordId", "LastName", "FirstName", "Salutation", "Name", "Title",
    "Company", "Street", "City", "State", "PostalCode", "Country", "Phone", "MobilePhone",
    "Fax", "Email", "Website", "Description", "LeadSource", "Status", "Industry", "Rating",
    "AnnualRevenue", "NumberOfEmployees", "OwnerId", "IsConverted", "CreatedDate",
]  # fmt: skip

MARKETO_HEADERS = [
    "Id", "First Name", "Last Name", "Email Address", "Job Title", "Company Name",
    "Phone Number", "Mobile Phone Number", "Address", "City", "State", "Postal Code", "Country",
    "Industry", "Website", "Lead Source", "Lead Status", "Lead Score", "Unsubscribed",
    "Created At", "Updated At",
]  # fmt: skip

PIPEDRIVE_HEADERS = [
    "Person - ID", "Person - Name", "Person - First name", "Person - Last name",
    "Person - Label", "Person - Organization", "Person - Email - Work", "Person - Email - Home",
    "Person - Email - Other", "Person - Phone - Work", "Person - Phone - Mobile",
    "Person - Job title", "Person - Owner", "Person - Open deals", "Person - Marketing status",
    "Person - Person created",
]  # fmt: skip

ZOOM_REGISTRANT_HEADERS = [
    "First Name", "Last Name", "Email", "City", "Country/Region", "Zip/Postal Code",
    "State/Province", "Phone", "Industry", "Organization", "Job Title", "Registration Time",
    "Approval Status",
]  # fmt: skip

ZOOM_ATTENDEE_HEADERS = [
    "Attended", "User Name (Original Name)", "First Name", "Last Name", "Email", "City",
    "Country/Region", "Phone", "Organization", "Job Title", "Registration Time",
    "Approval Status", "Join Time", "Leave Time", "Time in Session (minutes)", "Is Guest",
    "Country/Region Name",
]  # fmt: skip

# (first, last, email, title, company, country name, phone, industry, website)
PEOPLE = [
    ("Ada", "Lovelace", "ada@analytical.example", "VP Engineering", "Analytical Engines",
     "United Kingdom", "+44 20 7946 0958", "Computer Software", "analytical.example"),
    ("Grace", "Hopper", "grace@cobol.example", "Director of Marketing", "Cobol Systems",
     "United States", "+1 202 555 0143", "Information Technology", "cobol.example"),
    ("René", "Müller", "rene.mueller@bauwerk.example", "Head of Sales", "Bauwerk GmbH",
     "Germany", "+49 30 901820", "Construction", "bauwerk.example"),
    ("Zoë", "Dupré", "zoe@societe.example", "Chief Revenue Officer", "Société Générale Démo",
     "France", "+33 1 70 36 00 00", "Banking", "societe.example"),
    ("Linus", "Berg", "linus@nordic.example", "RevOps Manager", "Nordic Ops AB",
     "Sweden", "+46 8 123 456 78", "Logistics", "nordic.example"),
]  # fmt: skip


def person(i: int) -> dict[str, str]:
    first, last, email, title, company, country, phone, industry, website = PEOPLE[i % len(PEOPLE)]
    if i >= len(PEOPLE):
        email = f"{email.split('@')[0]}{i}@{email.split('@')[1]}"
    return {
        "first": first,
        "last": last,
        "email": email,
        "title": title,
        "company": company,
        "country": country,
        "phone": phone,
        "industry": industry,
        "website": website,
    }


def row_for(preset: str, p: dict[str, str]) -> dict[str, str]:
    """One person as the given tool exports them."""
    full = f"{p['first']} {p['last']}"
    rows = {
        "apollo": {
            "First Name": p["first"], "Last Name": p["last"], "Title": p["title"],
            "Company": p["company"], "Company Name for Emails": p["company"],
            "Email": p["email"], "Email Status": "Verified", "Seniority": "Vp",
            "Work Direct Phone": p["phone"], "Industry": p["industry"].lower(),
            "Website": f"http://www.{p['website']}", "Country": p["country"],
            "Company Address": "1 Main Street\nSuite 200", "# Employees": "250",
            "Technologies": "Salesforce, HubSpot, Google Analytics",
            "Apollo Contact Id": "64f0c2a1b2c3d4e5f6a7b8c9",
        },
        "zoominfo": {
            "ZoomInfo Contact ID": "1234567890", "First Name": p["first"], "Last Name": p["last"],
            "Job Title": p["title"], "Email Address": p["email"],
            "Email Domain": p["email"].split("@")[1], "Direct Phone Number": p["phone"],
            "Company Name": p["company"], "Website": f"www.{p['website']}",
            "Primary Industry": p["industry"], "Country": p["country"],
            "Contact Accuracy Score": "95",
        },
        "seamless": {
            "Research Date": "2025-03-01", "Contact Full Name": full, "First Name": p["first"],
            "Last Name": p["last"], "Title": p["title"], "Company Name": p["company"],
            "Company Name - Cleaned": p["company"], "Website": p["website"],
            "Email 1": p["email"], "Email 1 Validation": "Valid", "Email 1 Total AI": "98%",
            "Contact Phone 1": p["phone"], "Contact Country": p["country"],
            "Company Industry": p["industry"], "List": "Q1 outbound",
        },
        "lusha": {
            "First Name": p["first"], "Last Name": p["last"], "Full Name": full,
            "Job Title": p["title"], "Company Name": p["company"],
            "Company Domain": p["website"], "Email 1": p["email"], "Email 1 Type": "Work",
            "Phone 1": p["phone"], "Phone 1 Type": "Direct", "Country": p["country"],
            "Company Main Industry": p["industry"],
        },
        "hubspot": {
            "Record ID": "5101", "First Name": p["first"], "Last Name": p["last"],
            "Email": p["email"], "Phone Number": p["phone"], "Company Name": p["company"],
            "Job Title": p["title"], "Lifecycle Stage": "Lead", "Country/Region": p["country"],
            "Industry": p["industry"], "Website URL": f"https://{p['website']}/",
            "Create Date": "2025-02-11 09:12",
        },
        "salesforce_report": {
            "Lead ID": "00Q5g00000AbCdE", "First Name": p["first"], "Last Name": p["last"],
            "Title": p["title"], "Company / Account": p["company"], "Email": p["email"],
            "Phone": p["phone"], "Lead Source": "Web", "Lead Status": "Open - Not Contacted",
            "Country": p["country"], "Industry": p["industry"], "Website": p["website"],
        },
        "salesforce_export": {
            "Id": "00Q5g00000AbCdE", "IsDeleted": "false", "LastName": p["last"],
            "FirstName": p["first"], "Name": full, "Title": p["title"], "Company": p["company"],
            "Country": p["country"], "Phone": p["phone"], "Email": p["email"],
            "Website": p["website"], "Industry": p["industry"], "Status": "Open",
        },
        "marketo": {
            "Id": "1001", "First Name": p["first"], "Last Name": p["last"],
            "Email Address": p["email"], "Job Title": p["title"], "Company Name": p["company"],
            "Phone Number": p["phone"], "Country": p["country"], "Industry": p["industry"],
            "Website": p["website"], "Lead Score": "40", "Unsubscribed": "false",
        },
        "pipedrive": {
            "Person - ID": "77", "Person - Name": full, "Person - First name": p["first"],
            "Person - Last name": p["last"], "Person - Organization": p["company"],
            "Person - Email - Work": p["email"], "Person - Phone - Work": p["phone"],
            "Person - Job title": p["title"], "Person - Owner": "Sam Seller",
        },
        "zoom_registrants": {
            "First Name": p["first"], "Last Name": p["last"], "Email": p["email"],
            "Country/Region": p["country"], "Phone": p["phone"], "Industry": p["industry"],
            "Organization": p["company"], "Job Title": p["title"],
            "Registration Time": "Mar 01, 2025 10:02:11", "Approval Status": "approved",
        },
        "zoom_attendees": {
            "Attended": "Yes", "User Name (Original Name)": full, "First Name": p["first"],
            "Last Name": p["last"], "Email": p["email"], "Country/Region": p["country"],
            "Organization": p["company"], "Job Title": p["title"],
            "Join Time": "Mar 01, 2025 16:01:02", "Time in Session (minutes)": "58",
            "Is Guest": "Yes", "Country/Region Name": p["country"],
        },
    }  # fmt: skip
    return rows[preset]


HEADERS = {
    "apollo": APOLLO_HEADERS,
    "zoominfo": ZOOMINFO_HEADERS,
    "seamless": SEAMLESS_HEADERS,
    "lusha": LUSHA_HEADERS,
    "hubspot": HUBSPOT_HEADERS,
    "salesforce_report": SALESFORCE_REPORT_HEADERS,
    "salesforce_export": SALESFORCE_EXPORT_HEADERS,
    "marketo": MARKETO_HEADERS,
    "pipedrive": PIPEDRIVE_HEADERS,
    "zoom_registrants": ZOOM_REGISTRANT_HEADERS,
    "zoom_attendees": ZOOM_ATTENDEE_HEADERS,
}

EMAIL_HEADER = {
    "apollo": "Email",
    "zoominfo": "Email Address",
    "seamless": "Email 1",
    "lusha": "Email 1",
    "hubspot": "Email",
    "salesforce_report": "Email",
    "salesforce_export": "Email",
    "marketo": "Email Address",
    "pipedrive": "Person - Email - Work",
    "zoom_registrants": "Email",
    "zoom_attendees": "Email",
}


def records(preset: str, rows: Sequence[dict[str, str]]) -> list[list[str]]:
    headers = HEADERS[preset]
    return [headers] + [[row.get(h, "") for h in headers] for row in rows]


def to_csv(
    grid: Sequence[Sequence[str]],
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    preamble: Sequence[Sequence[str]] = (),
    trailer: str = "",
    line_end: str = "\r\n",
) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator=line_end)
    for line in preamble:
        writer.writerow(line)
    for line in grid:
        writer.writerow(line)
    return (out.getvalue() + trailer).encode(encoding)


def to_xlsx(grid: Sequence[Sequence[object]], *, preamble: Sequence[Sequence[str]] = ()) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for line in [*preamble, *grid]:
        sheet.append(list(line))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


ZOOM_ATTENDEE_PREAMBLE = [
    ["Attendee Report"],
    ["Report Generated:", "Mar 3, 2025 10:12 AM"],
    [
        "Topic", "Webinar ID", "Actual Start Time", "Actual Duration (minutes)", "# Registered",
        "# Cancelled", "Unique Viewers", "Total Users", "Max Concurrent Views",
    ],
    ["Q1 Product Webinar", "812 3456 7890", "Mar 1, 2025 04:00 PM", "62", "6", "0", "5", "6", "5"],
    ["Host Details"],
    [
        "Attended", "User Name (Original Name)", "Email", "Join Time", "Leave Time",
        "Time in Session (minutes)", "Is Guest", "Country/Region Name",
    ],
    ["Yes", "Hannah Host", "hannah@accord.example", "Mar 1, 2025 15:55:00",
     "Mar 1, 2025 17:02:00", "67", "No", "Germany"],
    ["Panelist Details"],
    ["Attendee Details"],
]  # fmt: skip

ZOOM_REGISTRANT_PREAMBLE = [
    ["Registration Report"],
    ["Report Generated:", "Mar 3, 2025 10:12 AM"],
    ["Topic", "Webinar ID", "Actual Start Time", "Actual Duration (minutes)", "# Registered"],
    ["Q1 Product Webinar", "812 3456 7890", "Mar 1, 2025 04:00 PM", "62", "6"],
    ["Registrant Details"],
]

SALESFORCE_REPORT_FOOTER = (
    '\r\n\r\n"Grand Totals (7 records)"\r\n\r\n'
    '"Confidential Information - Do Not Distribute"\r\n'
    '"Copyright (c) 2000-2025 salesforce.com, inc. All rights reserved."\r\n'
)


def messy_file(preset: str) -> tuple[bytes, dict[str, int]]:
    """A file in the preset's format with 5 good rows, one missing email, one invalid email,
    one duplicate of an earlier row, one email too long, and the tool's own quirks.

    Returns the bytes and the expected counts (against an empty database).
    """
    good = [row_for(preset, person(i)) for i in range(5)]
    email = EMAIL_HEADER[preset]
    missing = {**row_for(preset, person(5)), email: ""}
    if preset == "pipedrive":
        missing["Person - Email - Home"] = ""
    invalid = {**row_for(preset, person(6)), email: "not-an-email@"}
    duplicate = {**row_for(preset, person(1)), email: person(1)["email"].upper() + "  "}
    # An identity field too long rejects the row (any other field is cut to fit).
    too_long = {**row_for(preset, person(7)), email: "senior" * 50 + "@long.example"}
    rows = [*good, missing, invalid, duplicate, too_long]
    grid = records(preset, rows)
    expected = {"created": 5, "updated": 0, "unchanged": 0, "rejected": 4}
    if preset == "zoom_attendees":
        return to_csv(grid, preamble=ZOOM_ATTENDEE_PREAMBLE, trailer="\r\n\r\n"), expected
    if preset == "zoom_registrants":
        return to_csv(grid, preamble=ZOOM_REGISTRANT_PREAMBLE, trailer="\r\n\r\n"), expected
    if preset == "salesforce_report":
        return to_csv(grid, trailer=SALESFORCE_REPORT_FOOTER), expected
    if preset == "zoominfo":
        return to_xlsx(grid), expected
    if preset == "hubspot":
        return b"\xef\xbb\xbf" + to_csv(grid), expected  # UTF-8 with BOM
    if preset == "marketo":
        return to_csv(grid, delimiter=";", encoding="cp1252"), expected  # Excel, Europe
    if preset == "pipedrive":
        return to_csv(grid, delimiter="\t", encoding="utf-16"), expected  # "Unicode text"
    if preset == "lusha":
        return to_csv(grid, encoding="latin-1", line_end="\n", trailer="\n\n\n"), expected
    return to_csv(grid), expected
