"""Ops edits channels, personas, calendars and SLA versions here; every edit keeps its history."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Agreement, BusinessCalendar, Channel, Holiday, Persona, ResponseRule


@admin.register(Channel)
class ChannelAdmin(SimpleHistoryAdmin):
    list_display = ("name", "slug", "entry_stage", "allows_cold_prospecting", "is_active")
    list_filter = ("entry_stage", "is_active", "allows_cold_prospecting")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Persona)
class PersonaAdmin(SimpleHistoryAdmin):
    list_display = ("name", "priority", "is_active")
    search_fields = ("name", "title_keywords")


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 1


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(SimpleHistoryAdmin):
    list_display = ("name", "time_zone", "workday_start", "workday_end")
    inlines = [HolidayInline]


class ResponseRuleInline(admin.TabularInline):
    model = ResponseRule
    extra = 0


@admin.register(Agreement)
class AgreementAdmin(SimpleHistoryAdmin):
    list_display = ("version", "title", "status", "effective_from")
    list_filter = ("status",)
    inlines = [ResponseRuleInline]
