from __future__ import annotations

import shutil
import uuid
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.http import FileResponse, HttpResponse
from django.utils import timezone
from django.utils.translation import get_language
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from core.access import Role
from core.api import Pagination, paginated
from projects import selectors, services
from projects.bundles import bundle_import
from projects.conversation import shot_refine, storyboard_refine, turn_list
from projects.pipeline import project_render
from projects.serializers import (
    CharacterCreateSerializer,
    CharacterSerializer,
    CharacterWriteSerializer,
    ExportQuerySerializer,
    MemberSerializer,
    MemberWriteSerializer,
    ProjectBatchCreatedSerializer,
    ProjectBatchSerializer,
    ProjectCreatedSerializer,
    ProjectCreateSerializer,
    ProjectSerializer,
    ProjectUpdateSerializer,
    RefineSerializer,
    RenderRequestSerializer,
    SharedFilmSerializer,
    ShareLinkSerializer,
    SnapshotSerializer,
    StoryboardRefineSerializer,
    StoryboardSerializer,
    StoryDraftedSerializer,
    StoryDraftSerializer,
    TranslateSerializer,
    TurnQuerySerializer,
    TurnSerializer,
    UsageQuerySerializer,
    UsageSerializer,
    WebhookAnswerSerializer,
    WebhookSerializer,
)
from projects.sharing import (
    link_create,
    link_list,
    link_path,
    link_project,
    link_revoke,
    link_token,
    member_list,
    member_remove,
    member_set,
)
from projects.stories import story_draft, storyboard_start
from projects.storyboards import storyboard_restore
from projects.throttles import NEW_PROJECT_THROTTLES, new_projects_allowed
from projects.translation import project_translate
from projects.usage import usage_sum
from projects.webhooks import webhook_set
from shots.selectors import shot_get
from shots.serializers import ShotSerializer
from shots.stages import STAGES
from tasks.models import Task
from tasks.selectors import task_list_latest
from tasks.serializers import TaskSerializer
from tasks.throttles import GENERATION_THROTTLES


class ProjectListApi(APIView):
    throttle_classes = NEW_PROJECT_THROTTLES

    @extend_schema(responses=paginated(ProjectSerializer, "ProjectPage"), operation_id="projects_list")
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        page = paginator.paginate_queryset(selectors.project_list(user=request.user), request, view=self)
        return paginator.get_paginated_response(ProjectSerializer(page, many=True).data)

    @extend_schema(request=ProjectCreateSerializer, responses={202: ProjectCreatedSerializer})
    def post(self, request: Request) -> Response:
        """Create a project from a story. 202: the storyboard task was queued."""
        return project_create_response(request)


def project_create_response(request: Request) -> Response:
    serializer = ProjectCreateSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    project, tasks = services.project_create(owner=request.user, **serializer.validated_data)  # type: ignore[arg-type]
    body = {"project": ProjectSerializer(project).data, "tasks": TaskSerializer(tasks, many=True).data}
    return Response(body, status=status.HTTP_202_ACCEPTED)


class ProjectBatchApi(APIView):
    throttle_classes = GENERATION_THROTTLES  # the hourly allowance is checked for the whole batch below

    @extend_schema(request=ProjectBatchSerializer, responses={202: ProjectBatchCreatedSerializer})
    def post(self, request: Request) -> Response:
        """Create several projects in one request: every one is checked first, and all are made
        or none (400 names the first field of each one that is wrong, as ``projects[2].story``;
        429 when they do not all fit in the hourly allowance). 202: their storyboards are queued."""
        serializer = ProjectBatchSerializer(data=request.data)
        if not serializer.is_valid():
            raise ValidationError(_indexed(serializer.errors))
        items = serializer.validated_data["projects"]
        new_projects_allowed(request.user, len(items))
        made = services.projects_create_batch(owner=request.user, items=items)  # type: ignore[arg-type]
        body = {"projects": [{"project": project, "tasks": tasks} for project, tasks in made]}
        return Response(ProjectBatchCreatedSerializer(body).data, status=status.HTTP_202_ACCEPTED)


def _indexed(errors: Any) -> Any:
    """``{"projects": [{}, {"story": [...]}]}`` as ``{"projects[1].story": [...]}``."""
    items = errors.get("projects") if isinstance(errors, dict) else None
    if not isinstance(items, list) or not any(isinstance(item, dict) for item in items):
        return errors
    flat = {key: value for key, value in errors.items() if key != "projects"}
    for index, item in enumerate(items):
        for field, problem in (item or {}).items():
            flat[f"projects[{index}].{field}"] = problem
    return flat


class ProjectDetailApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(responses=ProjectSerializer)
    def get(self, request: Request, project_id: str) -> Response:
        return Response(
            ProjectSerializer(selectors.project_get(user=request.user, project_id=project_id, role=Role.VIEWER)).data
        )

    @extend_schema(request=ProjectUpdateSerializer, responses=ProjectSerializer)
    def patch(self, request: Request, project_id: str) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        serializer = ProjectUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = services.project_update(project=project, changes=dict(serializer.validated_data))
        return Response(ProjectSerializer(project).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: str) -> Response:
        services.project_delete(
            project=selectors.project_get(user=request.user, project_id=project_id, role=Role.OWNER)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class StoryboardApi(APIView):
    @extend_schema(
        responses={200: StoryboardSerializer, 304: OpenApiResponse(description="Unchanged since the ETag sent.")},
        parameters=[OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER, required=False)],
    )
    def get(self, request: Request, project_id: str) -> HttpResponse:
        """The project, its characters and its ordered shots, with the latest tasks, in one read.
        Send the ETag of the last read as ``If-None-Match``: unchanged, it answers 304 at once."""
        version = selectors.storyboard_version(user=request.user, project_id=project_id)
        etag = f'"{version}"'
        response: HttpResponse
        if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
            response = HttpResponse(status=status.HTTP_304_NOT_MODIFIED)
        else:
            # The body of a version is made once per language (it holds the status in words):
            # every read of it after that (the editor's re-reads, other tabs) is the stored
            # bytes. The version names the project and everything the body shows, so a stored
            # body is never another's or out of date.
            key = selectors.storyboard_body_key(version, get_language())
            body = cache.get(key)
            if body is None:
                body = JSONRenderer().render(storyboard_body(request, project_id))
                cache.set(key, body, timeout=3600)
            response = HttpResponse(body, content_type="application/json")
        response["ETag"] = etag
        response["Cache-Control"] = "private, no-cache"
        return response


def storyboard_body(request: Request, project_id: str) -> dict[str, Any]:
    project = selectors.project_storyboard(user=request.user, project_id=project_id)
    return StoryboardSerializer(
        {
            "project": project,
            "characters": project.characters.all(),
            "shots": project.shots.all(),
            "tasks": task_list_latest(project_id=project.id),
            "drafts": selectors.project_drafts(project=project),
        }
    ).data


class CharacterListApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(responses=CharacterSerializer(many=True))
    def get(self, request: Request, project_id: str) -> Response:
        project = selectors.project_storyboard(user=request.user, project_id=project_id)
        return Response(CharacterSerializer(project.characters.all(), many=True).data)

    @extend_schema(request=CharacterCreateSerializer, responses={201: CharacterSerializer})
    def post(self, request: Request, project_id: str) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        serializer = CharacterCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        character = services.character_create(project=project, **serializer.validated_data)
        return Response(CharacterSerializer(character).data, status=status.HTTP_201_CREATED)


class CharacterDetailApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(responses=CharacterSerializer)
    def get(self, request: Request, character_id: str) -> Response:
        return Response(
            CharacterSerializer(
                selectors.character_get(user=request.user, character_id=character_id, role=Role.VIEWER)
            ).data
        )

    @extend_schema(request=CharacterWriteSerializer, responses=CharacterSerializer)
    def patch(self, request: Request, character_id: str) -> Response:
        character = selectors.character_get(user=request.user, character_id=character_id)
        serializer = CharacterWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        character = services.character_update(character=character, changes=dict(serializer.validated_data))
        return Response(CharacterSerializer(character).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, character_id: str) -> Response:
        services.character_delete(character=selectors.character_get(user=request.user, character_id=character_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectWebhookApi(APIView):
    @extend_schema(request=WebhookSerializer, responses={200: WebhookAnswerSerializer})
    def put(self, request: Request, project_id: str) -> Response:
        """Call this URL when a render finishes or fails; a new signing secret comes with it."""
        project = selectors.project_get(user=request.user, project_id=project_id, role=Role.OWNER)
        serializer = WebhookSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = webhook_set(project=project, url=serializer.validated_data["url"])
        return Response({"url": project.webhook_url, "secret": project.webhook_secret})

    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: str) -> Response:
        webhook_set(project=selectors.project_get(user=request.user, project_id=project_id, role=Role.OWNER), url="")
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectDuplicateApi(APIView):
    throttle_classes = NEW_PROJECT_THROTTLES

    @extend_schema(request=None, responses={201: ProjectSerializer})
    def post(self, request: Request, project_id: str) -> Response:
        """A copy of the project (story, settings, characters, shots, their media and the film;
        no tasks, no webhook), to try something without losing what is there."""
        project = services.project_duplicate(
            project=selectors.project_get(user=request.user, project_id=project_id, role=Role.OWNER)
        )
        return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)


class ProjectRenderApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(request=RenderRequestSerializer, responses={202: TaskSerializer})
    def post(self, request: Request, project_id: str) -> Response:
        """Compose the film; the task waits for any shot media still being generated. When shots
        failed, answers 409 naming them unless ``force`` is set."""
        project = selectors.project_get(user=request.user, project_id=project_id)
        serializer = RenderRequestSerializer(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        task = project_render(project=project, force=serializer.validated_data["force"])
        return Response(TaskSerializer(task).data, status=status.HTTP_202_ACCEPTED)


EXPORTS = {
    "video": ("video/mp4", ".mp4"),
    "poster": ("image/jpeg", ".jpg"),
    "srt": ("application/x-subrip; charset=utf-8", ".srt"),
    "vtt": ("text/vtt; charset=utf-8", ".vtt"),
    "otio": ("application/json", ".otio"),
    "fcpxml": ("application/xml", ".xml"),
    "edl": ("text/plain; charset=utf-8", ".edl"),
    "bundle": ("application/zip", ".zip"),
    "jianying": ("application/zip", "-jianying.zip"),
}


class ProjectExportApi(APIView):
    @extend_schema(
        parameters=[ExportQuerySerializer], responses={(200, "application/octet-stream"): OpenApiTypes.BINARY}
    )
    def get(self, request: Request, project_id: str, fmt: str) -> FileResponse:
        """Download the film (``video``), its ``poster``, subtitles (``srt``, ``vtt``), its
        editable timeline (``otio``, ``fcpxml``, ``edl``), a JianYing / CapCut draft
        (``jianying``: a zip of the draft's folder; ``draftsFolder`` is the JianYing drafts folder it
        will be unpacked into, so that JianYing finds its media) or everything as a ``bundle``."""
        project = selectors.project_get(user=request.user, project_id=project_id, role=Role.VIEWER)
        if fmt not in EXPORTS:
            raise NotFound(f"No such export; choose one of: {', '.join(EXPORTS)}.")
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        content_type, suffix = EXPORTS[fmt]
        path, temporary = services.project_export(
            project=project,
            fmt=fmt,
            base_url=request.build_absolute_uri("/"),
            root=query.validated_data["draftsFolder"],
        )
        handle = open(path, "rb")  # noqa: SIM115 - closed by Django after streaming
        if temporary:
            shutil.rmtree(path.parent, ignore_errors=True)  # the open handle keeps the data readable
        response = FileResponse(handle, content_type=content_type)
        response["Content-Disposition"] = services.export_disposition(project, suffix)
        return response


BINARY = {"type": "string", "format": "binary"}


def multipart(**fields: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI body of a multipart form whose every field is required."""
    return {"multipart/form-data": {"type": "object", "properties": fields, "required": list(fields)}}


class ProjectImportApi(APIView):
    throttle_classes = NEW_PROJECT_THROTTLES
    parser_classes = [MultiPartParser]

    @extend_schema(request=multipart(bundle=BINARY), responses={201: ProjectSerializer})
    def post(self, request: Request) -> Response:
        """Import a bundle (a zip downloaded from ``exports/bundle``) as a new project."""
        upload = request.FILES.get("bundle")
        if upload is None:
            raise ValidationError({"bundle": "Attach the bundle as the multipart field 'bundle'."})
        project = bundle_import(owner=request.user, upload=upload)  # type: ignore[arg-type]
        return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)


class ShotMediaApi(APIView):
    throttle_classes = GENERATION_THROTTLES
    parser_classes = [MultiPartParser]

    @extend_schema(
        request=multipart(stage={"type": "string", "enum": ["image", "speech"]}, file=BINARY),
        responses={200: ShotSerializer},
    )
    def post(self, request: Request, shot_id: str) -> Response:
        """Put your own picture (``stage=image``: PNG, JPEG or WebP, fitted to the frame) or
        narration recording (``stage=speech``: WAV, MP3, M4A…, levelled) on the shot in place of
        the generated one. A file that does not decode answers 400 and changes nothing."""
        shot = shot_get(user=request.user, shot_id=shot_id)
        stage = request.data.get("stage")
        if stage not in ("image", "speech"):
            raise ValidationError({"stage": 'Say which file this is: "image" or "speech".'})
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": "Attach the file as the multipart field 'file'."})
        shot = services.shot_set_own_media(shot=shot, stage=STAGES[stage], upload=upload)
        return Response(ShotSerializer(shot).data)


class ProjectMusicApi(APIView):
    throttle_classes = GENERATION_THROTTLES
    parser_classes = [MultiPartParser]

    @extend_schema(request=multipart(file=BINARY), responses={200: ProjectSerializer})
    def put(self, request: Request, project_id: str) -> Response:
        """Set the background music (any audio file ffmpeg reads); it loops under the narration,
        ducked while someone speaks. A rendered film is recomposed."""
        project = selectors.project_get(user=request.user, project_id=project_id)
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": "Attach the music as the multipart field 'file'."})
        project = services.project_set_music(project=project, upload=upload)
        return Response(ProjectSerializer(project).data)

    @extend_schema(responses={200: ProjectSerializer})
    def delete(self, request: Request, project_id: str) -> Response:
        project = selectors.project_get(user=request.user, project_id=project_id)
        return Response(ProjectSerializer(services.project_set_music(project=project, upload=None)).data)


class ShotRefineApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(request=RefineSerializer, responses={202: TaskSerializer})
    def post(self, request: Request, shot_id: str) -> Response:
        """Ask the storyboard's language model to rewrite the shot's picture prompt (and, with
        ``narration``, its narration) on an instruction; 202 with its task. Earlier instructions
        on the shot go with it. When it is done only what changed is made again. 409 where the
        storyboard back end is the draft, which cannot follow an instruction."""
        shot = shot_get(user=request.user, shot_id=shot_id)
        serializer = RefineSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = shot_refine(shot=shot, **serializer.validated_data)
        return Response(TaskSerializer(task).data, status=status.HTTP_202_ACCEPTED)


class ConversationApi(APIView):
    @extend_schema(parameters=[TurnQuerySerializer], responses=TurnSerializer(many=True))
    def get(self, request: Request, project_id: str) -> Response:
        """The project's conversation with the language model, oldest first."""
        project = selectors.project_get(user=request.user, project_id=project_id, role=Role.VIEWER)
        query = TurnQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        turns = turn_list(project=project, shot_id=query.validated_data.get("shot_id"))
        return Response(TurnSerializer(turns, many=True).data)


class StoryboardRefineApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(request=StoryboardRefineSerializer, responses={202: TaskSerializer})
    def post(self, request: Request, project_id: str) -> Response:
        """Ask the storyboard's language model to rewrite the whole storyboard on an instruction
        ("fewer shots, more suspense"); 202 with its task. Locked shots come back as they are;
        shots still there keep their media; the storyboard before is kept and can be restored."""
        project = selectors.project_get(user=request.user, project_id=project_id)
        serializer = StoryboardRefineSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = storyboard_refine(project=project, **serializer.validated_data)
        return Response(TaskSerializer(task).data, status=status.HTTP_202_ACCEPTED)


class SnapshotListApi(APIView):
    @extend_schema(responses=SnapshotSerializer(many=True))
    def get(self, request: Request, project_id: str) -> Response:
        """The project's earlier storyboards, newest first."""
        project = selectors.project_get(user=request.user, project_id=project_id, role=Role.VIEWER)
        return Response(SnapshotSerializer(project.snapshots.all(), many=True).data)


class SnapshotRestoreApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(request=None, responses=ShotSerializer(many=True))
    def post(self, request: Request, project_id: str, snapshot_id: uuid.UUID) -> Response:
        """Bring back an earlier storyboard with its media; the one it replaces is kept first."""
        project = selectors.project_get(user=request.user, project_id=project_id)
        shots = storyboard_restore(project=project, snapshot_id=snapshot_id)
        return Response(ShotSerializer(shots, many=True).data)


class ProjectTranslateApi(APIView):
    throttle_classes = NEW_PROJECT_THROTTLES

    @extend_schema(request=TranslateSerializer, responses={202: TaskSerializer})
    def post(self, request: Request, project_id: str) -> Response:
        """Translate the film into another language with the storyboard's language model; 202
        with its task, whose result names the new project (``projectId``): the same pictures and
        clips, the narration translated and spoken in the new language's voice. This project is
        not changed; a translation that fails makes nothing."""
        project = selectors.project_get(user=request.user, project_id=project_id, role=Role.OWNER)
        serializer = TranslateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        new_projects_allowed(request.user, 1)
        task = project_translate(project=project, **serializer.validated_data)
        return Response(TaskSerializer(task).data, status=status.HTTP_202_ACCEPTED)


class StoryDraftApi(APIView):
    throttle_classes = NEW_PROJECT_THROTTLES

    @extend_schema(request=StoryDraftSerializer, responses={202: StoryDraftedSerializer})
    def post(self, request: Request) -> Response:
        """Have the storyboard's language model write a story from an idea, into a new project
        (202: the project and its task). Edit the story (PATCH the project's ``story``), then
        ``POST …/storyboard/start``. 409 where the storyboard back end is the draft."""
        serializer = StoryDraftSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        new_projects_allowed(request.user, 1)
        project, task = story_draft(owner=request.user, **serializer.validated_data)
        body = StoryDraftedSerializer({"project": project, "task": task}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


class StoryboardStartApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(request=None, responses={202: TaskSerializer(many=True)})
    def post(self, request: Request, project_id: str) -> Response:
        """Cut the project's story into shots (a story drafted from an idea, or once more after
        a failed storyboard); 409 if it has a storyboard or one is being written."""
        project = selectors.project_get(user=request.user, project_id=project_id)
        tasks = storyboard_start(project=project)
        return Response(TaskSerializer(tasks, many=True).data, status=status.HTTP_202_ACCEPTED)


class ProjectUsageApi(APIView):
    @extend_schema(responses=UsageSerializer)
    def get(self, request: Request, project_id: str) -> Response:
        """What the project's tasks used, summed (and per kind of task), and its cost where prices are set."""
        project = selectors.project_get(user=request.user, project_id=project_id, role=Role.VIEWER)
        return Response(UsageSerializer(usage_sum(project.tasks.all())).data)


class MemberListApi(APIView):
    @extend_schema(responses=MemberSerializer(many=True))
    def get(self, request: Request, project_id: str) -> Response:
        """Who the project is shared with, and as what (anyone it is shared with may read this)."""
        project = selectors.project_get(user=request.user, project_id=project_id, role=Role.VIEWER)
        return Response(MemberSerializer(member_list(project=project), many=True).data)

    @extend_schema(request=MemberWriteSerializer, responses={200: MemberSerializer})
    def post(self, request: Request, project_id: str) -> Response:
        """Share the project with a user as ``viewer`` (watch and download; every change answers
        403) or ``editor`` (change the storyboard and make media), or change their role. Only
        the owner shares; sharing, deleting and the webhook stay the owner's."""
        project = selectors.project_get(user=request.user, project_id=project_id, role=Role.OWNER)
        serializer = MemberWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(MemberSerializer(member_set(project=project, **serializer.validated_data)).data)


class MemberDetailApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: str, user_id: int) -> Response:
        """Stop sharing the project with the user."""
        project = selectors.project_get(user=request.user, project_id=project_id, role=Role.OWNER)
        member_remove(project=project, user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _link_body(request: Request, link: Any) -> dict[str, Any]:
    url = request.build_absolute_uri(link_path(link))
    return ShareLinkSerializer(
        {"id": link.id, "token": link_token(link), "url": url, "createdAt": link.created_at}
    ).data


class ShareLinkListApi(APIView):
    @extend_schema(responses=ShareLinkSerializer(many=True))
    def get(self, request: Request, project_id: str) -> Response:
        """The project's read-only links that still work (the owner's)."""
        project = selectors.project_get(user=request.user, project_id=project_id, role=Role.OWNER)
        return Response([_link_body(request, link) for link in link_list(project=project)])

    @extend_schema(request=None, responses={201: ShareLinkSerializer})
    def post(self, request: Request, project_id: str) -> Response:
        """A new read-only link: anyone who has it may watch the film and download it, with no
        account, until it is revoked."""
        project = selectors.project_get(user=request.user, project_id=project_id, role=Role.OWNER)
        link = link_create(project=project, by=request.user)  # type: ignore[arg-type]
        return Response(_link_body(request, link), status=status.HTTP_201_CREATED)


class ShareLinkDetailApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: str, link_id: uuid.UUID) -> Response:
        """Revoke the link: it stops working at once, wherever it was sent."""
        project = selectors.project_get(user=request.user, project_id=project_id, role=Role.OWNER)
        link_revoke(project=project, link_id=link_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SharedFilmThrottle(AnonRateThrottle):
    scope = "shared"


class SharedFilmApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [SharedFilmThrottle]

    @extend_schema(responses=SharedFilmSerializer, auth=[])
    def get(self, request: Request, token: str) -> Response:
        """The film a read-only link opens (no account needed): its title and render, with
        signed URLs to play or download it. 404 where the link was revoked."""
        project = link_project(token)
        render = ProjectSerializer().get_render(project)
        return Response(
            SharedFilmSerializer({"title": project.title, "language": project.language, "render": render}).data
        )


class UsageApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "from", OpenApiTypes.DATETIME, description="A date or ISO 8601 time; 30 days ago by default."
            ),
            OpenApiParameter("to", OpenApiTypes.DATETIME, description="A date or ISO 8601 time; now by default."),
        ],
        responses=UsageSerializer,
    )
    def get(self, request: Request) -> Response:
        """What your tasks made in a window of time used, summed, and its cost where prices are set."""
        query = UsageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        end = query.validated_data.get("to") or timezone.now()
        start = query.validated_data.get("from") or end - timedelta(days=30)
        tasks = Task.objects.filter(owner_id=request.user.pk, created_at__gte=start, created_at__lte=end)
        return Response(UsageSerializer({**usage_sum(tasks), "start": start, "end": end}).data)
