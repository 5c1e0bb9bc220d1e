"""The memory API: thin views over memories.services (writes) and the ORM (reads).

Every write goes through a service with actor ``api-http`` and the authenticated user's
name: DRF authenticates inside the view, after the middleware set the ambient context.
"""

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.response import Response

from memories import services
from memories.api.serializers import (
    MemoryCreateSerializer,
    MemoryFilterSerializer,
    MemorySerializer,
    MemoryUpdateSerializer,
    NoteSerializer,
    ProjectSerializer,
    ProjectStateSerializer,
    SupersedeSerializer,
)
from memories.models import Memory, Project, ProjectState
from observability.api.pagination import KeysetPagination
from observability.api.permissions import MEMORY_USERS

ACTOR = "api-http"
UPDATABLE = frozenset({"content", "memory_type", "project", "confidence", "source_chunk_id", "note"})
ID_PARAM = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The memory's UUID.")


def _memory_id(value: str) -> uuid.UUID:
    """A path id as a UUID; anything else is a 404, like an unknown id."""
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError):
        raise NotFound(f"no memory {value!r}") from None


def _unknown_project(name: str) -> ValidationError:
    return ValidationError({"project": [f"no project named {name!r}"]})


@extend_schema(tags=["memories"])
class MemoryViewSet(viewsets.GenericViewSet):
    permission_classes = MEMORY_USERS
    serializer_class = MemorySerializer
    queryset = Memory.objects.all()  # for the browsable API; the views build their own
    pagination_class = KeysetPagination
    lookup_value_regex = "[^/]+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def _actor(self) -> dict:
        return {"actor": ACTOR, "user": self.request.user.get_username()}

    @extend_schema(parameters=[MemoryFilterSerializer], responses=MemorySerializer(many=True))
    def list(self, request):
        """Memories, newest first, filtered by status, type, project and text, a page at a time."""
        params = MemoryFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        f = params.validated_data
        rows = Memory.objects.all()
        if "project" in f:
            if not Project.objects.filter(name=f["project"]).exists():
                raise _unknown_project(f["project"])
            rows = rows.filter(project=f["project"])
        if "status" in f:
            rows = rows.filter(status=f["status"])
        if "type" in f:
            rows = rows.filter(memory_type=f["type"])
        if "search" in f:
            rows = rows.filter(content__icontains=f["search"])
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(MemorySerializer(page, many=True).data)

    @extend_schema(request=MemoryCreateSerializer, responses={201: MemorySerializer})
    def create(self, request):
        """Create a memory (a candidate unless status says active)."""
        body = MemoryCreateSerializer(data=request.data)
        if isinstance(request.data, dict) and (unknown := sorted(set(request.data) - set(body.fields))):
            # As for PATCH: a misspelt or read-only field must not be dropped silently.
            raise ValidationError({name: ["is not a field a memory is created with"] for name in unknown})
        body.is_valid(raise_exception=True)
        memory = services.create_memory(**body.validated_data, **self._actor())
        return Response(MemorySerializer(memory).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[ID_PARAM])
    def retrieve(self, request, pk: str):
        """One memory."""
        return Response(MemorySerializer(Memory.objects.get(pk=_memory_id(pk))).data)

    @extend_schema(parameters=[ID_PARAM], request=MemoryUpdateSerializer, responses=MemorySerializer)
    def partial_update(self, request, pk: str):
        """Change content, type, project, confidence or source; status moves by the actions below."""
        memory_id = _memory_id(pk)
        if isinstance(request.data, dict) and (unknown := sorted(set(request.data) - UPDATABLE)):
            raise ValidationError({name: ["is not a field that can be changed here"] for name in unknown})
        body = MemoryUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        note = fields.pop("note", "")
        memory = services.update_memory(memory_id, note=note, **fields, **self._actor())
        return Response(MemorySerializer(memory).data)

    def _move(self, service, pk: str) -> Response:
        body = NoteSerializer(data=self.request.data)
        body.is_valid(raise_exception=True)
        memory = service(_memory_id(pk), note=body.validated_data["note"], **self._actor())
        return Response(MemorySerializer(memory).data)

    @extend_schema(parameters=[ID_PARAM], request=NoteSerializer, responses=MemorySerializer)
    @action(detail=True, methods=["post"])
    def promote(self, request, pk: str):
        """candidate -> active."""
        return self._move(services.promote_memory, pk)

    @extend_schema(parameters=[ID_PARAM], request=NoteSerializer, responses=MemorySerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk: str):
        """candidate -> rejected."""
        return self._move(services.reject_candidate_memory, pk)

    @extend_schema(parameters=[ID_PARAM], request=NoteSerializer, responses=MemorySerializer)
    @action(detail=True, methods=["post"])
    def invalidate(self, request, pk: str):
        """active -> invalid."""
        return self._move(services.invalidate_memory, pk)

    @extend_schema(parameters=[ID_PARAM], request=NoteSerializer, responses=MemorySerializer)
    @action(detail=True, methods=["post"])
    def reinforce(self, request, pk: str):
        """One more reference: count + 1, confidence nudged up (candidate or active)."""
        return self._move(services.reinforce_memory, pk)

    @extend_schema(parameters=[ID_PARAM], request=SupersedeSerializer, responses=MemorySerializer)
    @action(detail=True, methods=["post"])
    def supersede(self, request, pk: str):
        """active -> superseded, by another active memory."""
        memory_id = _memory_id(pk)
        body = SupersedeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        by = body.validated_data["by"]
        try:
            memory = services.supersede_memory(
                memory_id, by=by, note=body.validated_data["note"], **self._actor()
            )
        except Memory.DoesNotExist:
            if Memory.objects.filter(pk=memory_id).exists():
                raise ValidationError({"by": [f"no memory {by}"]}) from None
            raise
        return Response(MemorySerializer(memory).data)


def _project(name: str) -> Project:
    if "\x00" in name:
        raise NotFound(f"no project {name!r}")
    return Project.objects.get(name=name)


@extend_schema(tags=["projects"])
class ProjectListView(ListAPIView):
    """All projects, by name."""

    permission_classes = MEMORY_USERS
    serializer_class = ProjectSerializer
    pagination_class = None
    queryset = Project.objects.order_by("name")


@extend_schema(tags=["projects"])
class ProjectDetailView(RetrieveAPIView):
    """One project."""

    permission_classes = MEMORY_USERS
    serializer_class = ProjectSerializer

    def get_object(self):
        return _project(self.kwargs["name"])


@extend_schema(tags=["projects"])
class ProjectStateListView(ListAPIView):
    """A project's state: every category/key with its JSON value."""

    permission_classes = MEMORY_USERS
    serializer_class = ProjectStateSerializer
    pagination_class = None

    def get_queryset(self):
        project = _project(self.kwargs["name"])
        return ProjectState.objects.filter(project=project.name).order_by("category", "key")


@extend_schema(tags=["projects"])
class ProjectStateDetailView(RetrieveAPIView):
    """One state entry, ``project/category/key``."""

    permission_classes = MEMORY_USERS
    serializer_class = ProjectStateSerializer

    def get_object(self):
        project = _project(self.kwargs["name"])
        category, key = self.kwargs["category"], self.kwargs["key"]
        if "\x00" in category + key:
            raise NotFound("no such state")
        return ProjectState.objects.get(project=project.name, category=category, key=key)
