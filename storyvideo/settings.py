"""The one settings module: every value comes from the environment, parsed strictly.

With nothing set, StoryVideo runs on one machine: SQLite and an embedded Redis under ``var/``,
media on local disk. ``DATABASE_URL``, ``REDIS_URL`` and the ``S3_*`` variables move it to
PostgreSQL, a real Redis and object storage.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from corsheaders.defaults import default_headers as default_cors_headers
from django.core.exceptions import ImproperlyConfigured

from core.embedded import socket_path
from storyvideo.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_origins,
    env_prices,
    env_size,
    env_str,
    env_url,
    secret_key_file,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("STORYVIDEO_VAR_DIR", str(BASE_DIR / "var"))).resolve()


def _secret_key() -> str:
    configured = env_str("SECRET_KEY")
    if configured:
        if len(configured) < 32:
            raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long.")
        return configured
    # Zero-setup default: one random key per installation, kept under var/.
    return secret_key_file(VAR_DIR / "secret_key")


SECRET_KEY = _secret_key()
# The key secrets kept in the database are encrypted under (webhook signing secrets): SECRET_KEY
# unless set, so that SECRET_KEY can be rotated without losing them.
SECRETS_KEY = env_str("SECRETS_KEY", "") or SECRET_KEY
if len(SECRETS_KEY) < 32:
    raise ImproperlyConfigured("SECRETS_KEY must be at least 32 characters long.")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Browsers on these other origins may call the API and /mcp with a token or JWT (never cookies:
# credentials are not allowed, so a session cannot be used across origins). Preflights are
# answered before authentication. (/mcp does not pass through Django: storyvideo/mcp.py gives it
# the same rule.)
CORS_ALLOWED_ORIGINS = env_origins("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/(api|v1/api)/"
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = (*default_cors_headers, "if-none-match", "mcp-session-id", "mcp-protocol-version", "last-event-id")
CORS_EXPOSE_HEADERS = ["ETag", "Retry-After", "Location", "Mcp-Session-Id", "X-Request-Id"]

# Behind a TLS-terminating proxy: HTTPS=true makes cookies secure, redirects plain HTTP and sends
# HSTS. TRUSTED_PROXIES is how many proxies put X-Forwarded-For/-Proto in front of the app; with
# 0 (the default) those headers are ignored, so a client cannot choose the address it is
# throttled by.
HTTPS = env_bool("HTTPS", False)
TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0, minimum=0, maximum=10)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", HTTPS)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXIES else None
SESSION_COOKIE_HTTPONLY = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_simplejwt.token_blacklist",  # refresh tokens rotated or logged out stay refused
    "corsheaders",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Redoc served from here: the docs work offline
    "django_rq",
    "channels",
    "storyvideo.apps.StoryVideoConfig",
    "accounts",
    "projects",
    "shots",
    "tasks",
]
# Daphne's app gives `manage.py runserver` the ASGI server (WebSockets included); it starts
# Twisted's reactor as it loads (0.17 s), so only runserver has it, not every worker and command.
if sys.argv[1:2] == ["runserver"]:
    INSTALLED_APPS.insert(0, "daphne")

MIDDLEWARE = [
    "core.metrics.RequestMetricsMiddleware",
    "core.middleware.ApiPathMiddleware",
    "corsheaders.middleware.CorsMiddleware",  # before anything that answers: preflights need no login
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # the browser's language, or the one a person chose
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.audit.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.ContentSecurityPolicyMiddleware",
    "core.middleware.LoginThrottleMiddleware",
]

ROOT_URLCONF = "storyvideo.urls"
WSGI_APPLICATION = "storyvideo.wsgi.application"
ASGI_APPLICATION = "storyvideo.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
DATABASE_URL = env_url("DATABASE_URL", {"postgres", "postgresql", "sqlite"})
if DATABASE_URL:
    try:
        # A kept connection is checked before each request or job reuses it (a restart, a
        # failover or a proxy's idle cut would otherwise fail the first query on it).
        _database = dict(dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True))
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL could not be parsed: {exc}") from None
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    _database = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(VAR_DIR / "db.sqlite3")}
if _database["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process and the workers write side by side.
    _database["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Kept open between requests, as PostgreSQL's are (opening one costs more than most reads).
    _database["CONN_MAX_AGE"] = 60
    # A file, not memory, so that worker processes started by the tests share it.
    _database["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
else:
    # Each process's connections say whose they are (pg_stat_activity.application_name).
    _options = dict(_database.get("OPTIONS") or {})  # type: ignore[call-overload]
    _database["OPTIONS"] = {**_options, "application_name": f"storyvideo {os.getpid()}"}
DATABASES = {"default": _database}
# Requests in Django at once per web process (each holds a database connection while it runs;
# the rest wait their turn): with WEB_WORKERS processes, keep WEB_WORKERS x this (plus the
# workers' few) under PostgreSQL's max_connections (100 by default).
WEB_REQUESTS_AT_ONCE = env_int("WEB_REQUESTS_AT_ONCE", 24, minimum=1, maximum=1000)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: queues, locks and the Channels layer --------------------------------------
_redis_url = env_url("REDIS_URL", {"redis", "rediss", "unix"})
EMBEDDED_REDIS = _redis_url is None
REDIS_URL: str = _redis_url or f"unix://{socket_path(VAR_DIR)}?db=0"

# --- Tasks ------------------------------------------------------------------------------
TASK_MAX_ATTEMPTS = env_int("TASK_MAX_ATTEMPTS", 3, minimum=1, maximum=20)
# How long one attempt of a task may run before it is stopped: TASK_TIMEOUT_S, unless its kind
# says otherwise (the language model's work: TASK_TIMEOUT_STORYBOARD_S; a narration line's).
TASK_TIMEOUT_S = env_int("TASK_TIMEOUT_S", 20 * 60, minimum=5)
TASK_TIMEOUT_STORYBOARD_S = env_int("TASK_TIMEOUT_STORYBOARD_S", 10 * 60, minimum=5)
TASK_TIMEOUT_SPEECH_S = env_int("TASK_TIMEOUT_SPEECH_S", 5 * 60, minimum=5)

RQ_QUEUES = {
    "inference": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": TASK_TIMEOUT_S},
    "media": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": TASK_TIMEOUT_S},
}
# Throttles' counters, shared by every web process (an unreachable Redis lets requests through).
CACHES = {"default": {"BACKEND": "storyvideo.cache.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "storyvideo"}}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": "storyvideo:asgi", "capacity": 500, "expiry": 30},
    }
}

# Each owner's tasks on a queue at once (queued or running); the rest wait their turn in the
# database, so one person's backlog delays another's first task by at most one task's run.
# Raise it with the number of workers serving a queue.
QUEUE_SLOTS_PER_OWNER = env_int("QUEUE_SLOTS_PER_OWNER", 1, minimum=1, maximum=100)
# Per-user limits (an operator sets a user's own in the admin: Tasks > Quotas): past them the
# API answers 429 with Retry-After.
QUOTA_ACTIVE_TASKS = env_int("QUOTA_ACTIVE_TASKS", 400, minimum=1)
QUOTA_PROJECTS_PER_HOUR = env_int("QUOTA_PROJECTS_PER_HOUR", 30, minimum=1)
# Projects one POST /api/v1/projects/batch may create (all validated first; all or none made).
PROJECT_BATCH_MAX = env_int("PROJECT_BATCH_MAX", 20, minimum=1, maximum=200)
TASK_RETRY_BACKOFF_S = env_float("TASK_RETRY_BACKOFF_S", 5.0)
# How long a task held up by something outside it (a full disk) waits for a person to put it
# right, tried again with a backoff growing to a minute, before it fails for good.
TASK_WAIT_FOR_RESOURCE_S = env_float("TASK_WAIT_FOR_RESOURCE_S", 1800.0, minimum=1.0)
# Below this much free space where films are written, the health check and doctor say so.
DISK_FREE_MIN_BYTES = env_int("DISK_FREE_MIN_BYTES", 1024**3, minimum=0)
# The render cache (VAR_DIR/cache/segments): past this size, what renders used longest ago goes.
RENDER_CACHE_MAX_BYTES = env_int("RENDER_CACHE_MAX_BYTES", 10 * 1024**3, minimum=0)
# A worker process that has not said it is alive for this long is taken for gone (pages, /system).
WORKER_PRESENCE_TTL_S = env_int("WORKER_PRESENCE_TTL_S", 10, minimum=3, maximum=600)
# A processing task whose heartbeat is older than this is taken for dead by the reconciler.
TASK_HEARTBEAT_S = env_float("TASK_HEARTBEAT_S", 5.0, minimum=0.1)
TASK_STALE_S = env_float("TASK_STALE_S", 60.0, minimum=1.0)
RECONCILE_INTERVAL_S = env_float("RECONCILE_INTERVAL_S", 30.0, minimum=1.0)
TASK_PROGRESS_MIN_INTERVAL_S = env_float("TASK_PROGRESS_MIN_INTERVAL_S", 0.25)
# A pending task's job is looked for in Redis only once the task has been quiet this long.
TASK_ENQUEUE_SETTLE_S = env_float("TASK_ENQUEUE_SETTLE_S", 5.0)

# After an edit of a rendered film, its recompose waits this long for the next edit: edits made
# closer together than this are recomposed once (the waiting render takes each new edit in).
COMPOSE_SETTLE_S = env_float("COMPOSE_SETTLE_S", 2.0, maximum=60.0)

# --- Engines ----------------------------------------------------------------------------
STORYVIDEO_PRESET = env_choice("STORYVIDEO_PRESET", "default", {"default", "draft"})
MODELS_DIR = Path(env_str("MODELS_DIR", str(VAR_DIR / "models"))).resolve()
# How long a worker remembers that a model's weights cannot be had here (its draft then starts at once).
MODELS_MISSING_MEMORY_S = env_float("MODELS_MISSING_MEMORY_S", 600.0, minimum=0.0)


# One back end spec per stage (inference/registry.py): blank takes the preset's. With the
# default preset a stage whose weights are neither on disk nor downloadable runs its draft back
# end and says so; `manage.py fetch_models` gets the weights.
def _spec(name: str, stage: str) -> str:
    from inference.registry import PRESETS

    return _spec_text(name, stage, env_str(name) or PRESETS[STORYVIDEO_PRESET][stage])


def _spec_text(name: str, stage: str, text: str) -> str:
    from inference.registry import parse_spec

    try:
        return str(parse_spec(stage, text))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None


STORYBOARD_MODEL = _spec("STORYBOARD_MODEL", "storyboard")
# Pictures come in three tiers a project chooses (IMAGE_TIER its default): draft (the drawn
# title card), fast (IMAGE_MODEL: sd-turbo) and quality (IMAGE_MODEL_QUALITY: FLUX.1-schnell).
IMAGE_MODEL = _spec("IMAGE_MODEL", "image")
IMAGE_MODEL_QUALITY = _spec("IMAGE_MODEL_QUALITY", "image.quality")
IMAGE_TIER = env_choice("IMAGE_TIER", "fast", {"draft", "fast", "quality"})
MOTION_MODEL = _spec("MOTION_MODEL", "motion")  # used only by projects that animate their shots
# How alike a character's pictures are: a CLIP image encoder (hash: the draft measure).
LIKENESS_MODEL = _spec("LIKENESS_MODEL", "likeness")
SPEECH_MODEL_EN = _spec("SPEECH_MODEL_EN", "speech.en")
SPEECH_MODEL_ZH = _spec("SPEECH_MODEL_ZH", "speech.zh")
# Voices users may choose besides the two above, piper voices on disk and espeak-ng's (specs,
# comma-separated: transformers:facebook/mms-tts-eng, piper:zh_CN-huayan-medium).
VOICES = [_spec_text("VOICES", "speech", text) for text in env_list("VOICES", [])]
# Models a worker keeps loaded at once; the least recently used is released past this.
# An inference worker loads the storyboard and keyframe models at its start (in the background),
# so that the first film after a start does not wait for them.
WORKER_WARM_MODELS = env_bool("WORKER_WARM_MODELS", True)
MODELS_LOADED_MAX = env_int("MODELS_LOADED_MAX", 6, minimum=1, maximum=64)
# Narration lines a translation asks the language model for at once; each group is kept as it is
# done, so that an attempt after a timeout goes on from the next group.
TRANSLATE_LINES_AT_ONCE = env_int("TRANSLATE_LINES_AT_ONCE", 12, minimum=1, maximum=200)
# A local storyboard model writes inside the storyboard's JSON schema (lm-format-enforcer).
STORYBOARD_CONSTRAINED = env_bool("STORYBOARD_CONSTRAINED", True)
INFERENCE_DEVICE = env_str("INFERENCE_DEVICE", "auto")
if INFERENCE_DEVICE.split(":")[0] not in {"auto", "cuda", "mps", "cpu"}:
    raise ImproperlyConfigured("INFERENCE_DEVICE must be auto, cuda, cuda:N, mps or cpu.")
INFERENCE_DTYPE = env_choice("INFERENCE_DTYPE", "auto", {"auto", "float16", "bfloat16", "float32"})
# CPU threads of torch in a model worker (inference, language); 0: half the cores it may use,
# leaving the media worker's ffmpegs their share (bench/README.md, "Threads").
INFERENCE_THREADS = env_int("INFERENCE_THREADS", 0, minimum=0, maximum=256)
# Attention slicing, VAE tiling and CPU offload for motion: slower, for small GPUs.
INFERENCE_LOW_MEMORY = env_bool("INFERENCE_LOW_MEMORY", False)
# torch.compile the keyframe denoiser and decode the storyboard with a static cache; and the
# keyframe networks in channels-last order. Off until bench/gpu.py's table shows they pay back.
INFERENCE_COMPILE = env_bool("INFERENCE_COMPILE", False)
INFERENCE_CHANNELS_LAST = env_bool("INFERENCE_CHANNELS_LAST", False)
IMAGE_STEPS = env_int("IMAGE_STEPS", 1, minimum=1, maximum=100)  # sd-turbo: 1 step, no guidance
IMAGE_GUIDANCE = env_float("IMAGE_GUIDANCE", 0.0)
IMAGE_STEPS_QUALITY = env_int("IMAGE_STEPS_QUALITY", 4, minimum=1, maximum=100)  # FLUX.1-schnell: 4, no guidance
IMAGE_GUIDANCE_QUALITY = env_float("IMAGE_GUIDANCE_QUALITY", 0.0)
# Keyframe tasks of one project queued together are drawn in one call of up to this many.
IMAGE_BATCH_SIZE = env_int("IMAGE_BATCH_SIZE", 12, minimum=1, maximum=32)  # out of memory, halved
# Narration lines of one project spoken side by side (piper, espeak-ng), one per CPU core.
SPEECH_PARALLEL = env_int("SPEECH_PARALLEL", os.cpu_count() or 1, minimum=1, maximum=64)
# A tiny autoencoder (taesd's kind: madebyollin/taesd, or a folder) decoding keyframes in place
# of the pipeline's own VAE: much cheaper, a little softer. Empty: the pipeline's own.
IMAGE_VAE = env_str("IMAGE_VAE", "")


# A character's reference picture conditions the pictures of its shots through an IP-Adapter made
# for the tier's model, MODEL:SUBFOLDER/FILE (Stable Diffusion 1.5:
# h94/IP-Adapter:models/ip-adapter_sd15.safetensors; SDXL: h94/IP-Adapter:sdxl_models/ip-adapter_sdxl.safetensors),
# at IMAGE_IP_ADAPTER_SCALE. Blank: none (sd-turbo and FLUX.1-schnell have none that diffusers loads).
def _image_prompt(name: str) -> str:
    from inference.image import ImagePrompt

    text = env_str(name)
    try:
        return str(ImagePrompt.parse(text)) if text else ""
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None


IMAGE_IP_ADAPTER = _image_prompt("IMAGE_IP_ADAPTER")
IMAGE_IP_ADAPTER_QUALITY = _image_prompt("IMAGE_IP_ADAPTER_QUALITY")
IMAGE_IP_ADAPTER_SCALE = env_float("IMAGE_IP_ADAPTER_SCALE", 0.6, minimum=0.0, maximum=1.0)
MOTION_FRAMES = env_int("MOTION_FRAMES", 14, minimum=2, maximum=50)  # SVD's clip; LTX-Video's follows the narration
MOTION_STEPS = env_int("MOTION_STEPS", 0, minimum=0, maximum=100)  # 0: the model's own (SVD 25, LTX distilled 8)
# LTX-Video: a frame's pixels (in the project's aspect ratio), frames a second, the frames of one
# piece (longer clips are extended from their last frames) and the longest clip (past it the
# last frame holds).
MOTION_SIZE = env_size("MOTION_SIZE", (768, 512))
MOTION_FPS = env_int("MOTION_FPS", 24, minimum=4, maximum=60)
MOTION_CLIP_FRAMES = env_int("MOTION_CLIP_FRAMES", 121, minimum=9, maximum=1025)
MOTION_MAX_S = env_float("MOTION_MAX_S", 20.0, minimum=1.0, maximum=120.0)
OPENAI_API_KEY = env_str("OPENAI_API_KEY")

# --- Media storage ----------------------------------------------------------------------
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media"))).resolve()
MEDIA_URL = "/media/"
# Pages and the API hand out media URLs signed for at least this long (local disk and S3).
MEDIA_URL_TTL_S = env_int("MEDIA_URL_TTL_S", 6 * 3600, minimum=60, maximum=7 * 24 * 3600)
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True  # serve static/ directly too, so a missed collectstatic breaks nothing
STATICFILES_DIRS = [BASE_DIR / "static"]
_storage_backend = env_choice("STORAGE", "local", {"local", "s3"})
if _storage_backend == "s3":
    _bucket = env_str("S3_BUCKET")
    if not _bucket:
        raise ImproperlyConfigured("STORAGE=s3 needs S3_BUCKET (and usually S3_ENDPOINT_URL).")
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": _bucket,
            "endpoint_url": env_url("S3_ENDPOINT_URL", {"http", "https"}),
            "region_name": env_str("S3_REGION") or None,
            "access_key": env_str("S3_ACCESS_KEY_ID") or None,
            "secret_key": env_str("S3_SECRET_ACCESS_KEY") or None,
            "querystring_auth": env_bool("S3_SIGNED_URLS", True),
            "querystring_expire": MEDIA_URL_TTL_S,
            "signature_version": "s3v4",  # SigV2 URLs are refused by newer regions and most S3 servers
            "file_overwrite": False,
        },
    }
else:
    _default_storage = {"BACKEND": "core.media.SignedFileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Requests ---------------------------------------------------------------------------
# A 20,000-character story is at most ~120 KB of JSON; anything far larger is refused (413).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_REQUEST_BYTES", 512 * 1024, minimum=64 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE

# --- Limits of what a person may ask for ----------------------------------------------------
STORY_MAX_CHARS = env_int("STORY_MAX_CHARS", 20_000, minimum=100, maximum=200_000)
SHOT_COUNT_MAX = env_int("SHOT_COUNT_MAX", 60, minimum=1, maximum=500)  # shots a storyboard is asked for
SHOTS_MAX = 500  # shots a project may hold (reorder, bundles)
MUSIC_MAX_BYTES = env_int("MUSIC_MAX_BYTES", 50 * 1024**2, minimum=1024**2)
# --- The film's sound and its check ------------------------------------------------------------
# The integrated loudness (EBU R128, LUFS) every film is brought to: -16 for the web and phones,
# -23 for broadcast (EBU R 128), -14 for some streaming services. True peak is kept under -1.5 dBTP.
AUDIO_TARGET_LUFS = env_float("AUDIO_TARGET_LUFS", -16.0, minimum=-36.0, maximum=-9.0)
# The film check names any stretch this long (seconds) where nothing is spoken or played.
FILM_CHECK_SILENCE_S = env_float("FILM_CHECK_SILENCE_S", 2.0, minimum=0.5)
# A person's own picture or narration recording put on a shot (POST /api/v1/shots/{id}/media).
OWN_MEDIA_MAX_BYTES = env_int("OWN_MEDIA_MAX_BYTES", 30 * 1024**2, minimum=1024**2)
OWN_NARRATION_MAX_S = env_float("OWN_NARRATION_MAX_S", 120.0, minimum=1.0)
# The largest own picture decoded in the web process, read from its header first (a 40-megapixel
# PNG costs seconds of a web worker). A JPEG is decoded at a reduced scale no smaller than the
# film's frame, and counted at that scale: a phone's 48-megapixel photo fits.
OWN_PICTURE_MAX_PIXELS = env_int("OWN_PICTURE_MAX_PIXELS", 4096 * 4096, minimum=1920 * 1080)
# Earlier results kept per shot and stage (picture, clip, narration) to look back on and restore.
SHOT_VERSIONS_KEPT = env_int("SHOT_VERSIONS_KEPT", 10, minimum=1, maximum=100)
# Pictures painted for a shot to choose from (POST /api/v1/shots/{id}/candidates): an unchosen
# one, and its file, go this long after it was painted.
CANDIDATES_KEEP_S = env_int("CANDIDATES_KEEP_S", 24 * 3600, minimum=60)
# What work costs, to turn usage into money (GET /api/v1/usage): e.g. "cuda_hour=2.5,cpu_hour=0.05,
# tokens_in_million=0.5,tokens_out_million=1.5,image=0.002,audio_minute=0.01,video_minute=0.02".
USAGE_PRICES = env_prices("USAGE_PRICES")
USAGE_CURRENCY = env_str("USAGE_CURRENCY", "USD")
# Earlier storyboards kept per project (each rewrite and restore keeps the one it replaces).
STORYBOARD_SNAPSHOTS_KEPT = env_int("STORYBOARD_SNAPSHOTS_KEPT", 5, minimum=1, maximum=50)
BUNDLE_MAX_MEMBERS = env_int("BUNDLE_MAX_MEMBERS", 2000, minimum=10)
# A 60-shot 1080p bundle (film, segments, keyframes, narration) unpacks to ~500 MB.
BUNDLE_MAX_UNPACKED_BYTES = env_int("BUNDLE_MAX_UNPACKED_BYTES", 1024**3, minimum=1024**2)
# A member larger than 1 MiB that unpacks to more than this many times its packed size is refused
# before anything is unpacked (films and pictures are stored, narration packs about 1.5:1).
BUNDLE_MAX_RATIO = env_int("BUNDLE_MAX_RATIO", 100, minimum=10)
ALLOW_SIGNUP = env_bool("ALLOW_SIGNUP", True)
# API tokens a user may hold (each POST /api/v1/auth/token makes one; past this the oldest go).
API_TOKENS_PER_USER = env_int("API_TOKENS_PER_USER", 20, minimum=1, maximum=1000)
# How long the audit log (the admin's Accounts, Audit events) keeps an event.
AUDIT_KEEP_DAYS = env_int("AUDIT_KEEP_DAYS", 365, minimum=1)
# JWT for programs: a short-lived access token ("Authorization: Bearer ...") and a refresh token
# that is replaced at each refresh (the old one is refused from then on) and revoked at logout.
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15, minimum=1, maximum=24 * 60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 14, minimum=1, maximum=365)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
}
# A WebSocket is opened with a one-use ticket (POST /api/v1/auth/ws-ticket) valid this long,
# rather than a long-lived token in its URL.
WS_TICKET_TTL_S = env_int("WS_TICKET_TTL_S", 60, minimum=5, maximum=600)
# Webhooks to loopback, link-local and private addresses are refused unless this is on (tests,
# or an installation whose receivers are on its own network).
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)
# /metrics (Prometheus) answers staff, and requests with "Authorization: Bearer METRICS_TOKEN".
METRICS_TOKEN = env_str("METRICS_TOKEN")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/projects/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en"
# The interface's languages: the browser's Accept-Language picks, the header's switch overrides.
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.tokens.HashedTokenAuthentication",
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["storyvideo.parsers.SafeJSONParser", "storyvideo.parsers.VersionOneJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "storyvideo.parsers.VersionOneJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.Pagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "token": "20/minute",
        "signup": "10/hour",
        "login": "10/minute",
        "generate": "120/minute",
        "shared": "120/minute",
    },
    "NUM_PROXIES": TRUSTED_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "StoryVideo API",
    "DESCRIPTION": "Turn a written story into a narrated film: storyboard, keyframes, motion, speech, composition.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # a task's status, as every serializer of a task has it (Task, StudioTask), by one name
    "ENUM_NAME_OVERRIDES": {"TaskStatusEnum": "tasks.models.Task.Status"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "storyvideo.schema.add_error_responses",
    ],
}

LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"})
# json: one JSON object per line (time, level, logger, message, trace_id, exception).
LOG_FORMAT = env_choice("LOG_FORMAT", "plain", {"plain", "json"})
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"trace": {"()": "core.tracing.TraceFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [trace=%(trace_id)s] %(message)s"},
        "json": {"()": "storyvideo.observability.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["trace"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"rq.worker": {"level": "WARNING"}},
}

# Errors to Sentry (or any server speaking its protocol) when a DSN is given.
SENTRY_DSN = env_url("SENTRY_DSN", {"http", "https"})
if SENTRY_DSN:
    from storyvideo.observability import init_sentry

    init_sentry(SENTRY_DSN, environment=env_str("SENTRY_ENVIRONMENT") or "production")
