"""The content library in the admin: Ops edit the kinds; assets with their versions."""

from __future__ import annotations

from django.contrib import admin

from .models import Asset, AssetKind, AssetStage, AssetVersion


@admin.register(AssetKind)
class AssetKindAdmin(admin.ModelAdmin):
    list_display = ("name", "position", "is_active")
    list_editable = ("position", "is_active")
    search_fields = ("name",)


class AssetStageInline(admin.TabularInline):
    model = AssetStage
    extra = 0


class AssetVersionInline(admin.TabularInline):
    """Versions are read here; a new one is added on the asset's page (Replace)."""

    model = AssetVersion
    fields = ("number", "link_url", "file_name", "size", "note", "created_by", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ("title", "kind", "status", "owner", "updated_at")
    list_filter = ("status", "kind")
    search_fields = ("title", "description")
    filter_horizontal = ("personas",)
    raw_id_fields = ("owner", "campaign")
    readonly_fields = ("current_version", "published_at", "retired_at", "created_at", "updated_at")
    inlines = (AssetStageInline, AssetVersionInline)
