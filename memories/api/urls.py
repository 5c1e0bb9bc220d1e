from django.urls import path
from rest_framework.routers import SimpleRouter

from memories.api import views

router = SimpleRouter()
router.register("memories", views.MemoryViewSet, basename="api-memory")

urlpatterns = [
    *router.urls,
    path("projects/", views.ProjectListView.as_view(), name="api-projects"),
    path("projects/<str:name>/", views.ProjectDetailView.as_view(), name="api-project"),
    path("projects/<str:name>/state/", views.ProjectStateListView.as_view(), name="api-project-state"),
    path(
        "projects/<str:name>/state/<str:category>/<str:key>/",
        views.ProjectStateDetailView.as_view(),
        name="api-project-state-key",
    ),
]
