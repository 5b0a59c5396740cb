"""The shots' REST API routes."""

from django.urls import URLPattern, path

from shots import api

urlpatterns: list[URLPattern] = [
    path("projects/<uuid:project_id>/shots", api.ShotListApi.as_view(), name="shot-list"),
    path("projects/<uuid:project_id>/shots/reorder", api.ShotReorderApi.as_view(), name="shot-reorder"),
    path("shots/<uuid:shot_id>", api.ShotDetailApi.as_view(), name="shot-detail"),
    path("shots/<uuid:shot_id>/generate", api.ShotGenerateApi.as_view(), name="shot-generate"),
    path("tasks/batch", api.ShotGenerateBatchApi.as_view(), name="task-batch"),
    path("shots/<uuid:shot_id>/versions", api.ShotVersionListApi.as_view(), name="shot-versions"),
    path("shots/<uuid:shot_id>/candidates", api.ShotCandidatesApi.as_view(), name="shot-candidates"),
    path(
        "shots/<uuid:shot_id>/candidates/<uuid:candidate_id>/choose",
        api.ShotCandidateChooseApi.as_view(),
        name="shot-candidate-choose",
    ),
    path("generate", api.StudioGenerateApi.as_view(), name="studio-generate"),
    path("images", api.PictureListApi.as_view(), name="picture-list"),
    path("images/<uuid:picture_id>", api.PictureDetailApi.as_view(), name="picture-detail"),
    path("images/<uuid:picture_id>/use", api.PictureUseApi.as_view(), name="picture-use"),
    path(
        "shots/<uuid:shot_id>/versions/<uuid:version_id>/restore",
        api.ShotVersionRestoreApi.as_view(),
        name="shot-version-restore",
    ),
]
