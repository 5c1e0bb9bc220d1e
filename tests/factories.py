"""Small builders for tests; every memory goes through the services, as in production."""

import itertools

from memories import services
from memories.models import Memory, Project

_counter = itertools.count(1)


def project(name: str = "demo") -> Project:
    return Project.objects.get_or_create(name=name)[0]


def memory(
    *, content: str | None = None, project_name: str = "demo", actor: str = "test", **kwargs
) -> Memory:
    project(project_name)
    kwargs.setdefault("memory_type", "fact")
    return services.create_memory(
        content=content or f"memory number {next(_counter)}", project=project_name, actor=actor, **kwargs
    )
