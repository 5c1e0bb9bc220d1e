from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from observability.models import AlertEvent, AlertSeverity, AuditAction, MemoryAudit


class MemoryAuditSerializer(serializers.ModelSerializer):
    class Meta:
        model = MemoryAudit
        fields = [
            "id",
            "memory_id",
            "action",
            "actor",
            "user",
            "request_id",
            "note",
            "before",
            "after",
            "timestamp",
        ]
        read_only_fields = fields


class AuditFilterSerializer(serializers.Serializer):
    memory = serializers.UUIDField(required=False, help_text="One memory's rows.")
    actor = serializers.CharField(required=False, max_length=64, help_text="e.g. api-http, human-triage.")
    action = serializers.ChoiceField(choices=AuditAction.choices, required=False)
    user = serializers.CharField(required=False, max_length=150, help_text="The authenticated user's name.")
    since = serializers.DateTimeField(required=False, help_text="Rows at or after this time.")
    until = serializers.DateTimeField(required=False, help_text="Rows before this time.")


class AlertEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AlertEvent
        fields = ["id", "severity", "title", "message", "context", "sinks", "created_at"]
        read_only_fields = fields


class AlertFilterSerializer(serializers.Serializer):
    severity = serializers.ChoiceField(choices=AlertSeverity.choices, required=False)


class LastAlertsSerializer(serializers.Serializer):
    """The value stored at atocore/alert/last_{severity}, or null."""

    info = serializers.JSONField(allow_null=True)
    warning = serializers.JSONField(allow_null=True)
    critical = serializers.JSONField(allow_null=True)


class HarnessResultInSerializer(serializers.Serializer):
    passed = serializers.IntegerField(min_value=0, max_value=10**9)
    total = serializers.IntegerField(min_value=1, max_value=10**9)

    def validate(self, attrs):
        if attrs["passed"] > attrs["total"]:
            raise serializers.ValidationError({"passed": [f"is more than total ({attrs['total']})"]})
        return attrs


class HarnessResultSerializer(serializers.Serializer):
    passed = serializers.IntegerField()
    total = serializers.IntegerField()
    pass_rate = serializers.FloatField()
    recorded_at = serializers.DateTimeField()


# dashboard_data() is shared with the admin and grows with it: documented loosely, as an
# object with these parts (each null or partial when its source has not run yet).
DASHBOARD_SCHEMA = OpenApiResponse(
    response={
        "type": "object",
        "description": "What the admin dashboard shows: observability.dashboard.dashboard_data().",
        "properties": {
            "generated_at": {"type": "string", "format": "date-time"},
            "integrity": {"type": "object", "nullable": True, "additionalProperties": True},
            "alerts": {
                "type": "object",
                "description": "The last alert per severity, or null.",
                "additionalProperties": {"type": "object", "nullable": True, "additionalProperties": True},
            },
            "recent_mutations": {
                "type": "array",
                "description": "The 10 latest mutations: actor, user, action, a preview of the content.",
                "items": {"type": "object", "additionalProperties": True},
            },
        },
        "required": ["generated_at", "integrity", "alerts", "recent_mutations"],
        "additionalProperties": True,
    },
    description="The dashboard as JSON.",
)
