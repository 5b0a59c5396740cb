from __future__ import annotations

import uuid

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.access import Role
from core.api import Pagination, paginated, signed_in_id
from core.errors import ApplicationError
from shots import candidates, history, selectors, services, studio
from shots.film import film
from shots.serializers import (
    CandidateSerializer,
    CandidatesRequestSerializer,
    GenerateBatchSerializer,
    GenerateSerializer,
    PictureSerializer,
    PictureUseSerializer,
    ReorderSerializer,
    ShotCreateSerializer,
    ShotQuerySerializer,
    ShotSerializer,
    ShotVersionSerializer,
    ShotWriteSerializer,
    StudioRequestSerializer,
    StudioTaskSerializer,
    VersionQuerySerializer,
)
from shots.stages import Stage
from tasks.serializers import TaskSerializer
from tasks.throttles import GENERATION_THROTTLES


class ShotListApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(parameters=[ShotQuerySerializer], responses=ShotSerializer(many=True))
    def get(self, request: Request, project_id: str) -> Response:
        """The project's shots in order (``?approved=true|false`` for the approved ones or the others)."""
        project = film().project_get(user=request.user, project_id=project_id, role=Role.VIEWER)
        query = ShotQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        shots = selectors.shot_list(project_id=project.pk, approved=query.validated_data["approved"])
        return Response(ShotSerializer(shots, many=True).data)

    @extend_schema(request=ShotCreateSerializer, responses={201: ShotSerializer})
    def post(self, request: Request, project_id: str) -> Response:
        """Add a shot (after ``afterShotId``, else at the end) and queue its image and speech."""
        project = film().project_get(user=request.user, project_id=project_id)
        serializer = ShotCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        shot = services.shot_create(project_id=project.pk, **serializer.validated_data)
        return Response(ShotSerializer(shot).data, status=status.HTTP_201_CREATED)


class ShotDetailApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(responses=ShotSerializer)
    def get(self, request: Request, shot_id: str) -> Response:
        return Response(ShotSerializer(selectors.shot_get(user=request.user, shot_id=shot_id, role=Role.VIEWER)).data)

    @extend_schema(request=ShotWriteSerializer, responses=ShotSerializer)
    def patch(self, request: Request, shot_id: str) -> Response:
        """Edit a shot; only the stages the edit touches are regenerated."""
        return shot_update_response(request, shot_id, request.data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, shot_id: str) -> Response:
        services.shot_delete(shot=selectors.shot_get(user=request.user, shot_id=shot_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


def shot_update_response(request: Request, shot_id: str, data: object) -> Response:
    shot = selectors.shot_get(user=request.user, shot_id=shot_id)
    serializer = ShotWriteSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    shot = services.shot_update(shot=shot, changes=dict(serializer.validated_data))
    # Read again as committed (a delete may have followed the edit: 404, as for any shot gone).
    return Response(ShotSerializer(selectors.shot_get(user=request.user, shot_id=shot.pk)).data)


class ShotReorderApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(request=ReorderSerializer, responses=ShotSerializer(many=True))
    def post(self, request: Request, project_id: str) -> Response:
        """Set the order of all shots: ``shotIds`` must name every shot of the project once."""
        project = film().project_get(user=request.user, project_id=project_id)
        serializer = ReorderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        shots = services.shots_reorder(project_id=project.pk, shot_ids=serializer.validated_data["shot_ids"])
        return Response(ShotSerializer(shots, many=True).data)


class ShotGenerateApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(request=GenerateSerializer, responses={202: TaskSerializer})
    def post(self, request: Request, shot_id: str) -> Response:
        """Regenerate one stage (image, motion or speech) of one shot; 202 with its task."""
        serializer = GenerateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        return shot_generate_response(request, shot_id, data["stage"], force=data["force"])


class ShotGenerateBatchApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(request=GenerateBatchSerializer, responses={202: TaskSerializer(many=True)})
    def post(self, request: Request) -> Response:
        """One stage for many shots in one call (``POST /api/v1/tasks/batch``): every shot is
        checked first, and all tasks are made or none (400 or 404 names the shot as
        ``shotIds[2]``). 202: the tasks, in the list's order."""
        serializer = GenerateBatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        shots = []
        for index, shot_id in enumerate(data["shot_ids"]):
            try:
                shots.append(selectors.shot_get(user=request.user, shot_id=shot_id))
            except Http404:
                raise ApplicationError(
                    f"No shot {shot_id} of yours (or shared with you to edit).",
                    code="not_found",
                    field=f"shotIds[{index}]",
                ) from None
        tasks = services.shots_generate_batch(shots=shots, stage=data["stage"], force=data["force"])
        return Response(TaskSerializer(tasks, many=True).data, status=status.HTTP_202_ACCEPTED)


def shot_generate_response(request: Request, shot_id: str, stage: Stage, *, force: bool = False) -> Response:
    shot = selectors.shot_get(user=request.user, shot_id=shot_id)
    task = services.shot_generate(shot=shot, stage=stage, force=force)
    return Response(TaskSerializer(task).data, status=status.HTTP_202_ACCEPTED)


class ShotVersionListApi(APIView):
    @extend_schema(parameters=[VersionQuerySerializer], responses=ShotVersionSerializer(many=True))
    def get(self, request: Request, shot_id: str) -> Response:
        """The shot's kept results, newest first (``?stage=image|motion|speech`` for one stage)."""
        shot = selectors.shot_get(user=request.user, shot_id=shot_id, role=Role.VIEWER)
        query = VersionQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        versions = list(history.version_list(shot=shot, stage=query.validated_data.get("stage")))
        newest: dict[str, int] = {}
        for version in versions:
            version.shot = shot
            newest[version.stage] = max(newest.get(version.stage, 0), version.number)
        return Response(ShotVersionSerializer(versions, many=True, context={"newest": newest}).data)


class ShotVersionRestoreApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(request=None, responses=ShotSerializer)
    def post(self, request: Request, shot_id: str, version_id: uuid.UUID) -> Response:
        """Make an earlier result the shot's again, with the prompt or narration that made it (a
        new version; nothing is lost). Only what it makes stale is redone: a picture's clip, if
        none was kept, and this shot in the film."""
        shot = selectors.shot_get(user=request.user, shot_id=shot_id)
        shot = history.version_restore(shot=shot, version_id=version_id)
        return Response(ShotSerializer(selectors.shot_get(user=request.user, shot_id=shot.pk, role=Role.VIEWER)).data)


class ShotCandidatesApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(responses=CandidateSerializer(many=True))
    def get(self, request: Request, shot_id: str) -> Response:
        """The pictures painted for the shot to choose from, newest first (each with its
        thumbnail, size and seed)."""
        shot = selectors.shot_get(user=request.user, shot_id=shot_id, role=Role.VIEWER)
        return Response(CandidateSerializer(candidates.candidate_list(shot=shot), many=True).data)

    @extend_schema(request=CandidatesRequestSerializer, responses={202: TaskSerializer})
    def post(self, request: Request, shot_id: str) -> Response:
        """Paint ``count`` pictures of the shot in one call of its film's picture tier, seeds
        counting up from ``seed``; 202 with the task. ``steps`` and ``guidance`` are checked
        against what the tier's model takes."""
        shot = selectors.shot_get(user=request.user, shot_id=shot_id)
        serializer = CandidatesRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = candidates.candidates_request(shot=shot, **serializer.validated_data)
        return Response(TaskSerializer(task).data, status=status.HTTP_202_ACCEPTED)


class ShotCandidateChooseApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(request=None, responses=ShotSerializer)
    def post(self, request: Request, shot_id: str, candidate_id: uuid.UUID) -> Response:
        """Make the candidate the shot's picture (a new version of it, with its seed); only this
        shot is redone in the film."""
        shot = selectors.shot_get(user=request.user, shot_id=shot_id)
        shot = candidates.candidate_choose(shot=shot, candidate_id=candidate_id)
        return Response(ShotSerializer(selectors.shot_get(user=request.user, shot_id=shot.pk)).data)


class StudioGenerateApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(request=StudioRequestSerializer, responses={202: StudioTaskSerializer})
    def post(self, request: Request) -> Response:
        """The image studio: paint ``count`` pictures of ``prompt`` outside any film, into your
        gallery (``GET /api/v1/images``), seeds counting up from ``seed``, with the tier's model
        (``steps`` and ``guidance`` checked against what it takes), a style and a frame. 202 with
        the task (your own: it has no project) and ``estimatedSeconds``; follow it at
        ``GET /api/v1/tasks/{id}``, whose result names the pictures."""
        serializer = StudioRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = studio.studio_request(owner_id=signed_in_id(request), **serializer.validated_data)
        return Response(StudioTaskSerializer(task).data, status=status.HTTP_202_ACCEPTED)


class PictureListApi(APIView):
    @extend_schema(operation_id="images_list", responses=paginated(PictureSerializer, "PicturePage"))
    def get(self, request: Request) -> Response:
        """Your gallery: the studio's pictures, newest request first, a page at a time."""
        paginator = Pagination()
        page = paginator.paginate_queryset(studio.picture_list(owner_id=signed_in_id(request)), request, view=self)
        return paginator.get_paginated_response(PictureSerializer(page, many=True).data)


class PictureDetailApi(APIView):
    @extend_schema(responses=PictureSerializer)
    def get(self, request: Request, picture_id: uuid.UUID) -> Response:
        picture = studio.picture_list(owner_id=signed_in_id(request)).filter(pk=picture_id).first()
        if picture is None:
            raise Http404("No such picture in your gallery.")
        return Response(PictureSerializer(picture).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, picture_id: uuid.UUID) -> Response:
        """Take the picture out of your gallery (a shot that took it keeps it)."""
        studio.picture_delete(owner_id=signed_in_id(request), picture_id=picture_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PictureUseApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(request=PictureUseSerializer, responses=ShotSerializer)
    def post(self, request: Request, picture_id: uuid.UUID) -> Response:
        """Make the picture the shot's (a new version of its picture, with the picture's seed);
        only that shot is redone in its film."""
        serializer = PictureUseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        shot = selectors.shot_get(user=request.user, shot_id=serializer.validated_data["shot_id"])
        shot = studio.picture_use(shot=shot, owner_id=signed_in_id(request), picture_id=picture_id)
        return Response(ShotSerializer(selectors.shot_get(user=request.user, shot_id=shot.pk)).data)
