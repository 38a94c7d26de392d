"""Marketing's list import pages: upload → preview → (mapping) → confirm → progress → result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from agreements import roles
from agreements.models import Channel
from config.ids import as_id

from .decorators import role_required
from .importing.batches import (
    batch_mapping,
    batch_table,
    change_encoding,
    confirm_batch,
    create_batch,
    needs_mapping,
    preview_batch,
    progress_of,
    requeue_batch,
)
from .importing.columns import COLUMNS
from .importing.files import (
    ENCODING_CHOICES,
    ImportFileError,
    Table,
    encoding_label,
    over_upload_cap,
)
from .importing.presets import PRESETS_BY_ID, auto_mapping, unrecognised_columns
from .importing.revert import check_revertible, plan_revert, revert_batch
from .models import (
    Campaign,
    ImportBatch,
    ImportChange,
    ImportRowError,
    Lead,
    LeadError,
    SavedMapping,
)
from .spreadsheet import csv_response
from .tasks import queue_import

IMPORTERS = (roles.MARKETING, roles.OPS)
PREVIEW_ERRORS = 100
# Kept leads (and kept values) listed on the revert page; the rest are counted.
REVERT_LIST = 200
# The import's leads listed per page of its result.
BATCH_LEADS = 50
# Past this many columns the mapping page asks, per lead field, which column fills it.
MAPPING_BY_COLUMN_MAX = 200


class UploadForm(forms.Form):
    file = forms.FileField(
        label="List file",
        help_text="CSV (comma, semicolon or tab) or Excel .xlsx, as exported by Apollo, "
        "ZoomInfo, Seamless.AI, Lusha, HubSpot, Salesforce, Marketo, Pipedrive or Zoom.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.tsv,.txt,.xlsx"}),
    )
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.filter(is_active=True).order_by("name"),
        help_text="Where these leads came from; decides their entry stage.",
    )
    campaign = forms.CharField(
        required=False,
        max_length=200,
        help_text="Optional. An existing campaign, or a new one in this channel.",
        widget=forms.TextInput(attrs={"list": "campaigns", "autocomplete": "off"}),
    )
    saved_mapping = forms.ModelChoiceField(
        queryset=SavedMapping.objects.all(),
        required=False,
        label="Saved column mapping",
        help_text="Optional. Apply a mapping you saved for files of this kind.",
    )

    def clean_file(self):  # type: ignore[no-untyped-def]
        upload = self.cleaned_data["file"]
        too_large = over_upload_cap(upload.size)
        if too_large:
            raise forms.ValidationError(too_large)
        return upload


class SaveAsForm(forms.Form):
    """The optional name to save a mapping under, shared by both mapping forms."""

    save_as = forms.CharField(
        required=False,
        max_length=100,
        label="Save this mapping as",
        help_text="Optional. Next time, pick it when you upload a file of this kind.",
    )


class MappingForm(SaveAsForm):
    """One choice per header of the file, plus an optional name to save the mapping under."""

    def __init__(self, *args, headers: list[str], initial_columns: list[str], **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        choices = [("", "— not imported —")] + [(c.identifier, c.label) for c in COLUMNS.values()]
        self.headers = headers
        for index, header in enumerate(headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                choices=choices,
                required=False,
                label=header or f"(column {index + 1} has no header)",
                initial=initial_columns[index] if index < len(initial_columns) else "",
            )

    def clean(self):  # type: ignore[no-untyped-def]
        data = super().clean()
        if "email" not in self.columns():
            raise forms.ValidationError("Choose the column that holds the email address.")
        return data

    def columns(self) -> list[str]:
        return [self.cleaned_data.get(f"col_{i}", "") for i in range(len(self.headers))]

    def rows(self) -> list[tuple[forms.BoundField, str]]:
        return [(self[f"col_{i}"], h) for i, h in enumerate(self.headers)]


class WideMappingForm(SaveAsForm):
    """For a file too wide for one choice per column: one choice per lead field, of the
    column that fills it (each field from one column; the other columns are not imported)."""

    def __init__(  # type: ignore[no-untyped-def]
        self, *args, headers: list[str], initial_columns: list[str], samples: list[str], **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.headers = headers
        choices = [("", "— not in this file —")] + [
            (str(i), _column_choice(i, header, samples[i])) for i, header in enumerate(headers)
        ]
        for column in COLUMNS.values():
            first = next((i for i, c in enumerate(initial_columns) if c == column.identifier), "")
            self.fields[f"source_{column.identifier}"] = forms.ChoiceField(
                choices=choices, required=False, label=column.label, initial=str(first)
            )

    def clean(self):  # type: ignore[no-untyped-def]
        data = super().clean()
        taken: dict[str, str] = {}
        for identifier, column in COLUMNS.items():
            index = data.get(f"source_{identifier}", "")
            if index in taken:
                header = self.headers[int(index)] or f"column {int(index) + 1}"
                raise forms.ValidationError(
                    f"“{header}” is chosen for both {taken[index]} and {column.label}; "
                    "a column fills one field."
                )
            if index:
                taken[index] = column.label
        if not data.get("source_email"):
            raise forms.ValidationError("Choose the column that holds the email address.")
        return data

    def columns(self) -> list[str]:
        columns = [""] * len(self.headers)
        for identifier in COLUMNS:
            index = self.cleaned_data.get(f"source_{identifier}", "")
            if index:
                columns[int(index)] = identifier
        return columns

    def rows(self) -> list[tuple[forms.BoundField, str]]:
        return [(self[f"source_{c.identifier}"], c.label) for c in COLUMNS.values()]


def _column_choice(index: int, header: str, sample: str) -> str:
    """A column as the wide mapping form offers it: its header and its first value."""
    name = header or f"(column {index + 1} has no header)"
    sample = " ".join(sample.split())
    return f"{name} — e.g. {sample[:30]}" if sample else name


def _mapping_form(
    request: HttpRequest, table: Table, initial: list[str]
) -> MappingForm | WideMappingForm:
    """One choice per column, or for a file too wide to post that (Django takes at most
    DATA_UPLOAD_MAX_NUMBER_FIELDS fields), one choice per lead field."""
    data = request.POST or None
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    fits = limit is None or len(table.headers) + 10 <= limit
    if fits and len(table.headers) <= MAPPING_BY_COLUMN_MAX:
        return MappingForm(data, headers=table.headers, initial_columns=initial)
    first = table.rows[0][1] if table.rows else []
    samples = [first[i] if i < len(first) else "" for i in range(len(table.headers))]
    return WideMappingForm(data, headers=table.headers, initial_columns=initial, samples=samples)


def _batch(batch_id: int) -> ImportBatch:
    batch = (
        ImportBatch.objects.select_related("channel", "campaign", "created_by")
        .filter(pk=batch_id)
        .first()
    )
    if batch is None:
        raise Http404("No such import.")
    return batch


def _next_step(request: HttpRequest, batch: ImportBatch) -> HttpResponse:
    """The mapping step when a column needs a person's eye, else the preview."""
    if not needs_mapping(batch):
        return redirect("leads:import_preview", batch.pk)
    mapping = batch.mapping
    if "email" not in mapping["columns"]:
        messages.info(request, "Which column holds the email address? Map it below.")
    else:
        names = [mapping["headers"][i] or f"column {i + 1}" for i in mapping["unrecognised"]]
        shown = ", ".join(f"“{name}”" for name in names[:5])
        more = f" and {len(names) - 5} more" if len(names) > 5 else ""
        messages.info(
            request,
            f"Some columns were not recognised ({shown}{more}). Choose what each holds, "
            "or leave it not imported, then see the preview.",
        )
    return redirect("leads:import_mapping", batch.pk)


@role_required(*IMPORTERS)
def imports(request: HttpRequest) -> HttpResponse:
    """Upload a list, and the history of past imports."""
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        saved = data["saved_mapping"]
        try:
            batch, _ = create_batch(
                data["file"].read(),
                Path(data["file"].name).name,
                channel=data["channel"],
                campaign_name=data["campaign"],
                by=request.user,
                saved_mapping=saved.mapping if saved else None,
            )
        except ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            return _next_step(request, batch)
    batches = ImportBatch.objects.select_related("channel", "campaign", "created_by").order_by(
        "-created_at", "-id"
    )
    page = Paginator(batches, 25).get_page(request.GET.get("page"))
    campaigns = Campaign.objects.order_by("name").values_list("name", flat=True)[:500]
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "leads/imports.html",
        {"form": form, "page": page, "campaigns": campaigns},
        status=status,
    )


@role_required(*IMPORTERS)
def import_mapping(request: HttpRequest, batch_id: int) -> HttpResponse:
    """Map the file's columns by hand; optionally save the mapping under a name."""
    batch = _batch(batch_id)
    if batch.status != ImportBatch.Status.UPLOADED:
        return redirect(batch)
    try:
        table = batch_table(batch)
    except ImportFileError as exc:
        messages.error(request, str(exc))
        return redirect("leads:imports")
    initial = batch_mapping(batch, table)
    saved_id = as_id(request.GET.get("saved") or "")
    if saved_id is not None:
        saved = SavedMapping.objects.filter(pk=saved_id).first()
        if saved is not None:
            initial = auto_mapping(table.headers, saved.mapping)
    form = _mapping_form(request, table, initial)
    if request.method == "POST" and form.is_valid():
        columns = form.columns()
        batch.mapping = {
            **batch.mapping,
            "headers": table.headers,
            "columns": columns,
            "unrecognised": [],  # a person has seen every column now
        }
        batch.save(update_fields=["mapping"])
        name = form.cleaned_data["save_as"].strip()
        if name:
            SavedMapping.objects.update_or_create(
                name=name,
                defaults={
                    "mapping": dict(zip(table.headers, columns, strict=True)),
                    "created_by": request.user,
                },
            )
            messages.success(request, f"Mapping saved as “{name}”.")
        return redirect("leads:import_preview", batch.pk)
    wide = isinstance(form, WideMappingForm)
    unknown = set(batch.mapping.get("unrecognised", []))
    return render(
        request,
        "leads/import_mapping.html",
        {
            "batch": batch,
            "form": form,
            "wide": wide,
            "rows": [
                (field, label, [] if wide else _samples(table, i), not wide and i in unknown)
                for i, (field, label) in enumerate(form.rows())
            ],
            "saved_mappings": SavedMapping.objects.all(),
            **_encoding_context(batch, table),
        },
        status=400 if request.method == "POST" else 200,
    )


def _samples(table: Table, index: int) -> list[str]:
    """A column's values in the file's first rows."""
    return [cells[index] for _, cells in table.rows[:3]]


@require_http_methods(["GET", "POST"])
@role_required(*IMPORTERS)
def import_preview(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The dry run: what the import would create, update, leave alone or reject, and why.
    POST reads the file again in the encoding chosen (`encoding`)."""
    batch = _batch(batch_id)
    if batch.status != ImportBatch.Status.UPLOADED:
        return redirect(batch)
    if request.method == "POST":
        return _change_encoding(request, batch)
    try:
        table = batch_table(batch)
    except ImportFileError as exc:  # the file is gone or unreadable: no mapping can help
        messages.error(request, str(exc))
        return redirect("leads:imports")
    try:
        summary = preview_batch(batch)
    except ImportFileError as exc:
        messages.error(request, str(exc))
        return redirect("leads:import_mapping", batch.pk)
    headers = batch.mapping.get("headers", [])
    columns = batch.mapping.get("columns", [])
    mapped = [(h, COLUMNS[c].label) for h, c in zip(headers, columns, strict=False) if c]
    # Columns not imported, a column without header included when it holds something.
    filled = set(unrecognised_columns(headers, table.rows, None))
    unmapped = [
        h or f"(column {i + 1}, no header)"
        for i, (h, c) in enumerate(zip(headers, columns, strict=False))
        if not c and (h or i in filled)
    ]
    preset = PRESETS_BY_ID.get(batch.preset)
    return render(
        request,
        "leads/import_preview.html",
        {
            "batch": batch,
            "summary": summary,
            "issues": summary.issues[:PREVIEW_ERRORS],
            "more_issues": max(0, summary.rejected - PREVIEW_ERRORS),
            "row_warnings": summary.warnings[:PREVIEW_ERRORS],
            "more_warnings": max(0, len(summary.warnings) - PREVIEW_ERRORS),
            "mapped": mapped,
            "unmapped": unmapped,
            "preset": preset,
            "warnings": table.warnings,
            **_encoding_context(batch, table),
        },
    )


def _encoding_context(batch: ImportBatch, table: Table) -> dict[str, Any]:
    """What the encoding form shows: the encoding read, the one chosen, the choices."""
    return {
        "encoding": encoding_label(table.encoding),
        "chosen_encoding": batch.mapping.get("encoding", ""),
        "encodings": ENCODING_CHOICES if table.file_format == "csv" else (),
    }


def _change_encoding(request: HttpRequest, batch: ImportBatch) -> HttpResponse:
    encoding = request.POST.get("encoding", "")
    try:
        change_encoding(batch, encoding)
    except ImportFileError as exc:
        messages.error(request, str(exc))
        return redirect("leads:import_preview", batch.pk)
    label = encoding_label(encoding) if encoding else "its guessed encoding"
    messages.success(request, f"The file was read again as {label}.")
    return _next_step(request, batch)


@require_POST
@role_required(*IMPORTERS)
def import_confirm(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = _batch(batch_id)
    try:
        confirm_batch(batch)
    except LeadError as exc:
        messages.error(request, str(exc))
    else:
        queue_import(batch.pk)
    return redirect(batch)


@role_required(*IMPORTERS)
def import_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    """Live progress while the import runs, then its summary."""
    batch = _batch(batch_id)
    if batch.status == ImportBatch.Status.UPLOADED:
        return redirect("leads:import_preview", batch.pk)
    leads = Paginator(_batch_leads(batch), BATCH_LEADS).get_page(request.GET.get("page"))
    return render(
        request,
        "leads/import_detail.html",
        {
            "batch": batch,
            "leads": leads if batch.is_finished else None,
            "progress": progress_of(batch),
            "error_count": batch.row_errors.count(),
            "mapping_pairs": list(
                zip(
                    batch.mapping.get("headers", []), batch.mapping.get("columns", []), strict=False
                )
            ),
        },
    )


def _batch_leads(batch: ImportBatch) -> QuerySet[Lead]:
    """The leads an import created or met (filled or left unchanged), newest first."""
    met = ImportChange.objects.filter(batch=batch).values("lead_id")
    return (
        Lead.objects.filter(Q(source_batch=batch) | Q(pk__in=met))
        .only("id", "email", "first_name", "last_name", "company", "stage", "source_batch_id")
        .order_by("-id")
    )


@role_required(*IMPORTERS)
def import_progress(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The progress bar alone, polled by htmx; tells the page to reload when the import ends."""
    batch = _batch(batch_id)
    response = render(
        request,
        "leads/_import_progress.html",
        {"batch": batch, "progress": progress_of(batch)},
    )
    if batch.is_finished and request.htmx:
        response["HX-Refresh"] = "true"
    return response


@role_required(*IMPORTERS)
def import_errors_csv(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The rejected rows with their reasons, as a CSV to fix and upload again."""
    batch = _batch(batch_id)
    headers = list(batch.mapping.get("headers", []))
    errors = ImportRowError.objects.filter(batch=batch).order_by("row", "id")
    stem = Path(batch.file_name).stem or "import"
    return csv_response(
        f"{stem}-rejected-rows.csv",
        ["Row", "Column", "Reason", *headers],
        ([e.row, e.column, e.reason, *e.values] for e in errors.iterator(chunk_size=2000)),
    )


@require_http_methods(["GET", "POST"])
@role_required(*IMPORTERS)
def import_revert(request: HttpRequest, batch_id: int) -> HttpResponse:
    """Revert an import: GET shows what it would remove, restore and keep (and why);
    POST does it. Only what nothing else touched since the import goes."""
    batch = _batch(batch_id)
    try:
        check_revertible(batch)
    except LeadError as exc:
        messages.error(request, str(exc))
        return redirect(batch)
    if request.method == "POST":
        try:
            plan = revert_batch(batch, by=request.user)
        except LeadError as exc:
            messages.error(request, str(exc))
        else:
            kept = len(plan.kept) + len(plan.kept_values)
            note = f" Kept, with why: {kept} (listed below)." if kept else ""
            messages.success(request, f"Import reverted.{note}")
        return redirect(batch)
    plan = plan_revert(batch)
    return render(
        request,
        "leads/import_revert.html",
        {
            "batch": batch,
            "plan": plan,
            "kept": plan.kept[:REVERT_LIST],
            "more_kept": max(0, len(plan.kept) - REVERT_LIST),
            "kept_values": plan.kept_values[:REVERT_LIST],
            "more_kept_values": max(0, len(plan.kept_values) - REVERT_LIST),
        },
    )


@require_POST
@role_required(*IMPORTERS)
def import_retry(request: HttpRequest, batch_id: int) -> HttpResponse:
    """Queue a stalled or failed import again; it resumes where it stopped."""
    batch = _batch(batch_id)
    if requeue_batch(batch, failed_too=True):
        queue_import(batch.pk)
        messages.success(request, "The import was queued again; it resumes where it stopped.")
    else:
        messages.info(request, "This import is not stalled; nothing to retry.")
    return redirect(batch)
