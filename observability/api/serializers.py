from rest_framework import serializers

from observability.models import MemoryAudit


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
