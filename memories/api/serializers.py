from django.conf import settings
from rest_framework import serializers

from memories.models import Memory, MemoryStatus, MemoryType, Project, ProjectState

CREATABLE_STATUSES = (MemoryStatus.CANDIDATE, MemoryStatus.ACTIVE)
NOTE_MAX_CHARS = 2000


class MemorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Memory
        fields = [
            "id",
            "memory_type",
            "content",
            "project",
            "status",
            "confidence",
            "source_chunk_id",
            "reference_count",
            "last_referenced_at",
            "superseded_by",
            "external_key",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


def _content_field(**kwargs) -> serializers.CharField:
    # Built per instance: the limit is a setting, read when the request comes.
    return serializers.CharField(
        trim_whitespace=False, max_length=settings.ATOCORE_MAX_CONTENT_CHARS, **kwargs
    )


class StrictFloatField(serializers.FloatField):
    """A number, not a boolean (DRF would read true as 1.0)."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class _MemoryFields(serializers.Serializer):
    memory_type = serializers.ChoiceField(choices=MemoryType.choices)
    project = serializers.CharField(max_length=100, help_text="The name of an existing project.")
    confidence = StrictFloatField(min_value=0, max_value=1)
    source_chunk_id = serializers.CharField(max_length=64, allow_null=True)
    note = serializers.CharField(
        max_length=NOTE_MAX_CHARS, allow_blank=True, default="", help_text="Why; kept on the audit row."
    )

    def validate_content(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("may not be blank")
        return value


class MemoryCreateSerializer(_MemoryFields):
    confidence = StrictFloatField(min_value=0, max_value=1, default=0.5)
    source_chunk_id = serializers.CharField(max_length=64, allow_null=True, default=None)
    status = serializers.ChoiceField(
        choices=CREATABLE_STATUSES,
        default=MemoryStatus.CANDIDATE,
        help_text="candidate (default) or active; other statuses are reached by the lifecycle actions.",
    )

    def get_fields(self):
        return {"content": _content_field(), **super().get_fields()}


class MemoryUpdateSerializer(_MemoryFields):
    """A partial update: only the fields sent change; status changes by the lifecycle actions."""

    def get_fields(self):
        return {"content": _content_field(), **super().get_fields()}


class MemoryFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=MemoryStatus.choices, required=False)
    type = serializers.ChoiceField(choices=MemoryType.choices, required=False)
    project = serializers.CharField(required=False, max_length=100)
    search = serializers.CharField(
        required=False, max_length=200, help_text="Case-insensitive text the content contains."
    )


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=NOTE_MAX_CHARS, allow_blank=True, default="")


class SupersedeSerializer(NoteSerializer):
    by = serializers.UUIDField(help_text="The active memory that replaces this one.")


class ProjectSerializer(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = ["name", "description", "created_at"]
        read_only_fields = fields


class ProjectStateSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProjectState
        fields = ["project", "category", "key", "value", "updated_at"]
        read_only_fields = fields
