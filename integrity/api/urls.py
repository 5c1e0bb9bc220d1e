from django.urls import path

from integrity.api import views

urlpatterns = [
    path("integrity/latest/", views.LatestIntegrityView.as_view(), name="api-integrity-latest"),
    path("integrity/runs/", views.IntegrityRunListView.as_view(), name="api-integrity-runs"),
]
