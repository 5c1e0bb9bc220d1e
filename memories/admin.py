"""The store in the admin: triage of memories, with each memory's audit timeline.

Every write goes through the services with actor ``human-triage`` and the staff
member's user name: the change form through ``update_memory`` (``create_memory`` when
adding), the actions through ``memories.triage``. Lists page without counting.
"""

import uuid

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.timesince import timesince

from memories import services, triage
from memories.errors import InvalidMemoryData
from memories.models import Memory, Project, ProjectState, SourceChunk, SourceDocument
from observability.admin_paging import UncountedListMixin
from observability.timeline import memory_timeline

ACTOR = "human-triage"


class ProjectListFilter(admin.SimpleListFilter):
    """Projects from the small Project table, not a DISTINCT over every memory."""

    title = "project"
    parameter_name = "project"

    def lookups(self, request, model_admin):
        return [(name, name) for name in Project.objects.order_by("name").values_list("name", flat=True)]

    def queryset(self, request, queryset):
        return queryset.filter(project=self.value()) if self.value() else queryset


class MemoryForm(forms.ModelForm):
    project = forms.ChoiceField(choices=())

    class Meta:
        model = Memory
        fields = ["content", "memory_type", "project", "confidence", "source_chunk_id"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        names = list(Project.objects.order_by("name").values_list("name", flat=True))
        current = self.instance.project if self.instance.pk else None
        if current and current not in names:  # a memory may name a project that is gone
            names.append(current)
        self.fields["project"].choices = [(name, name) for name in names]

    def clean_content(self):
        content = self.cleaned_data["content"]
        limit = settings.ATOCORE_MAX_CONTENT_CHARS
        if not content.strip():
            raise forms.ValidationError("Content cannot be empty.")
        if len(content) > limit:
            raise forms.ValidationError(f"Content is {len(content)} characters; the limit is {limit}.")
        return content


@admin.register(Memory)
class MemoryAdmin(UncountedListMixin, admin.ModelAdmin):
    form = MemoryForm
    list_display = [
        "short_content",
        "memory_type",
        "project",
        "status",
        "reinforcements",
        "age",
        "confidence",
    ]
    list_filter = ["status", "memory_type", ProjectListFilter]
    search_fields = ["content"]
    search_help_text = "Searches the content (case-insensitive)."
    actions = ["promote_candidates", "reject_candidates"]
    actions_selection_counter = False  # "select all N" needs a count the list does not make
    readonly_fields = [
        "id",
        "status",
        "reference_count",
        "last_referenced_at",
        "superseded_by",
        "external_key",
        "content_hash",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["content", "memory_type", "project", "confidence", "source_chunk_id"]}),
        (
            "Lifecycle (changed by the actions and services only)",
            {"fields": ["id", "status", "reference_count", "last_referenced_at", "superseded_by"]},
        ),
        ("Provenance", {"fields": ["external_key", "content_hash", "created_at", "updated_at"]}),
    ]

    @admin.display(description="content")
    def short_content(self, obj: Memory) -> str:
        text = " ".join(obj.content.split())
        return text if len(text) <= 100 else text[:99] + "\u2026"

    @admin.display(description="reinforcements", ordering="reference_count")
    def reinforcements(self, obj: Memory) -> int:
        return obj.reference_count

    @admin.display(description="age", ordering="created_at")
    def age(self, obj: Memory) -> str:
        return timesince(obj.created_at, timezone.now(), depth=1)

    def has_delete_permission(self, request, obj=None):
        return False  # no service deletes a memory: reject or invalidate it instead

    # -- writes through the services ----------------------------------------------------

    def save_model(self, request, obj, form, change):
        user = request.user.get_username()
        try:
            if change:
                fields = {name: form.cleaned_data[name] for name in form.changed_data}
                if fields:
                    services.update_memory(
                        obj.pk, actor=ACTOR, user=user, note="edited in the admin", **fields
                    )
                return
            created = services.create_memory(
                **{name: form.cleaned_data[name] for name in MemoryForm.Meta.fields},
                actor=ACTOR,
                user=user,
                note="created in the admin",
            )
        except InvalidMemoryData as exc:
            messages.error(request, f"Not saved: {exc}")
            return
        for field in Memory._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))
        obj._state.adding = False

    # -- triage actions -------------------------------------------------------------------

    @admin.action(description="Promote selected candidates", permissions=["change"])
    def promote_candidates(self, request, queryset):
        selected = list(queryset)
        twins = triage.duplicate_twins(selected)
        choice = request.POST.get("confirm_duplicates")
        if twins and choice not in {"all", "skip"}:
            return self._confirm_duplicates(request, selected, twins)
        outcome = triage.promote_candidates(
            selected,
            actor=ACTOR,
            user=request.user.get_username(),
            note="promoted in the admin",
            skip=set(twins) if choice == "skip" else (),
        )
        self._report(request, outcome, verb="promoted")

    @admin.action(description="Reject selected candidates", permissions=["change"])
    def reject_candidates(self, request, queryset):
        outcome = triage.reject_candidates(
            list(queryset), actor=ACTOR, user=request.user.get_username(), note="rejected in the admin"
        )
        self._report(request, outcome, verb="rejected")

    def _report(self, request, outcome, *, verb: str) -> None:
        done, skipped = triage.describe(outcome, verb=verb)
        self.message_user(request, done, messages.SUCCESS if outcome.done else messages.INFO)
        if skipped:
            self.message_user(request, skipped, messages.WARNING)

    def _confirm_duplicates(self, request, selected, twins):
        context = {
            **self.admin_site.each_context(request),
            "title": "Promote duplicates?",
            "opts": self.model._meta,
            "selected": selected,
            "twins": list(twins.values()),
            "others": len([m for m in selected if m.pk not in twins and m.status == "candidate"]),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/memories/memory/promote_duplicates.html", context)

    # -- the audit timeline on the change page -----------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        try:
            page = max(1, int(request.GET.get("timeline", 1)))
        except ValueError:
            page = 1
        extra = {"timeline": memory_timeline(object_id, page=page)} if _is_uuid(object_id) else {}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


# -- the rest of the store ------------------------------------------------------------------


class ViewOnlyAdmin(admin.ModelAdmin):
    """Written by ingestion and commands, never by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "created_at"]
    search_fields = ["name"]


@admin.register(ProjectState)
class ProjectStateAdmin(admin.ModelAdmin):
    list_display = ["project", "category", "key", "updated_at"]
    list_filter = ["category"]
    search_fields = ["project", "key"]

    def get_readonly_fields(self, request, obj=None):
        return ["project", "category", "key", "updated_at"] if obj else ["updated_at"]

    def save_model(self, request, obj, form, change):
        saved = services.set_project_state(
            project=obj.project, category=obj.category, key=obj.key, value=obj.value
        )
        obj.pk, obj.updated_at = saved.pk, saved.updated_at


@admin.register(SourceDocument)
class SourceDocumentAdmin(UncountedListMixin, ViewOnlyAdmin):
    list_display = ["path", "title", "project", "updated_at"]
    search_fields = ["=path"]


@admin.register(SourceChunk)
class SourceChunkAdmin(UncountedListMixin, ViewOnlyAdmin):
    list_display = ["id", "document_id", "ordinal"]
    search_fields = ["=id"]
